// Drives tiered-a (and through /peer/, tiered-b) in workerd and checks the
// tiered cache against miniflare's Cache API and KV. Every request has a
// deadline; the whole run is bounded by the caller's timeout.
// Usage: node driver.mjs http://127.0.0.1:PORT
const base = process.argv[2];
let passed = 0;
const get = async (path) => {
  const r = await fetch(base + path, { signal: AbortSignal.timeout(15_000) });
  const text = await r.text();
  try {
    return { status: r.status, body: JSON.parse(text) };
  } catch {
    return { status: r.status, body: text };
  }
};
const check = (ok, what, detail) => {
  if (!ok) {
    console.error(`  FAIL ${what}: ${JSON.stringify(detail)}`);
    process.exit(1);
  }
  passed++;
  console.log(`  ok   ${what}`);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tier = (stats, name) => stats.tiers.find((t) => t.tier === name);
const idle = async () => {
  await get('/idle');
  await get('/peer/idle');
};

// 1. A value evicted from L1 comes back from L2 (the Cache API, first store).
{
  const first = (await get('/load?key=evict-me')).body;
  check(first.ok && first.v.n === first.loads, 'a miss loads', first);
  await idle();
  const raw = (await get('/raw?key=evict-me')).body;
  check(raw.kv !== null && raw.cacheApi !== null, 'the loaded value was written to the Cache API and KV (waitUntil)', raw);
  await get('/fill?n=8'); // L1 holds 4: evict-me is evicted
  const before = (await get('/stats')).body;
  check(before.stats.tiers[0].evictions >= 5, 'L1 evicted (maxEntries 4)', before.stats.tiers[0]);
  const again = (await get('/load?key=evict-me')).body;
  const after = (await get('/stats')).body;
  check(again.ok && again.v.n === first.v.n && after.loads === before.loads, 'after L1 eviction: an L2 hit, no load', { again, loads: [before.loads, after.loads] });
  check(tier(after.stats, 'cache-api').hits === tier(before.stats, 'cache-api').hits + 1, 'counted as a Cache API hit', tier(after.stats, 'cache-api'));
}

// 2. Two workers (isolates) sharing one KV namespace.
{
  const a = (await get('/load?cache=kv&key=shared&value=from-a')).body;
  check(a.ok && a.worker === 'a' && a.v.by === 'a', 'tiered-a loads the value', a);
  await idle();
  const b = (await get('/peer/load?cache=kv&key=shared&value=from-b')).body;
  check(b.worker === 'b' && b.ok && b.v.by === 'a' && b.v.value === 'from-a', 'tiered-b gets it from KV: an L2 hit in another isolate', b);
  const bs = (await get('/peer/stats?cache=kv')).body;
  check(bs.loads === 0 && tier(bs.stats, 'kv').hits === 1, 'tiered-b never loaded; its KV tier counted the hit', bs);
}

// 3. Stale-while-revalidate: stale served at once, exactly one refresh under concurrency.
{
  const p = 'cache=kv&key=swr&ttl=1&swr=60&delayMs=1500';
  const first = (await get(`/load?${p}`)).body;
  check(first.ok, 'loaded once', first);
  await idle();
  await sleep(1300); // past its ttl (local workerd runs a real clock)
  const before = (await get('/stats?cache=kv')).body;
  const burst = (await Promise.all(Array.from({ length: 12 }, () => get(`/load?${p}`)))).map((r) => r.body);
  check(burst.every((r) => r.ok && r.v.n === first.v.n), '12 concurrent requests all served the stale value', burst.map((r) => r.v?.n));
  check(burst.every((r) => r.ms < 1000), 'without waiting for the 1.5 s refresh', burst.map((r) => r.ms));
  await idle();
  const after = (await get('/stats?cache=kv')).body;
  check(after.loads === before.loads + 1 && after.stats.refreshes === before.stats.refreshes + 1, 'exactly one refresh ran', { before: before.loads, after: after.loads, refreshes: after.stats.refreshes });
  const fresh = (await get(`/load?${p}`)).body;
  check(fresh.ok && fresh.v.n === after.loads, 'the next request gets the refreshed value', fresh);
}

// 4. Stale-if-error: the loader throws, the stale value is served.
{
  const p = 'cache=kv&key=sie&ttl=1&sie=60';
  const first = (await get(`/load?${p}`)).body;
  await idle();
  await sleep(1300);
  const failed = (await get(`/load?${p}&fail=1`)).body;
  check(failed.ok && failed.v.n === first.v.n, 'stale served when the loader throws', failed);
  const s = (await get('/stats?cache=kv')).body.stats;
  check(s.stale_if_error_served >= 1 && s.load_errors >= 1, 'counted as stale-if-error', s);
  // In another isolate, from KV alone.
  const b = (await get(`/peer/load?${p}&fail=1`)).body;
  check(b.ok && b.v.n === first.v.n, 'and in tiered-b, from KV', b);
  const none = (await get('/load?cache=kv&key=never-loaded&fail=1')).body;
  check(!none.ok && none.error === 'loader failed', 'without a stale value the error reaches the caller', none);
}

// 5. Invalidation removes from both tiers.
{
  const key = (await get('/keys?user=7')).body.moods;
  const first = (await get(`/load?key=${encodeURIComponent(key)}`)).body;
  await idle();
  let raw = (await get(`/raw?key=${encodeURIComponent(key)}`)).body;
  check(raw.kv !== null && raw.cacheApi !== null, `${key} is in both stores`, raw);
  await get('/invalidate?user=7');
  raw = (await get(`/raw?key=${encodeURIComponent(key)}`)).body;
  check(raw.kv === null && raw.cacheApi === null, 'tieredInvalidation(cache).onMoodChange(7) deleted it from the Cache API and KV', raw);
  const again = (await get(`/load?key=${encodeURIComponent(key)}`)).body;
  check(again.v.n > first.v.n, 'and from L1: the next read loads', again);
  await get(`/del?key=${encodeURIComponent(key)}`);
  raw = (await get(`/raw?key=${encodeURIComponent(key)}`)).body;
  check(raw.kv === null && raw.cacheApi === null, 'del(key) removes it from both stores too', raw);
}

// 6. A store that throws or hangs is skipped within its timeout, and counted.
for (const mode of ['throw', 'hang']) {
  const r = (await get(`/faulty?mode=${mode}&key=f-${mode}`)).body;
  const f = tier(r.stats, 'faulty');
  check(r.v && typeof r.v.n === 'number' && r.ms < 1000, `a store that ${mode}s does not fail the request (${r.ms} ms)`, r);
  check(mode === 'hang' ? f.timeouts >= 2 : f.errors >= 2, `its failures are counted (${mode === 'hang' ? 'timeouts' : 'errors'})`, f);
  check(tier(r.stats, 'kv').writes >= 1, 'the store after it still got the value', tier(r.stats, 'kv'));
}

// 7. An unserialisable value: a TypeError, nothing written anywhere.
{
  const r = (await get('/unserialisable?key=u1')).body;
  check(r.error?.name === 'TypeError' && /value\.at is a Date/.test(r.error.message), 'a Date is refused with a TypeError naming it', r.error);
  check(r.l1 === null && r.kv === null, 'nothing in L1 nor in KV', r);
}

console.log(`  ${passed} passed, 0 failed`);
