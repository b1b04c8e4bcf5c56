// Checks the baseline models in tests/oracles/ against the statements of
// /work/shared/spec/original-services.md, with a fake clock.
// Run: node --import tsx --test tests/ts/baselines.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Hono, type Context } from 'hono';

import {
  CacheKeys,
  CacheTTL,
  CLEANUP_INTERVAL,
  createCacheInvalidation,
  createFixedCache,
  createFixedMetrics,
  createOriginalCache,
  createOriginalMetrics,
  createOriginalMiddleware,
  getCacheHeaders,
  getNoCacheHeaders,
  INITIAL_METRICS,
  LABEL_KEY_CAP,
  MAX_CACHE_SIZE,
  RESPONSE_TIME_WINDOW,
  type MetricsCollector,
  type OriginalCache,
} from '../oracles/index.js';

function fakeClock(start = 1_700_000_000_000) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

/** Tiny deterministic PRNG (mulberry32) so the differential loops are reproducible. */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let r = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------
// Behaviour shared by the original and the fixed cache (spec table).

const cacheFactories: Array<[string, (now: () => number) => OriginalCache]> = [
  ['original cache', (now) => createOriginalCache({ now })],
  ['fixed cache', (now) => createFixedCache({ now })],
];

for (const [label, make] of cacheFactories) {
  describe(`${label}: shared semantics`, () => {
    it('get: miss on absent key, hit returns the very stored object', () => {
      const clock = fakeClock();
      const cache = make(clock.now);
      assert.equal(cache.get('nope'), null);
      const obj = { a: 1 };
      cache.set('k', obj);
      assert.equal(cache.get('k'), obj); // same reference
      assert.deepEqual(cache.getStats(), { hits: 1, misses: 1, hit_rate: 50, total_entries: 1 });
    });

    it('expiry is strictly greater than expires_at; ttl is in seconds, default 300', () => {
      const clock = fakeClock(1_000_000);
      const cache = make(clock.now);
      cache.set('one', 'x', 1);
      cache.set('dflt', 'y');
      clock.t = 1_001_000; // == expires_at of 'one'
      assert.equal(cache.get('one'), 'x');
      clock.t = 1_001_001;
      assert.equal(cache.size(), 2);
      assert.equal(cache.get('one'), null);
      assert.equal(cache.size(), 1, 'expired entry is deleted by get');
      clock.t = 1_000_000 + 300_000;
      assert.equal(cache.get('dflt'), 'y');
      clock.t += 1;
      assert.equal(cache.get('dflt'), null);
      assert.deepEqual(cache.getStats(), { hits: 2, misses: 2, hit_rate: 50, total_entries: 0 });
    });

    it('set replaces and restamps an entry', () => {
      const clock = fakeClock(0);
      const cache = make(clock.now);
      cache.set('k', 1, 1);
      clock.t = 900;
      cache.set('k', 2, 1);
      clock.t = 1_500;
      assert.equal(cache.get('k'), 2);
    });

    it('hit_rate is a percentage, 0 with no lookups; total_entries counts expired entries', () => {
      const clock = fakeClock(0);
      const cache = make(clock.now);
      assert.equal(cache.getStats().hit_rate, 0);
      cache.set('a', 1, 1);
      cache.set('b', 2, 1);
      cache.get('a');
      cache.get('a');
      cache.get('zzz');
      assert.equal(cache.getStats().hit_rate, (2 / 3) * 100);
      clock.t = 5_000; // both expired, not yet removed
      assert.equal(cache.getStats().total_entries, 2);
      cache.cleanExpired();
      assert.equal(cache.getStats().total_entries, 0);
    });

    it('clear() removes entries and resets hits and misses', () => {
      const cache = make(fakeClock().now);
      cache.set('a', 1);
      cache.get('a');
      cache.get('b');
      cache.clear();
      assert.deepEqual(cache.getStats(), { hits: 0, misses: 0, hit_rate: 0, total_entries: 0 });
    });

    it('del and delPattern (unanchored RegExp, SyntaxError when invalid)', () => {
      const cache = make(fakeClock().now);
      for (const k of ['mood:stats:1', 'mood:stats:12', 'xmood:stats:1', 'mood:list:1:all', 'other']) {
        cache.set(k, k);
      }
      cache.del('other');
      assert.equal(cache.size(), 4);
      cache.delPattern('mood:stats:1');
      assert.equal(cache.size(), 1, 'unanchored: matches 12 and a prefix too');
      assert.equal(cache.get('mood:list:1:all'), 'mood:list:1:all');
      assert.throws(() => cache.delPattern('('), SyntaxError);
    });
  });
}

