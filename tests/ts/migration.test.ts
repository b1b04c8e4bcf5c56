// Regression tests for what a migrating MoodMash user hit first (a migration
// trial of the package): each `describe` is one finding, fixed.
// Run: node --expose-gc --import tsx --test tests/ts/migration.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  BoundedCache,
  approximateSize,
  clear,
  configure,
  del,
  delPattern,
  get,
  getDefaultCache,
  getOrLoad,
  getStats,
  set,
} from 'bounded-services/cache';
import { MetricsCollector, configure as configureMetrics, metricsCollector } from 'bounded-services/metrics';
import * as root from 'bounded-services';
import { getMemoryStats } from 'bounded-services';
import { withFakeDate } from './support/fake-date.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

/** A promise and its resolver. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('a write during getOrLoad wins over the load (bug 1)', () => {
  const writes: Array<[string, (c: BoundedCache) => void, unknown]> = [
    ['set', (c) => c.set('k', 'fresh'), 'fresh'],
    ['del', (c) => c.del('k'), null],
    ['delPattern', (c) => c.delPattern('^k$'), null],
    ['clear', (c) => c.clear(), null],
  ];
  for (const [name, write, expected] of writes) {
    it(`BoundedCache: ${name} after the load started`, async () => {
      const c = new BoundedCache();
      const d = deferred<string>();
      const p = c.getOrLoad('k', () => d.promise);
      write(c);
      d.resolve('stale');
      assert.equal(await p, 'stale', 'the caller still gets what it loaded');
      assert.equal(c.get('k'), expected);
      // A later load of the key is a fresh one, and it is stored.
      assert.equal(await c.getOrLoad('k', () => 'next'), expected ?? 'next');
    });
  }

  it('module-level: set, del, delPattern, clear and configure after the load started', async () => {
    for (const [write, expected] of [
      [() => set('k', 'fresh'), 'fresh'],
      [() => del('k'), null],
      [() => delPattern('k'), null],
      [() => clear(), null],
      [() => configure({}), null],
    ] as Array<[() => void, unknown]>) {
      configure({});
      const d = deferred<string>();
      const p = getOrLoad('k', () => d.promise);
      write();
      d.resolve('stale');
      assert.equal(await p, 'stale');
      assert.equal(get('k'), expected, String(write));
    }
  });

  it('waiters of one load all get its value; a write between waiters still wins', async () => {
    const c = new BoundedCache();
    const d = deferred<number>();
    let calls = 0;
    const loader = () => {
      calls++;
      return d.promise;
    };
    const a = c.getOrLoad('k', loader);
    const b = c.getOrLoad('k', loader);
    c.set('k', 7);
    d.resolve(1);
    assert.deepEqual(await Promise.all([a, b]), [1, 1]);
    assert.equal(calls, 1, 'single flight');
    assert.equal(c.get('k'), 7);
  });
});

describe('loads in flight are bounded in number and time (bug 2)', () => {
  it('a load that never settles is dropped after loadTimeout, waited for or not', async () => {
    const c = new BoundedCache({ loadTimeout: 20 });
    void c.getOrLoad('never', () => new Promise<never>(() => {}));
    assert.equal(c.getStats().pending_loads, 1);
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(c.getStats().pending_loads, 0, 'dropped at the deadline');
    // The next caller loads afresh.
    assert.equal(await c.getOrLoad('never', () => 'loaded'), 'loaded');
    assert.equal(c.get('never'), 'loaded');
  });

  it('at most maxPendingLoads are shared; past it loads run unshared and still store', async () => {
    const c = new BoundedCache({ maxPendingLoads: 2 });
    const ds = [deferred<number>(), deferred<number>(), deferred<number>()];
    const ps = ds.map((d, i) => c.getOrLoad(`k${i}`, () => d.promise));
    assert.equal(c.getStats().pending_loads, 2);
    ds.forEach((d, i) => d.resolve(i));
    assert.deepEqual(await Promise.all(ps), [0, 1, 2]);
    assert.equal(c.getStats().pending_loads, 0);
    assert.equal(c.get('k0'), 0);
    assert.equal(c.get('k1'), 1);
    // The unshared load stored nothing: two writes (the shared loads'
    // stores) landed while it ran, and it cannot tell whose key they were.
    assert.equal(c.get('k2'), null);
    // Alone, an unshared load stores its value.
    const lone = new BoundedCache({ maxPendingLoads: 1 });
    const hold = deferred<number>();
    void lone.getOrLoad('held', () => hold.promise);
    assert.equal(await lone.getOrLoad('other', () => 5), 5);
    assert.equal(lone.get('other'), 5);
    hold.resolve(0);
  });

  it(
    '100k never-settling loads on distinct keys keep the heap flat',
    { skip: typeof globalThis.gc !== 'function' ? 'needs node --expose-gc' : false },
    async () => {
      const gc = globalThis.gc as () => void;
      const c = new BoundedCache({ maxEntries: 100 });
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < 100_000; i++) {
        void c.getOrLoad(`user:${i}`, () => new Promise<never>(() => {}));
        if (i % 10_000 === 0) await tick();
      }
      await tick();
      gc();
      const grown = process.memoryUsage().heapUsed - before;
      assert.ok(c.getStats().pending_loads <= 1000, `${c.getStats().pending_loads} shared`);
      assert.ok(grown < 8 * 1024 * 1024, `heap grew ${(grown / 1048576).toFixed(1)} MiB (was ~30 MiB before the fix)`);
      c.dispose();
    },
  );
});

describe('test clocks reach caches made earlier (bug 3)', () => {
  it('a replaced global Date (fake timers) is read at call time', () => {
    configure({}); // the module-level cache, made before the fake clock
    withFakeDate(1_800_000_000_000, (clock) => {
      set('k', 'v', 60);
      clock.t += 60_000;
      assert.equal(get('k'), 'v');
      clock.t += 1; // one ms past the TTL
      assert.equal(get('k'), null, 'expired by the fake clock');
    });
  });

  it('Date.now replaced in place (setSystemTime-style) is read at call time', () => {
    const c = new BoundedCache();
    const realNow = Date.now;
    let t = realNow();
    Date.now = () => t;
    try {
      c.set('k', 1, 1);
      t += 1001;
      assert.equal(c.get('k'), null);
    } finally {
      Date.now = realNow;
    }
  });

  it('after the system time is set earlier and clear(), entries expire on time', () => {
    const realNow = Date.now;
    let t = 1_900_000_000_000;
    Date.now = () => t;
    try {
      configure({});
      set('a', 1, 10);
      t -= 3_600_000; // a test sets the clock an hour back
      clear();
      set('b', 2, 10);
      t += 10_000;
      assert.equal(get('b'), 2);
      t += 1;
      assert.equal(get('b'), null, 'b lived its 10 s by the clock, not 1 h 10 s');
      // Without clear() too: time goes on from where it was.
      set('c', 3, 5);
      t -= 60_000;
      set('d', 4, 5);
      t += 5_001;
      assert.equal(get('d'), null, 'd expired 5 s after it was set, by the clock set back');
      assert.equal(get('c'), null, 'c never outlives its 5 s of elapsed time');
    } finally {
      Date.now = realNow;
    }
  });

  it('a collector without a clock of its own reads the global Date.now per call', () => {
    const m = new MetricsCollector({ staleAfterMs: 1000 });
    const realNow = Date.now;
    let t = realNow();
    Date.now = () => t;
    try {
      m.increment('x_total', 1, { k: 'v' });
      t += 1001;
      m.toPrometheusFormat(); // drops stale series first
      assert.equal(m.getStats().expired_series, 1);
      assert.equal(m.getSnapshot().timestamp, t);
    } finally {
      Date.now = realNow;
    }
  });
});

describe('lookups never throw for a string key (bug 6)', () => {
  it('module-level lookups of an over-long key are misses; getOrLoad rejects', async () => {
    configure({ maxKeyLength: 8 });
    const key = 'x'.repeat(9);
    const misses = getStats().misses;
    assert.equal(get(key), null);
    assert.equal(getStats().misses, misses + 1);
    del(key);
    assert.throws(() => set(key, 1), RangeError);
    let p: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      p = getOrLoad(key, () => 1);
    });
    await assert.rejects(p!, RangeError);
    await assert.rejects(getOrLoad('ok', 'not a function' as unknown as () => number), TypeError);
    await assert.rejects(getOrLoad('ok', () => 1, -1), RangeError);
    configure({});
  });
});

describe('disposed or replaced instances fail clearly (bug 7)', () => {
  it('every method of a disposed cache throws that it was disposed', async () => {
    const c = new BoundedCache();
    c.set('a', 1);
    c.dispose();
    assert.equal(c.disposed, true);
    const calls: Array<[string, () => unknown]> = [
      ['get', () => c.get('a')],
      ['get (never stored)', () => c.get('zzz')],
      ['set', () => c.set('a', 1)],
      ['del', () => c.del('a')],
      ['delPattern', () => c.delPattern('a')],
      ['has', () => c.has('a')],
      ['peek', () => c.peek('a')],
      ['getRemainingTTL', () => c.getRemainingTTL('a')],
      ['clear', () => c.clear()],
      ['cleanExpired', () => c.cleanExpired()],
      ['getStats', () => c.getStats()],
      ['memoryBytes', () => c.memoryBytes()],
      ['size', () => c.size],
      ['keys', () => c.keys()],
    ];
    for (const [name, call] of calls) assert.throws(call, /cache was disposed/, name);
    await assert.rejects(c.getOrLoad('a', () => 1), /cache was disposed/);
    c.dispose(); // idempotent
  });

  it('a reference to the module-level cache that configure() replaced throws', () => {
    const old = getDefaultCache();
    configure({ maxEntries: 10 });
    assert.throws(() => old.set('k', 1), /disposed .*configure\(\) replaced the module-level cache/);
    assert.throws(() => old.get('k'), /disposed/);
    set('k', 1); // the module-level functions use the new one
    assert.equal(get('k'), 1);
  });

  it('every method of a disposed collector throws that it was disposed', () => {
    const m = new MetricsCollector();
    m.increment('a_total');
    m.dispose();
    assert.equal(m.disposed, true);
    for (const [name, call] of [
      ['increment', () => m.increment('a_total')],
      ['set', () => m.set('g', 'gauge', 1)],
      ['observe', () => m.observe('h', 1)],
      ['recordResponseTime', () => m.recordResponseTime(1)],
      ['getPercentile', () => m.getPercentile(50)],
      ['getSnapshot', () => m.getSnapshot()],
      ['toPrometheusFormat', () => m.toPrometheusFormat()],
      ['setHelp', () => m.setHelp('a_total', 'x')],
      ['reset', () => m.reset()],
      ['getStats', () => m.getStats()],
      ['configure', () => m.configure({})],
    ] as Array<[string, () => unknown]>) {
      assert.throws(call, /collector was disposed/, name);
    }
  });
});

describe('instance memory (bug 8)', () => {
  it('caches and collectors disposed in a loop reuse their Wasm memory', () => {
    // Warm up: the first instances size the allocator's pools.
    for (let i = 0; i < 100; i++) {
      const c = new BoundedCache();
      c.set('k', i);
      c.dispose();
    }
    const before = getMemoryStats().wasm_memory_bytes;
    for (let i = 0; i < 50_000; i++) {
      const c = new BoundedCache();
      c.set(`k${i}`, i);
      c.get(`k${i}`);
      c.dispose();
      if (i % 5 === 0) {
        const m = new MetricsCollector();
        m.increment('a_total', 1, { i: String(i) });
        m.recordResponseTime(i % 100);
        m.dispose();
      }
    }
    assert.equal(getMemoryStats().wasm_memory_bytes, before, 'not one page grown');
  });

  it('getMemoryStats() counts every live cache and collector, and forgets disposed ones', () => {
    const s0 = getMemoryStats();
    const caches = [new BoundedCache(), new BoundedCache()];
    caches[0]!.set('a', 1);
    caches[1]!.set('b', 2);
    caches[1]!.set('c', 3);
    const m = new MetricsCollector();
    const s1 = getMemoryStats();
    assert.equal(s1.live_caches, s0.live_caches + 2);
    assert.equal(s1.live_collectors, s0.live_collectors + 1);
    assert.equal(s1.all_cache_entries, s0.all_cache_entries + 3);
    assert.ok(s1.all_memory_kb > s0.all_memory_kb);
    for (const c of caches) c.dispose();
    m.dispose();
    const s2 = getMemoryStats();
    assert.equal(s2.live_caches, s0.live_caches);
    assert.equal(s2.live_collectors, s0.live_collectors);
  });

  it('an idle instance costs little Wasm memory', () => {
    const keep: BoundedCache[] = [];
    const before = getMemoryStats().wasm_memory_bytes;
    for (let i = 0; i < 2000; i++) keep.push(new BoundedCache());
    const perCache = (getMemoryStats().wasm_memory_bytes - before) / keep.length;
    assert.ok(perCache < 1024, `${perCache} bytes per empty cache`);
    for (const c of keep) c.dispose();
  });
});

describe('the module-level collector is configurable (metrics and sizes)', () => {
  it('configure() reconfigures metricsCollector in place; invalid options change nothing', () => {
    const held = metricsCollector; // other modules hold this very object
    configureMetrics({ maxSeriesPerMetric: 2, windowSize: 3, buckets: [0.1, 1] });
    for (let i = 0; i < 5; i++) held.increment('route_total', 1, { id: String(i) });
    assert.ok(held.toPrometheusFormat().includes('route_total{bs_overflow="true"} 3'));
    for (const ms of [1, 2, 3, 4]) held.recordResponseTime(ms);
    assert.equal(held.getStats().response_times_count, 3);
    assert.ok(held.toPrometheusFormat().includes('http_request_duration_seconds_bucket{le="0.1"} 4'));
    assert.throws(() => configureMetrics({ buckets: [2, 1] }), RangeError);
    assert.equal(held.getStats().response_times_count, 3, 'a refused configure changed nothing');
    configureMetrics({});
    assert.equal(held.getStats().response_times_count, 0);
  });

  it('the package histogram is in seconds; the original names stay', () => {
    const m = new MetricsCollector();
    m.recordResponseTime(250);
    const text = m.toPrometheusFormat();
    assert.ok(text.includes('# HELP http_request_duration_seconds HTTP response time distribution, in seconds.'));
    assert.ok(text.includes('# TYPE http_request_duration_seconds histogram'));
    assert.ok(text.includes('http_request_duration_seconds_bucket{le="0.25"} 1'));
    assert.ok(text.includes('http_request_duration_seconds_sum 0.25'));
    assert.ok(text.includes('\nresponse_time_ms 250\n'));
    assert.ok(!text.includes('http_request_duration_ms'));
  });

  it('approximateSize counts Map and Set contents and extrapolates past its walk', () => {
    const strings = new Map<string, string>();
    for (let i = 0; i < 1000; i++) strings.set(`k${i}`, 'v'.repeat(10));
    assert.ok(approximateSize(strings) > 1000 * 2 * 16, `${approximateSize(strings)} for 1000 entries`);
    assert.ok(approximateSize(new Set(['a', 'b'])) === 16 + 2 * (8 + 16 + 2));
    const numbers = new Array<number>(1_000_000).fill(1);
    const n = approximateSize(numbers);
    assert.equal(n, 16 + 1_000_000 * 16, 'uniform: extrapolated exactly');
    // Bounded cost: sizing a million numbers walks 10,000 of them.
    const t = performance.now();
    approximateSize(numbers);
    assert.ok(performance.now() - t < 1000);
  });

  it('max_bytes is null when unbounded (explicit and JSON-safe)', () => {
    assert.equal(new BoundedCache().getStats().max_bytes, null);
    assert.equal(JSON.parse(JSON.stringify(new BoundedCache().getStats())).max_bytes, null);
    assert.equal(new BoundedCache({ maxBytes: 10 }).getStats().max_bytes, 10);
  });
});

describe('the root entry', () => {
  it('exports both modules (as namespaces) and the memory figures', () => {
    assert.equal(typeof root.cache.get, 'function');
    assert.equal(typeof root.cache.getOrLoad, 'function');
    assert.equal(root.cache.CacheTTL.MEDIUM, 300);
    assert.equal(root.metrics.metricsCollector, metricsCollector);
    assert.equal(typeof root.metrics.metricsMiddleware, 'function');
    assert.equal(typeof root.getMemoryStats, 'function');
    assert.equal(root.BoundedCache, BoundedCache);
  });
});
