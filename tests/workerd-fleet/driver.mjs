// Drives three workers (isolates) shipping to two aggregator shards in
// workerd, with injected delivery faults and an aggregator reset mid-load,
// then checks the fleet view: exact counts, the sketch's p99 within 1 %,
// a valid exposition (promtool, prometheus_client). Every request has a
// deadline; the caller bounds the whole run.
// Usage: node driver.mjs BASE load    (drive, check, write expected.json)
//        node driver.mjs BASE reread  (after a restart: the same view)
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const [base, mode] = process.argv.slice(2);
const EXPECTED = new URL('./.expected.json', import.meta.url);
const PER_WORKER = 300;
const WORKERS = ['', '/w2', '/w3'];
let passed = 0;

const req = async (path, init = {}) => {
  const r = await fetch(base + path, { ...init, signal: AbortSignal.timeout(20_000) });
  return { status: r.status, text: await r.text() };
};
const check = (ok, what, detail) => {
  if (!ok) {
    console.error(`  FAIL ${what}: ${JSON.stringify(detail)?.slice(0, 4000)}`);
    process.exit(1);
  }
  passed++;
  console.log(`  ok   ${what}`);
};
const duration = (w, i) => 1 + ((i * 37 + w * 211) % 997) / 4; // known, 1..250 ms

async function scrape() {
  const denied = await req('/metrics/fleet');
  check(denied.status === 401, 'the fleet scrape needs the bearer token', denied.status);
  const r = await req('/metrics/fleet', { headers: { authorization: 'Bearer test-token' } });
  check(r.status === 200, 'the fleet scrape answers', r);
  return r.text;
}

function samples(text) {
  const py = `
import sys, json
from prometheus_client.parser import text_string_to_metric_families
out = {}
for f in text_string_to_metric_families(sys.stdin.read()):
    for s in f.samples:
        out[s.name + json.dumps(dict(sorted(s.labels.items())))] = s.value
print(json.dumps(out))`;
  const p = spawnSync('python3', ['-c', py], { input: text, encoding: 'utf8' });
  check(p.status === 0, 'prometheus_client parses the fleet exposition', p.stderr);
  const t = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  // 3 = lint remarks only (the original's names); 1 would be a parse error.
  check(t.status === 0 || t.status === 3, 'promtool parses the fleet exposition', `${t.status} ${t.stdout}${t.stderr}`);
  return JSON.parse(p.stdout);
}

const total = (s, name) => Object.entries(s).filter(([k]) => k.startsWith(`${name}{`)).reduce((a, [, v]) => a + v, 0);

if (mode === 'load') {
  const all = [];
  let errors = 0;
  for (const [w, prefix] of WORKERS.entries()) {
    for (let i = 0; i < PER_WORKER; i++) {
      all.push(duration(w, i));
      if (i % 10 === 0) errors++;
    }
  }
  // Bounded concurrency: 8 requests in flight per worker.
  // Half-way through worker 1's load, both shard objects are reset (memory
  // lost, storage kept) while the other workers' deltas are in flight.
  await Promise.all(
    WORKERS.map(async (prefix, w) => {
      for (let start = 0; start < PER_WORKER; start += 8) {
        if (w === 0 && start === 152) {
          const ab = await req('/abort');
          console.log(`  (aggregator shards reset mid-load: ${ab.text})`);
        }
        await Promise.all(
          Array.from({ length: Math.min(8, PER_WORKER - start) }, async (_, k) => {
            const i = start + k;
            const r = await req(`${prefix}/hit?ms=${duration(w, i)}${i % 10 === 0 ? '&error=1' : ''}`);
            if (r.status !== 200) throw new Error(`${prefix}/hit: ${r.status} ${r.text}`);
          }),
        );
      }
    }),
  );
  check(true, `${WORKERS.length * PER_WORKER} requests sent to three workers`, null);
  const flushed = [];
  for (const prefix of WORKERS) flushed.push(JSON.parse((await req(`${prefix}/flush`)).text));
  check(new Set(flushed.map((f) => f.worker)).size === 3, 'three workers (isolates) answered', flushed.map((f) => f.worker));
  check(flushed.every((f) => f.stats.pending === 0 && f.stats.refused === 0), 'every delta acknowledged, none refused', flushed.map((f) => f.stats));
  check(flushed.every((f) => f.local === PER_WORKER), 'each isolate counted its own requests', flushed.map((f) => f.local));
  check(flushed.reduce((a, f) => a + f.stats.failures, 0) > 0, 'injected faults made flushes fail and retry', flushed.map((f) => f.stats.failures));
  const text = await scrape();
  const s = samples(text);
  const byWorker = Object.fromEntries(Object.entries(s).filter(([k]) => k.startsWith('http_requests_total{')));
  check(total(s, 'http_requests_total') === all.length, 'fleet http_requests_total = the sum of the requests to all three', { byWorker, flushed });
  const errByWorker = Object.fromEntries(Object.entries(s).filter(([k]) => k.startsWith('http_errors_total{')));
  check(total(s, 'http_errors_total') === errors, 'fleet http_errors_total exact', { errByWorker, flushed, snap: JSON.parse((await req('/snapshot/fleet')).text).deltas });
  const count = s['http_request_duration_seconds_count{}'];
  const sum = s['http_request_duration_seconds_sum{}'];
  const trueSum = all.reduce((a, b) => a + b / 1000, 0);
  check(count === all.length && Math.abs(sum - trueSum) < 1e-6, 'histogram count and sum add up', { count, sum, trueSum });
  const sorted = [...all].sort((a, b) => a - b);
  for (const q of ['0.5', '0.95', '0.99']) {
    const truth = sorted[Math.ceil(Number(q) * sorted.length) - 1];
    const got = s[`bs_fleet_response_time_ms{"quantile": "${q}"}`];
    check(Math.abs(got - truth) / truth <= 0.01, `fleet p${Number(q) * 100} within 1 % of the true one`, { got, truth });
  }
  check(s['bs_fleet_isolates{}'] === 3, 'three isolates known to the fleet', s['bs_fleet_isolates{}']);
  const snap = JSON.parse((await req('/snapshot/fleet')).text);
  check(snap.deltas.duplicate > 0, 'responses lost after merging were retried and acknowledged as duplicates', snap.deltas);
  check(snap.requests_total === all.length, 'the JSON snapshot agrees', snap.requests_total);
  writeFileSync(EXPECTED, JSON.stringify({ requests: all.length, errors, count, sum }));
} else {
  const want = JSON.parse(readFileSync(EXPECTED, 'utf8'));
  const s = samples(await scrape());
  check(total(s, 'http_requests_total') === want.requests && total(s, 'http_errors_total') === want.errors, 'after a restart of workerd: the same fleet counters', want);
  check(s['http_request_duration_seconds_count{}'] === want.count, 'after a restart: the same histogram', want);
}
console.log(`  ${passed} fleet checks passed (${mode})`);
