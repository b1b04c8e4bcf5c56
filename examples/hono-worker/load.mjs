#!/usr/bin/env node
// Bounded load against the example worker on this machine (loopback only).
//
//   node load.mjs [--base http://127.0.0.1:8787] [--requests 4000]
//                 [--users 3000] [--user-offset 0] [--concurrency 32]
//                 [--errors 25] [--posts 100] [--time-limit 60]
//                 [--sample-every 250] [--json out.json]
//
// Sends --requests requests in all, at most --concurrency at a time, and
// stops by itself after --time-limit seconds whatever is left:
//   - GET  /api/moods/:userId, half on a hot set of 100 users (cache hits),
//     half spread over --users distinct ids (misses, evictions);
//   - POST /api/moods/:userId (--posts of them), each followed by a GET of
//     the same user, which must be a miss (the POST invalidated it);
//   - GET  /api/boom (--errors of them), which must answer 500.
// Every response is checked. Every --sample-every requests it reads
// /api/health/memory (cache size, Wasm memory). Prints a JSON summary and
// exits 1 if any response was wrong or the time limit cut the run short.
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
    return acc;
  }, []),
);
const base = (args.base ?? 'http://127.0.0.1:8787').replace(/\/$/, '');
const total = Number(args.requests ?? 4000);
const users = Number(args.users ?? 3000);
const userOffset = Number(args['user-offset'] ?? 0);
const concurrency = Number(args.concurrency ?? 32);
const errorsToSend = Number(args.errors ?? 25);
const posts = Number(args.posts ?? 100);
const timeLimitMs = Number(args['time-limit'] ?? 60) * 1000;
const sampleEvery = Number(args['sample-every'] ?? 250);
const quiet = args.quiet === 'true';

const url = new URL(base);
if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) && !url.hostname.startsWith('127.')) {
  console.error(`load.mjs: refusing to send load to ${url.hostname}: loopback only`);
  process.exit(2);
}

// A deterministic pseudo-random sequence (same run, same requests).
let seed = 0x9e3779b9 ^ userOffset;
function rand() {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 2 ** 32;
}

// The plan: which request each slot is. POSTs and errors spread evenly.
const plan = [];
{
  const getsCount = total - errorsToSend - 2 * posts;
  if (getsCount < 0) throw new Error('--requests too small for --errors and --posts');
  for (let i = 0; i < getsCount; i++) {
    const hot = rand() < 0.5;
    const id = hot ? userOffset + Math.floor(rand() * 100) : userOffset + Math.floor(rand() * users);
    plan.push({ kind: 'get', id: `u${id}` });
  }
  const insert = (item, count) => {
    for (let k = 0; k < count; k++) {
      plan.splice(Math.floor(((k + 0.5) / count) * plan.length), 0, item(k));
    }
  };
  insert(() => ({ kind: 'boom' }), errorsToSend);
  insert((k) => ({ kind: 'post', id: `u${userOffset + (k % users)}` }), posts);
}

const summary = {
  base,
  planned: plan.length + posts,
  sent: 0,
  ok: 0,
  wrong: 0,
  wrong_examples: [],
  gets: 0,
  hits: 0,
  misses: 0,
  posts: 0,
  post_then_get_miss: 0,
  errors_sent: 0,
  distinct_users: new Set(),
  samples: [],
  max_cache_size: 0,
  timed_out: false,
  elapsed_ms: 0,
  requests_per_second: 0,
  latency_ms: { p50: 0, p95: 0, p99: 0, max: 0 },
};
const latencies = [];
const started = Date.now();
const deadline = started + timeLimitMs;

function wrong(what) {
  summary.wrong++;
  if (summary.wrong_examples.length < 10) summary.wrong_examples.push(what);
}

async function request(method, path, body) {
  const t0 = performance.now();
  const res = await fetch(base + path, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(Math.max(1, Math.min(10_000, deadline - Date.now()))),
  });
  const text = await res.text();
  latencies.push(performance.now() - t0);
  summary.sent++;
  return { res, text };
}