describe('original cache: specifics', () => {
  it('is unbounded and never cleans expired entries by itself', () => {
    const clock = fakeClock(0);
    const cache = createOriginalCache({ now: clock.now });
    for (let i = 0; i < 5_000; i++) cache.set(`k${i}`, i, 1);
    clock.t = 10 * CLEANUP_INTERVAL;
    for (let i = 0; i < 50; i++) cache.get(`absent${i}`);
    assert.equal(cache.size(), 5_000);
  });

  it('pure helpers are as the spec lists them', () => {
    assert.equal(CacheKeys.moodStats(7), 'mood:stats:7');
    assert.equal(CacheKeys.userMoods(7), 'mood:list:7:all');
    assert.equal(CacheKeys.userMoods(7, 20), 'mood:list:7:20');
    assert.equal(CacheKeys.healthMetrics(7), 'health:metrics:7');
    assert.equal(CacheKeys.socialFeed(7), 'social:feed:7:10');
    assert.equal(CacheKeys.socialFeed(7, 5), 'social:feed:7:5');
    assert.equal(CacheKeys.groupDetails(3), 'group:details:3');
    assert.equal(CacheKeys.groupMembers(3), 'group:members:3');
    assert.equal(CacheKeys.moodSync(3), 'group:sync:3');
    assert.equal(CacheKeys.userFriends(7), 'social:friends:7');
    assert.equal(CacheKeys.sharedMoods(7), 'social:shares:7');
    assert.equal(CacheKeys.complianceStatus(), 'hipaa:status');
    assert.equal(CacheKeys.securityDashboard(), 'security:dashboard');
    assert.equal(CacheKeys.performanceDashboard(), 'performance:dashboard');
    assert.deepEqual(CacheTTL, { SHORT: 60, MEDIUM: 300, LONG: 900, VERY_LONG: 3600 });
    assert.deepEqual(getCacheHeaders(60), {
      'Cache-Control': 'public, max-age=60',
      'CDN-Cache-Control': 'public, max-age=60',
      'Cloudflare-CDN-Cache-Control': 'public, max-age=60',
    });
    assert.deepEqual(getNoCacheHeaders(), {
      'Cache-Control': 'no-store, no-cache, must-revalidate, proxy-revalidate',
      Pragma: 'no-cache',
      Expires: '0',
    });
  });

  it("CacheInvalidation bug: user 1's invalidation also deletes users 12 and 123", () => {
    const cache = createOriginalCache({ now: fakeClock().now });
    const inv = createCacheInvalidation(cache);
    for (const u of [1, 12, 123, 2]) {
      cache.set(CacheKeys.moodStats(u), u);
      cache.set(CacheKeys.userMoods(u), u);
      cache.set(CacheKeys.socialFeed(u), u);
      cache.set(CacheKeys.sharedMoods(u), u);
      cache.set(CacheKeys.userFriends(u), u);
      cache.set(CacheKeys.healthMetrics(u), u);
    }
    inv.onMoodChange(1);
    for (const u of [1, 12, 123]) {
      assert.equal(cache.get(CacheKeys.moodStats(u)), null);
      assert.equal(cache.get(CacheKeys.userMoods(u)), null);
      assert.equal(cache.get(CacheKeys.socialFeed(u)), null);
      assert.equal(cache.get(CacheKeys.sharedMoods(u)), null);
      assert.equal(cache.get(CacheKeys.userFriends(u)), u, 'friends untouched by onMoodChange');
    }
    assert.equal(cache.get(CacheKeys.moodStats(2)), 2);
    inv.onHealthMetricsChange(1);
    assert.equal(cache.get(CacheKeys.healthMetrics(12)), null);
    assert.equal(cache.get(CacheKeys.healthMetrics(2)), 2);
    inv.onSocialChange(12);
    assert.equal(cache.get(CacheKeys.userFriends(123)), null);
    assert.equal(cache.get(CacheKeys.userFriends(1)), 1);

    for (const g of [4, 45]) {
      cache.set(CacheKeys.groupDetails(g), g);
      cache.set(CacheKeys.groupMembers(g), g);
      cache.set(CacheKeys.moodSync(g), g);
    }
    inv.onGroupChange(4);
    assert.equal(cache.get(CacheKeys.groupMembers(45)), null);
    assert.equal(cache.get(CacheKeys.moodSync(45)), null);

    cache.set('hipaa:status', 1);
    cache.set('security:dashboard', 1);
    cache.set('performance:dashboard', 1);
    inv.onComplianceChange();
    assert.equal(cache.get('hipaa:status'), null);
    assert.equal(cache.get('security:dashboard'), null);
    assert.equal(cache.get('performance:dashboard'), 1);
  });
});