function checkMoods(id, res, text) {
  if (res.status !== 200) return `GET ${id}: status ${res.status}`;
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    return `GET ${id}: not JSON`;
  }
  if (data.userId !== id || !Array.isArray(data.moods) || data.moods.length !== 3) {
    return `GET ${id}: wrong body ${text.slice(0, 80)}`;
  }
  const cache = res.headers.get('x-cache');
  if (cache !== 'HIT' && cache !== 'MISS') return `GET ${id}: X-Cache ${cache}`;
  return cache;
}

async function run(item) {
  if (item.kind === 'get') {
    summary.gets++;
    summary.distinct_users.add(item.id);
    const { res, text } = await request('GET', `/api/moods/${item.id}`);
    const r = checkMoods(item.id, res, text);
    if (r === 'HIT') summary.hits++;
    else if (r === 'MISS') summary.misses++;
    else return wrong(r);
    summary.ok++;
  } else if (item.kind === 'post') {
    summary.posts++;
    // Warm it, change it, read it: the read after the change must miss.
    const first = await request('GET', `/api/moods/${item.id}`);
    const r0 = checkMoods(item.id, first.res, first.text);
    if (r0 !== 'HIT' && r0 !== 'MISS') return wrong(r0);
    summary.ok++;
    const { res, text } = await request('POST', `/api/moods/${item.id}`, { mood: 'happy' });
    if (res.status !== 201 || JSON.parse(text).ok !== true) return wrong(`POST ${item.id}: ${res.status} ${text.slice(0, 80)}`);
    summary.ok++;
    const after = await request('GET', `/api/moods/${item.id}`);
    const r = checkMoods(item.id, after.res, after.text);
    if (r === 'MISS') summary.post_then_get_miss++;
    else if (r === 'HIT') {
      // Another request for this user may have reloaded it in between.
    } else return wrong(r);
    summary.ok++;
  } else {
    summary.errors_sent++;
    const { res, text } = await request('GET', '/api/boom');
    if (res.status !== 500 || !text.includes('TypeError')) return wrong(`boom: ${res.status} ${text.slice(0, 80)}`);
    summary.ok++;
  }
}

async function sample() {
  const { res, text } = await request('GET', '/api/health/memory');
  if (res.status !== 200) return wrong(`memory: ${res.status}`);
  const m = JSON.parse(text);
  summary.ok++;
  summary.samples.push({
    at_request: summary.sent,
    cache_size: m.cache_size,
    cache_max_entries: m.cache_max_entries,
    wasm_memory_bytes: m.wasm_memory_bytes,
    metrics_series_count: m.metrics_series_count,
  });
  summary.max_cache_size = Math.max(summary.max_cache_size, m.cache_size);
}

let next = 0;
let sinceSample = 0;
let lastReport = 0;
async function worker() {
  while (next < plan.length) {
    if (Date.now() >= deadline) {
      summary.timed_out = true;
      return;
    }
    const item = plan[next++];
    try {
      await run(item);
    } catch (err) {
      if (Date.now() >= deadline) summary.timed_out = true;
      wrong(`${item.kind} ${item.id ?? ''}: ${err.name}: ${err.message}`);
    }
    if (++sinceSample >= sampleEvery) {
      sinceSample = 0;
      try {
        await sample();
      } catch (err) {
        wrong(`memory sample: ${err.message}`);
      }
    }
    if (!quiet && summary.sent - lastReport >= 2000) {
      lastReport = summary.sent;
      process.stderr.write(`  load: ${summary.sent} requests sent...\n`);
    }
  }
}

await Promise.all(Array.from({ length: concurrency }, () => worker()));
try {
  await sample();
} catch (err) {
  wrong(`memory sample: ${err.message}`);
}

summary.elapsed_ms = Date.now() - started;
summary.requests_per_second = Math.round((summary.sent / summary.elapsed_ms) * 1000);
latencies.sort((a, b) => a - b);
const at = (p) => Math.round((latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? 0) * 10) / 10;
summary.latency_ms = { p50: at(50), p95: at(95), p99: at(99), max: at(100) };
summary.distinct_users = summary.distinct_users.size;

const out = JSON.stringify(summary, null, 2);
if (args.json) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(args.json, out);
} else {
  console.log(out);
}
process.exit(summary.wrong === 0 && !summary.timed_out ? 0 : 1);