describe('fixed cache: specifics', () => {
  it('caps at MAX_CACHE_SIZE = 1000 by default, evicting the oldest inserted key', () => {
    const cache = createFixedCache({ now: fakeClock().now });
    assert.equal(MAX_CACHE_SIZE, 1000);
    for (let i = 0; i < 1_001; i++) cache.set(`k${i}`, i);
    assert.equal(cache.size(), 1000);
    assert.equal(cache.get('k0'), null);
    assert.equal(cache.get('k1'), 1);
    assert.equal(cache.get('k1000'), 1000);
  });

  it('FIFO: get does not refresh recency; re-set of a present key keeps its position', () => {
    const cache = createFixedCache({ now: fakeClock().now, maxSize: 3 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    cache.get('a'); // LRU would now evict b; FIFO still evicts a
    cache.set('d', 4);
    assert.equal(cache.get('a'), null);
    assert.equal(cache.size(), 3);
    cache.del('d');
    cache.set('b', 22); // not full: replaced in place, stays oldest
    cache.set('e', 5); // full again: 3 entries
    cache.set('f', 6); // evicts b, the oldest first-inserted key
    assert.equal(cache.get('b'), null);
    assert.equal(cache.get('c'), 3);
  });

  it('replacing a present key in a full cache still evicts the oldest (check is on size alone)', () => {
    const cache = createFixedCache({ now: fakeClock().now, maxSize: 3 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    cache.set('c', 33);
    assert.equal(cache.size(), 2);
    assert.equal(cache.get('a'), null);
    assert.equal(cache.get('c'), 33);
  });

  it('the empty key is evicted like any other (spec wins over the seed fragment)', () => {
    const cache = createFixedCache({ now: fakeClock().now, maxSize: 2 });
    cache.set('', 0);
    cache.set('a', 1);
    cache.set('b', 2);
    assert.equal(cache.size(), 2);
    assert.equal(cache.get(''), null);
  });

  it('a full cleanExpired() runs from get at most every 5 minutes', () => {
    const clock = fakeClock(0);
    const cache = createFixedCache({ now: clock.now });
    for (let i = 0; i < 50; i++) cache.set(`k${i}`, i, 1); // <= 100: no per-get scan
    clock.t = CLEANUP_INTERVAL; // exactly 5 min since creation: not yet
    cache.get('absent');
    assert.equal(cache.size(), 50);
    clock.t = CLEANUP_INTERVAL + 1;
    cache.get('absent');
    assert.equal(cache.size(), 0);
    for (let i = 0; i < 50; i++) cache.set(`j${i}`, i, 1);
    clock.t = 2 * CLEANUP_INTERVAL + 1; // 5 min since last clean: not yet
    cache.get('absent');
    assert.equal(cache.size(), 50);
    clock.t += 1;
    cache.get('absent');
    assert.equal(cache.size(), 0);
  });

  it('per-get scan: only while size > 100, from the start, stops after 5 deletions', () => {
    const clock = fakeClock(0);
    const cache = createFixedCache({ now: clock.now });
    for (let i = 0; i < 7; i++) cache.set(`old${i}`, i, 1);
    for (let i = 0; i < 93; i++) cache.set(`live${i}`, i, 3600);
    clock.t = 2_000; // 7 expired, 100 entries: no scan
    cache.get('absent');
    assert.equal(cache.size(), 100);
    cache.set('live-extra', 0, 3600); // 101 entries
    cache.get('absent');
    assert.equal(cache.size(), 96, 'exactly 5 deleted');
    cache.get('absent');
    assert.equal(cache.size(), 96, '94 entries left: below threshold, no scan');
  });

  it('per-get scan walks the whole map when fewer than 5 are expired (the O(n) bug)', () => {
    const clock = fakeClock(0);
    const cache = createFixedCache({ now: clock.now });
    for (let i = 0; i < 5; i++) cache.set(`head${i}`, i, 1);
    for (let i = 0; i < 144; i++) cache.set(`live${i}`, i, 3600);
    cache.set('tail', 0, 1); // last inserted, expired
    clock.t = 2_000;
    cache.get('live0');
    assert.equal(cache.size(), 145, 'stopped after the 5 at the head: tail survives');
    cache.get('live0');
    assert.equal(cache.size(), 144, 'only 1 expired left: the scan reached the very end');
    assert.equal(cache.getStats().hits, 2);
  });

  it('agrees with the original while below 100 entries and within 5 minutes', () => {
    const r = rng(42);
    const clock = fakeClock(0);
    const a = createOriginalCache({ now: clock.now });
    const b = createFixedCache({ now: clock.now });
    for (let step = 0; step < 5_000; step++) {
      clock.t += Math.floor(r() * 50);
      if (clock.t >= CLEANUP_INTERVAL) break;
      const key = `k${Math.floor(r() * 90)}`;
      const op = r();
      if (op < 0.45) {
        const ttl = 1 + Math.floor(r() * 30);
        a.set(key, step, ttl);
        b.set(key, step, ttl);
      } else if (op < 0.95) {
        assert.equal(b.get(key), a.get(key));
      } else {
        a.del(key);
        b.del(key);
      }
      assert.deepEqual(b.getStats(), a.getStats());
    }
  });
});

// ---------------------------------------------------------------------------
// Metrics.

const FRESH_EXPOSITION = [
  '# TYPE http_requests_total counter',
  'http_requests_total 0',
  '# TYPE http_errors_total counter',
  'http_errors_total 0',
  '# TYPE database_queries_total counter',
  'database_queries_total 0',
  '# TYPE auth_attempts_total counter',
  'auth_attempts_total 0',
  '# TYPE auth_failures_total counter',
  'auth_failures_total 0',
  '# TYPE active_users gauge',
  'active_users 0',
  '# TYPE response_time_ms gauge',
  'response_time_ms 0',
  '# TYPE http_response_time_p95 gauge',
  'http_response_time_p95 0',
  '# TYPE http_response_time_p99 gauge',
  'http_response_time_p99 0',
].join('\n');

const metricsFactories: Array<[string, (now: () => number) => MetricsCollector]> = [
  ['original metrics', (now) => createOriginalMetrics({ now })],
  ['fixed metrics', (now) => createFixedMetrics({ now })],
];

for (const [label, make] of metricsFactories) {
  describe(`${label}: shared semantics`, () => {
    it('registers the seven initial metrics in order; exposition has no trailing newline', () => {
      const m = make(fakeClock().now);
      assert.deepEqual(
        [...m.metrics.values()].map((x) => [x.name, x.type, x.value]),
        INITIAL_METRICS.map(([n, t]) => [n, t, 0]),
      );
      assert.equal(m.toPrometheusFormat(), FRESH_EXPOSITION);
    });

    it('set replaces the metric with timestamp now(); unknown increment becomes a counter', () => {
      const clock = fakeClock(5);
      const m = make(clock.now);
      m.increment('active_users', 1, { a: 'b' });
      clock.t = 9;
      m.set('active_users', 'gauge', 3);
      assert.deepEqual(m.metrics.get('active_users'), {
        name: 'active_users', type: 'gauge', value: 3, labels: undefined, timestamp: 9,
      });
      m.increment('custom_total', 2.5);
      m.increment('custom_total');
      assert.deepEqual(m.metrics.get('custom_total'), {
        name: 'custom_total', type: 'counter', value: 3.5, labels: undefined, timestamp: 9,
      });
      assert.ok(m.toPrometheusFormat().includes('active_users 3\n# TYPE response_time_ms gauge'));
      assert.ok(m.toPrometheusFormat().includes('# TYPE custom_total counter\ncustom_total 3.5\n'));
    });

    it('labels are merged into one object per name: total count shown under the last labels', () => {
      const m = make(fakeClock().now);
      m.increment('http_requests_total', 1, { method: 'GET', path: '/a' });
      m.increment('http_requests_total', 1, { method: 'POST', path: '/b' });
      m.increment('http_requests_total', 1);
      m.increment('db_total', 1, { table: 'moods' });
      m.increment('db_total', 1, { op: 'insert' });
      const text = m.toPrometheusFormat();
      assert.ok(text.includes('\nhttp_requests_total{method="POST",path="/b"} 3\n'));
      assert.ok(text.includes('\ndb_total{table="moods",op="insert"} 2\n'));
      assert.equal(m.metrics.size, 8);
    });

    it('label values are not escaped: a quote, backslash or newline breaks the exposition', () => {
      const m = make(fakeClock().now);
      m.increment('http_errors_total', 1, { path: '/x', error: 'bad "json"\\ at\nline 2' });
      const lines = m.toPrometheusFormat().split('\n');
      const i = lines.indexOf('# TYPE http_errors_total counter');
      assert.equal(lines[i + 1], 'http_errors_total{path="/x",error="bad "json"\\ at');
      assert.equal(lines[i + 2], 'line 2"} 1');
    });

    it('recordResponseTime: window of the last 1000, gauge = Math.round(mean)', () => {
      const m = make(fakeClock().now);
      m.recordResponseTime(1);
      m.recordResponseTime(2);
      assert.equal(m.metrics.get('response_time_ms')?.value, 2); // round(1.5)
      m.reset();
      for (let i = 1; i <= RESPONSE_TIME_WINDOW + 500; i++) m.recordResponseTime(i);
      assert.equal(m.responseTimes.length, RESPONSE_TIME_WINDOW);
      // window is 501..1500: mean 1000.5 -> 1001, min 501, max 1500
      assert.equal(m.metrics.get('response_time_ms')?.value, 1001);
      assert.equal(m.getPercentile(0.1), 501);
      assert.equal(m.getPercentile(100), 1500);
    });

    it('getPercentile: 0 when empty, nearest rank sorted[ceil(p/100*n)-1], 0 when undefined', () => {
      const m = make(fakeClock().now);
      assert.equal(m.getPercentile(95), 0);
      for (const v of [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]) m.recordResponseTime(v);
      assert.equal(m.getPercentile(50), 5);
      assert.equal(m.getPercentile(51), 6);
      assert.equal(m.getPercentile(95), 10);
      assert.equal(m.getPercentile(90), 9);
      assert.equal(m.getPercentile(0), 0, 'index -1: undefined -> 0');
      assert.equal(m.getPercentile(150), 0, 'index past the end -> 0');
      assert.deepEqual(m.responseTimes.slice(0, 3), [10, 9, 8], 'sorts a copy');
      m.reset();
      m.recordResponseTime(10); // numeric, not lexicographic, order
      m.recordResponseTime(9);
      assert.equal(m.getPercentile(50), 9);
    });

    it('getSnapshot: counters, gauge, percentiles, always-empty maps, timestamp now()', () => {
      const clock = fakeClock(123);
      const m = make(clock.now);
      m.increment('http_requests_total', 3, { method: 'GET', path: '/' });
      m.increment('http_errors_total', 1, { path: '/', error: 'x' });
      m.increment('database_queries_total', 4);
      m.set('active_users', 'gauge', 2);
      for (let i = 1; i <= 100; i++) m.recordResponseTime(i);
      clock.t = 456;
      assert.deepEqual(m.getSnapshot(), {
        requests_total: 3,
        requests_by_endpoint: {},
        errors_total: 1,
        errors_by_type: {},
        response_time_avg: 51, // round(50.5)
        response_time_p95: 95,
        response_time_p99: 99,
        active_users: 2,
        database_queries: 4,
        timestamp: 456,
      });
      const text = m.toPrometheusFormat();
      assert.ok(text.endsWith('http_response_time_p95 95\n# TYPE http_response_time_p99 gauge\nhttp_response_time_p99 99'));
    });

    it('reset() re-registers the seven metrics, drops custom ones, empties the window', () => {
      const m = make(fakeClock().now);
      m.increment('custom_total', 1, { a: 'b' });
      m.increment('http_requests_total', 1, { a: 'b' });
      for (let i = 0; i < 1_500; i++) m.recordResponseTime(i);
      m.reset();
      assert.equal(m.metrics.size, 7);
      assert.equal(m.responseTimes.length, 0);
      assert.equal(m.toPrometheusFormat(), FRESH_EXPOSITION);
    });
  });
}

describe('original vs fixed metrics', () => {
  it('original label object grows without bound', () => {
    const m = createOriginalMetrics({ now: fakeClock().now });
    for (let i = 0; i < 500; i++) m.increment('http_requests_total', 1, { [`k${i}`]: 'v' });
    assert.equal(Object.keys(m.metrics.get('http_requests_total')?.labels ?? {}).length, 500);
  });

  it('fixed caps the merged label object at 50 keys (checked before the merge)', () => {
    assert.equal(LABEL_KEY_CAP, 50);
    const m = createFixedMetrics({ now: fakeClock().now });
    for (let i = 0; i < 49; i++) m.increment('http_requests_total', 1, { [`k${i}`]: 'v' });
    m.increment('http_requests_total', 1, { x: '1', y: '1', z: '1' }); // 49 < 50: merged -> 52
    m.increment('http_requests_total', 1, { k0: 'changed', w: '1' }); // 52: dropped
    const metric = m.metrics.get('http_requests_total');
    assert.equal(Object.keys(metric?.labels ?? {}).length, 52);
    assert.equal(metric?.labels?.['k0'], 'v');
    assert.equal(metric?.value, 51, 'the count still grows');
  });

  it('ring window is observably identical to push + shift (gauge, percentiles, length)', () => {
    const r = rng(7);
    const a = createOriginalMetrics({ now: fakeClock().now });
    const b = createFixedMetrics({ now: fakeClock().now });
    for (let i = 0; i < 3_500; i++) {
      const ms = Math.floor(r() * 2_000);
      a.recordResponseTime(ms);
      b.recordResponseTime(ms);
      if (i % 97 === 0 || i > 3_480) {
        assert.equal(b.responseTimes.length, a.responseTimes.length);
        assert.equal(b.metrics.get('response_time_ms')?.value, a.metrics.get('response_time_ms')?.value);
        for (const p of [50, 95, 99, 100]) assert.equal(b.getPercentile(p), a.getPercentile(p));
      }
      if (i === 1_700) {
        a.reset();
        b.reset(); // rewinds the ring too: the refilled window is again the last 1000
      }
    }
  });
});

// ---------------------------------------------------------------------------
// Middleware.

describe('original middleware', () => {
  it('counts requests with { method, path=URL pathname } and records the duration', async () => {
    const clock = fakeClock(0);
    const m = createOriginalMetrics({ now: clock.now });
    const app = new Hono();
    app.use('*', createOriginalMiddleware(m, { now: clock.now }));
    app.get('/users/:id', (c) => {
      clock.t += 7;
      return c.text('ok');
    });
    const res = await app.request('/users/42?tab=moods', { method: 'GET' });
    assert.equal(res.status, 200);
    assert.deepEqual(m.metrics.get('http_requests_total')?.labels, { method: 'GET', path: '/users/42' });
    assert.deepEqual(m.responseTimes, [7]);
    assert.ok(m.toPrometheusFormat().includes('http_requests_total{method="GET",path="/users/42"} 1'));
  });

  it('bug: Hono catches handler errors, so next() does not throw and errors are never counted', async () => {
    const clock = fakeClock(0);
    const m = createOriginalMetrics({ now: clock.now });
    const app = new Hono();
    app.use('*', createOriginalMiddleware(m, { now: clock.now }));
    app.get('/boom', () => {
      throw new Error('kaboom');
    });
    const seen: string[] = [];
    app.onError((err, c) => {
      seen.push(err.message);
      return c.text('oops', 500);
    });
    const res = await app.request('/boom');
    assert.equal(res.status, 500);
    assert.deepEqual(seen, ['kaboom'], 'the error reached app.onError');
    assert.equal(m.getSnapshot().errors_total, 0, 'but http_errors_total stayed 0');
    assert.equal(m.getSnapshot().requests_total, 1);
    assert.equal(m.responseTimes.length, 1, 'the duration was recorded as for a success');

    // Same without an onError handler: Hono's default 500 handler catches it.
    const app2 = new Hono();
    app2.use('*', createOriginalMiddleware(m, { now: clock.now }));
    app2.get('/boom', () => {
      throw new Error('kaboom');
    });
    assert.equal((await app2.request('/boom')).status, 500);
    assert.equal(m.getSnapshot().errors_total, 0);
  });

  it('the catch branch counts { path, error: message } and rethrows when next() does throw', async () => {
    const clock = fakeClock(0);
    const m = createOriginalMetrics({ now: clock.now });
    const mw = createOriginalMiddleware(m, { now: clock.now });
    const c = { req: { url: 'https://moodmash.win/api/mood/9?x=1', method: 'POST' } } as unknown as Context;
    const boom = new Error('db down');
    await assert.rejects(mw(c, async () => { throw boom; }), (e: unknown) => e === boom);
    assert.deepEqual(m.metrics.get('http_errors_total')?.labels, { path: '/api/mood/9', error: 'db down' });
    assert.equal(m.getSnapshot().errors_total, 1);
    assert.equal(m.responseTimes.length, 0, 'no duration recorded on a throw');

    // Under Hono only a thrown non-Error escapes compose and reaches the catch.
    const app = new Hono();
    app.use('*', createOriginalMiddleware(m, { now: clock.now }));
    app.get('/str', () => {
      throw 'plain string'; // eslint-disable-line no-throw-literal
    });
    await assert.rejects(async () => app.request('/str'), (e: unknown) => e === 'plain string');
    assert.equal(m.getSnapshot().errors_total, 2);
    assert.deepEqual(m.metrics.get('http_errors_total')?.labels, { path: '/str', error: 'plain string' });
  });
});
