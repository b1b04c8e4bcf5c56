// The tiered cache's logic in Node: an in-memory store (several TieredCaches
// over one MemoryStore stand for isolates sharing a store), an injected
// clock, and stores that fail or hang on purpose. The same behaviour against
// miniflare's Cache API and KV runs in workerd (scripts/test-workerd.sh).
// Run: node --expose-gc --import tsx --test tests/ts/tiered.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  CacheApiStore,
  KvStore,
  MemoryStore,
  TieredCache,
  jsonCodec,
  tieredInvalidation,
  type TierStore,
} from 'bounded-services/tiered';
import { CacheKeys } from 'bounded-services/cache';
import { MetricsCollector } from 'bounded-services/metrics';

/** A clock the test moves. */
function clock(start = 1_800_000_000_000) {
  const c = { t: start, now: () => c.t, advance: (s: number) => void (c.t += s * 1000) };
  return c;
}

/** A loader counting its calls, resolving to `value(n)` for call n. */
function loader<T>(value: (n: number) => T) {
  const l = {
    calls: 0,
    fn: async () => {
      l.calls++;
      return value(l.calls);
    },
  };
  return l;
}

/** A store around a MemoryStore that can be made to fail or hang, recording calls. */
class FaultyStore implements TierStore {
  readonly name: string;
  readonly maxKeyBytes: number;
  mode: 'ok' | 'throw' | 'reject' | 'hang' = 'ok';
  readonly calls: string[] = [];
  readonly inner: MemoryStore;
  constructor(inner: MemoryStore, name = 'faulty', maxKeyBytes = 16_384) {
    this.inner = inner;
    this.name = name;
    this.maxKeyBytes = maxKeyBytes;
  }
  #fault(op: string, key: string): Promise<never> | undefined {
    this.calls.push(`${op} ${key}`);
    if (this.mode === 'throw') throw new Error('store down (sync)');
    if (this.mode === 'reject') return Promise.reject(new Error('store down'));
    if (this.mode === 'hang') return new Promise<never>(() => {});
    return undefined;
  }
  get(key: string) {
    return this.#fault('get', key) ?? this.inner.get(key);
  }
  put(key: string, text: string, ttl: number) {
    return this.#fault('put', key) ?? this.inner.put(key, text, ttl);
  }
  delete(key: string) {
    return this.#fault('delete', key) ?? this.inner.delete(key);
  }
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('tiered: L1 over a store', () => {
  it('a value evicted from L1 is an L2 hit, which refills L1', async () => {
    const c = clock();
    const store = new MemoryStore({ now: c.now });
    const cache = new TieredCache({ l1: { maxEntries: 2, policy: 'lru' }, stores: [store], now: c.now, ttl: 60 });
    const l = loader((n) => ({ n }));
    for (const k of ['a', 'b', 'c']) await cache.getOrLoad(k, l.fn);
    await cache.idle();
    assert.equal(l.calls, 3);
    assert.equal(store.size, 3, 'every loaded value was written to the store');
    assert.deepEqual(await cache.getOrLoad('a', l.fn), { n: 1 }, 'a came back from the store');
    assert.equal(l.calls, 3, 'no load');
    const s = cache.getStats();
    assert.equal(s.tiers[0].evictions >= 1, true);
    assert.equal(s.tiers[1].hits, 1);
    assert.deepEqual(await cache.getOrLoad('a', l.fn), { n: 1 });
    assert.equal(cache.getStats().tiers[0].hits, 1, 'a is in L1 again');
  });

  it('two caches over one store (two isolates): one loads, the other hits L2', async () => {
    const c = clock();
    const store = new MemoryStore({ now: c.now });
    const a = new TieredCache({ stores: [store], now: c.now });
    const b = new TieredCache({ stores: [store], now: c.now });
    const l = loader(() => 'shared');
    assert.equal(await a.getOrLoad('k', l.fn), 'shared');
    await a.idle();
    assert.equal(await b.getOrLoad('k', l.fn), 'shared');
    assert.equal(l.calls, 1);
    assert.equal(b.getStats().tiers[1].hits, 1);
  });

  it('hands store writes to ctx.waitUntil, and the value is served before they finish', async () => {
    const c = clock();
    const inner = new MemoryStore({ now: c.now });
    const store = new FaultyStore(inner);
    const cache = new TieredCache({ stores: [store], now: c.now });
    const handed: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => void handed.push(p) };
    assert.equal(await cache.getOrLoad('k', async () => 1, { ctx }), 1);
    assert.equal(handed.length, 1, 'one background write');
    await Promise.all(handed);
    assert.equal(inner.size, 1);
    assert.equal(cache.getStats().tiers[1].writes, 1);
  });

  it('a fresh entry is judged by its own times in every tier', async () => {
    const c = clock();
    const store = new MemoryStore({ now: c.now });
    const a = new TieredCache({ stores: [store], now: c.now, ttl: 10 });
    await a.getOrLoad('k', async () => 'v1');
    await a.idle();
    c.advance(8);
    // A second isolate with a longer default ttl still sees v1 fresh only until its own time.
    const b = new TieredCache({ stores: [store], now: c.now, ttl: 3600 });
    assert.equal(await b.getOrLoad('k', async () => 'v2'), 'v1');
    c.advance(3);
    assert.equal(await b.getOrLoad('k', async () => 'v2'), 'v2', 'stale after 10 s everywhere');
  });

  it('a hit in a slower store fills the faster ones (and L1)', async () => {
    const c = clock();
    const fast = new MemoryStore({ now: c.now, name: 'fast' });
    const slow = new MemoryStore({ now: c.now, name: 'slow' });
    const writer = new TieredCache({ stores: [slow], now: c.now });
    await writer.getOrLoad('k', async () => 'from-slow');
    await writer.idle();
    const reader = new TieredCache({ stores: [fast, slow], now: c.now });
    assert.equal(await reader.getOrLoad('k', async () => 'loaded'), 'from-slow');
    await reader.idle();
    assert.equal(fast.size, 1, 'the faster store was filled');
    const s = reader.getStats();
    assert.deepEqual([s.tiers[1].misses, s.tiers[2].hits, s.tiers[1].writes], [1, 1, 1]);
    // The copy in the faster store keeps the entry's own freshness.
    c.advance(61);
    const third = new TieredCache({ stores: [fast], now: c.now });
    assert.equal(await third.getOrLoad('k', async () => 'fresh'), 'fresh', 'stale by the original time');
  });

  it('get() loads nothing; keysMatching and clear concern L1 only', async () => {
    const c = clock();
    const store = new MemoryStore({ now: c.now });
    const cache = new TieredCache({ stores: [store], now: c.now });
    assert.equal(await cache.get('k'), null);
    await cache.set('user:1:a', 1);
    await cache.set('user:1:b', 2);
    await cache.set('user:2:a', 3);
    assert.deepEqual(cache.keysMatching(/^user:1:/).sort(), ['user:1:a', 'user:1:b']);
    cache.clear();
    assert.deepEqual(cache.keysMatching(/./), []);
    assert.equal(await cache.get('user:1:a'), 1, 'still in the store: get fills L1 again');
    assert.deepEqual(cache.keysMatching(/./), ['user:1:a']);
  });

  it('l1.ttl caps how long L1 keeps an entry; the store still has it', async () => {
    const c = clock();
    const store = new MemoryStore({ now: c.now });
    const cache = new TieredCache({ l1: { ttl: 5 }, stores: [store], now: c.now, ttl: 60 });
    const l = loader(() => 'v');
    await cache.getOrLoad('k', l.fn);
    await cache.idle();
    c.advance(6);
    assert.equal(await cache.getOrLoad('k', l.fn), 'v');
    assert.equal(l.calls, 1);
    assert.equal(cache.getStats().tiers[1].hits, 1);
  });
});

describe('tiered: stale-while-revalidate', () => {
  it('serves stale to concurrent callers and runs exactly one refresh', async () => {
    const c = clock();
    const store = new MemoryStore({ now: c.now });
    const cache = new TieredCache({ stores: [store], now: c.now, ttl: 10, staleWhileRevalidate: 30 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const load = async () => {
      calls++;
      if (calls > 1) await gate;
      return `v${calls}`;
    };
    assert.equal(await cache.getOrLoad('k', load), 'v1');
    await cache.idle();
    c.advance(15);
    const served = await Promise.all(Array.from({ length: 20 }, () => cache.getOrLoad('k', load)));
    assert.deepEqual(new Set(served), new Set(['v1']), 'all served the stale value at once');
    for (let i = 0; i < 20 && calls < 2; i++) await tick();
    served.push(...(await Promise.all(Array.from({ length: 5 }, () => cache.getOrLoad('k', load)))));
    assert.equal(calls, 2, 'one refresh for 25 stale reads, concurrent with it');
    release();
    await cache.idle();
    assert.equal(await cache.getOrLoad('k', load), 'v2', 'the refresh landed');
    const s = cache.getStats();
    assert.equal(s.refreshes, 1);
    assert.equal(s.stale_served, 25);
    assert.equal(s.tiers[0].stale_hits, 25);
    // The refreshed value reached the store too (another isolate sees v2 fresh).
    const other = new TieredCache({ stores: [store], now: c.now });
    assert.equal(await other.getOrLoad('k', load), 'v2');
    assert.equal(calls, 2);
  });

  it('a stale entry found in a store is served, and refreshed once', async () => {
    const c = clock();
    const store = new MemoryStore({ now: c.now });
    const a = new TieredCache({ stores: [store], now: c.now, ttl: 10, staleWhileRevalidate: 30 });
    await a.getOrLoad('k', async () => 'old');
    await a.idle();
    c.advance(20);
    const b = new TieredCache({ stores: [store], now: c.now, ttl: 10, staleWhileRevalidate: 30 });
    const l = loader(() => 'new');
    const both = await Promise.all([b.getOrLoad('k', l.fn), b.getOrLoad('k', l.fn)]);
    assert.deepEqual(both, ['old', 'old']);
    await b.idle();
    assert.equal(l.calls, 1);
    assert.equal(b.getStats().tiers[1].stale_hits, 1);
    assert.equal(await b.getOrLoad('k', l.fn), 'new');
  });

  it('a refresh whose loader never settles is let go at loadTimeout', async () => {
    const c = clock();
    const cache = new TieredCache({ now: c.now, ttl: 10, staleWhileRevalidate: 30, loadTimeout: 50 });
    await cache.getOrLoad('k', async () => 'v1');
    c.advance(15);
    const handed: Promise<unknown>[] = [];
    assert.equal(await cache.getOrLoad('k', () => new Promise<string>(() => {}), { ctx: { waitUntil: (p) => void handed.push(p) } }), 'v1');
    assert.equal(cache.getStats().pending_background, 1);
    await Promise.all(handed); // settles although the loader never does
    await cache.idle();
    assert.equal(cache.getStats().pending_background, 0);
    assert.equal(await cache.getOrLoad('k', async () => 'v2'), 'v1', 'still stale-served: the refresh is dropped after loadTimeout');
    await cache.idle();
    assert.equal(await cache.getOrLoad('k', async () => 'v3'), 'v2');
  });

  it('a failed refresh caches nothing and keeps serving stale within the window', async () => {
    const c = clock();
    const cache = new TieredCache({ now: c.now, ttl: 10, staleWhileRevalidate: 30 });
    await cache.getOrLoad('k', async () => 'v1');
    c.advance(15);
    const failing = async () => {
      throw new Error('db down');
    };
    assert.equal(await cache.getOrLoad('k', failing), 'v1');
    await cache.idle();
    assert.equal(cache.getStats().refresh_errors, 1);
    assert.equal(await cache.getOrLoad('k', failing), 'v1');
    await cache.idle();
    c.advance(30); // past the window
    await assert.rejects(cache.getOrLoad('k', failing), /db down/);
  });
});

describe('tiered: stale-if-error, rejections, not found', () => {
  it('serves stale when the loader fails, within the window only', async () => {
    const c = clock();
    const store = new MemoryStore({ now: c.now });
    const cache = new TieredCache({ stores: [store], now: c.now, ttl: 10, staleIfError: 60 });
    await cache.getOrLoad('k', async () => 'good');
    await cache.idle();
    c.advance(20);
    const failing = async () => {
      throw new Error('db down');
    };
    assert.equal(await cache.getOrLoad('k', failing), 'good');
    assert.equal(cache.getStats().stale_if_error_served, 1);
    // From the store too, in another isolate.
    const b = new TieredCache({ stores: [store], now: c.now });
    assert.equal(await b.getOrLoad('k', failing), 'good');
    c.advance(60);
    await assert.rejects(cache.getOrLoad('k', failing), /db down/);
    await assert.rejects(b.getOrLoad('k', failing), /db down/);
  });

  it('never caches a rejection', async () => {
    const c = clock();
    const cache = new TieredCache({ stores: [new MemoryStore({ now: c.now })], now: c.now });
    let n = 0;
    const load = async () => {
      n++;
      if (n === 1) throw new Error('once');
      return 'ok';
    };
    await assert.rejects(cache.getOrLoad('k', load), /once/);
    assert.equal(await cache.getOrLoad('k', load), 'ok');
    const s = cache.getStats();
    assert.equal(s.loads, 2);
    assert.equal(s.load_errors, 1);
  });

  it('caches "not found" for negativeTtl only, in every tier', async () => {
    const c = clock();
    const store = new MemoryStore({ now: c.now });
    const cache = new TieredCache({ stores: [store], now: c.now, negativeTtl: 5 });
    const l = loader(() => null);
    assert.equal(await cache.getOrLoad('k', l.fn), null);
    await cache.idle();
    assert.equal(await cache.getOrLoad('k', l.fn), null);
    assert.equal(l.calls, 1);
    const b = new TieredCache({ stores: [store], now: c.now, negativeTtl: 5 });
    assert.equal(await b.getOrLoad('k', l.fn), null);
    assert.equal(l.calls, 1, 'the negative entry is shared');
    assert.equal(cache.getStats().negative_hits, 1);
    c.advance(6);
    assert.equal(await cache.getOrLoad('k', l.fn), null);
    assert.equal(l.calls, 2);

    const off = new TieredCache({ now: c.now });
    const u = loader(() => undefined);
    assert.equal(await off.getOrLoad('k', u.fn), null);
    assert.equal(await off.getOrLoad('k', u.fn), null);
    assert.equal(u.calls, 2, 'negativeTtl 0: not found is never cached');
  });

  it('a write during a load wins over the load', async () => {
    const c = clock();
    const cache = new TieredCache({ stores: [new MemoryStore({ now: c.now })], now: c.now });
    let release!: (v: string) => void;
    const p = cache.getOrLoad('k', () => new Promise<string>((r) => (release = r)));
    await tick();
    await cache.set('k', 'written');
    release('loaded');
    assert.equal(await p, 'loaded');
    assert.equal(await cache.getOrLoad('k', async () => 'again'), 'written');
  });
});

describe('tiered: values the codec cannot store', () => {
  const cases: [string, unknown, RegExp][] = [
    ['a Date', { user: { createdAt: new Date(0) } }, /value\.user\.createdAt is a Date/],
    ['a Map', new Map([[1, 2]]), /the value is a Map/],
    ['a bigint', { n: 1n }, /value\.n is a bigint/],
    ['NaN', [1, Number.NaN], /value\[1\] is NaN/],
    ['a function', { f: () => 1 }, /value\.f is a function/],
    ['undefined in an array', [undefined], /value\[0\] is undefined/],
  ];
  for (const [what, value, message] of cases) {
    it(`rejects ${what} with a TypeError and writes nothing`, async () => {
      const c = clock();
      const store = new MemoryStore({ now: c.now });
      const cache = new TieredCache({ stores: [store], now: c.now, staleIfError: 600 });
      await assert.rejects(cache.getOrLoad('k', async () => value), (e: unknown) => e instanceof TypeError && message.test(e.message));
      await assert.rejects(cache.set('k', value), TypeError);
      await cache.idle();
      assert.equal(store.size, 0, 'nothing in the store');
      assert.equal(await cache.get('k'), null, 'nothing in L1');
    });
  }

  it('a cycle is refused; a stale value does not hide a refusal; the old value stays', async () => {
    const c = clock();
    const store = new MemoryStore({ now: c.now });
    const cache = new TieredCache({ stores: [store], now: c.now, ttl: 1, staleIfError: 600 });
    await cache.set('k', { ok: true });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await assert.rejects(cache.set('k', cyclic), /cycle/);
    assert.deepEqual(await cache.get('k'), { ok: true }, 'state intact');
    c.advance(5);
    await assert.rejects(cache.getOrLoad('k', async () => cyclic), /cycle/);
    const text = await store.get('k');
    assert.match(String(text), /\{"ok":true\}$/);
  });

  it('without stores, values are kept by reference and never encoded', async () => {
    const cache = new TieredCache();
    const v = { at: new Date(0), m: new Map() };
    assert.equal(await cache.getOrLoad('k', async () => v), v);
    assert.equal(await cache.getOrLoad('k', async () => null), v);
  });

  it('a codec of your own', async () => {
    const c = clock();
    const store = new MemoryStore({ now: c.now });
    const dates = { encode: (v: unknown) => String((v as Date).getTime()), decode: (t: string) => new Date(Number(t)) };
    const a = new TieredCache({ stores: [store], now: c.now, codec: dates });
    await a.getOrLoad('k', async () => new Date(42));
    await a.idle();
    const b = new TieredCache({ stores: [store], now: c.now, codec: dates });
    const got = await b.getOrLoad('k', async () => new Date(0));
    assert.ok(got instanceof Date && got.getTime() === 42);
  });

  it('jsonCodec round-trips plain data and drops undefined properties as JSON does', () => {
    const v = { a: [1, 'x', null, true, { b: -0.5 }], u: undefined };
    assert.deepEqual(jsonCodec.decode(jsonCodec.encode(v)), { a: [1, 'x', null, true, { b: -0.5 }] });
    assert.throws(() => jsonCodec.encode(undefined), TypeError);
  });
});

describe('tiered: stores that fail never fail the request', () => {
  for (const mode of ['throw', 'reject', 'hang'] as const) {
    it(`a store that ${mode}s is skipped within storeTimeout and counted`, async () => {
      const c = clock();
      const store = new FaultyStore(new MemoryStore({ now: c.now }));
      const backup = new MemoryStore({ now: c.now });
      const cache = new TieredCache({ stores: [store, backup], now: c.now, storeTimeout: 50 });
      store.mode = mode;
      const t0 = Date.now();
      assert.equal(await cache.getOrLoad('k', async () => 'v'), 'v');
      await cache.idle();
      assert.ok(Date.now() - t0 < 1000, 'bounded by the timeout');
      const s = cache.getStats().tiers[1];
      if (mode === 'hang') assert.equal(s.timeouts, 2, 'the get and the put timed out');
      else assert.equal(s.errors, 2, 'the get and the put failed');
      assert.equal(s.write_errors, 1);
      assert.equal(backup.size, 1, 'the next store still got the value');
      // With the faulty store first and the value only in the backup: a hit from the backup.
      const other = new TieredCache({ stores: [store, backup], now: c.now, storeTimeout: 50 });
      const l = loader(() => 'reloaded');
      assert.equal(await other.getOrLoad('k', l.fn), 'v');
      assert.equal(l.calls, 0);
      await other.del('k'); // resolves despite the faulty store
      assert.equal(other.getStats().tiers[1].delete_errors, 1);
      await other.idle();
    });
  }

  it('a store answering garbage, another writer\'s data or another version is a miss', async () => {
    const c = clock();
    const store = new MemoryStore({ now: c.now });
    const cache = new TieredCache({ stores: [store], now: c.now });
    for (const text of ['not ours', '{"bs":2,"k":"k","f":null,"r":null,"e":null,"n":0}\n1', '{"bs":1,"k":"other","f":null,"r":null,"e":null,"n":0}\n1', '{"bs":1,"k":"k","f":null,"r":null,"e":null,"n":0}\n{bad json']) {
      await store.put('k', text, 60);
      const l = loader(() => 'loaded');
      assert.equal(await cache.getOrLoad('k', l.fn), 'loaded', text);
      cache.clear();
    }
  });
});

describe('tiered: invalidation', () => {
  it('del removes from L1 and every store, after a write still queued', async () => {
    const c = clock();
    const s1 = new MemoryStore({ now: c.now });
    const s2 = new MemoryStore({ now: c.now });
    const cache = new TieredCache({ stores: [s1, s2], now: c.now });
    await cache.getOrLoad('k', async () => 'v'); // store writes now queued in the background
    assert.equal(await cache.del('k'), true);
    await cache.idle();
    assert.equal(s1.size + s2.size, 0, 'the delete ran after the queued writes');
    const l = loader(() => 'fresh');
    assert.equal(await cache.getOrLoad('k', l.fn), 'fresh');
    assert.equal(l.calls, 1);
  });

  it('delPattern is L1 only; tieredInvalidation deletes by key in the stores too', async () => {
    const c = clock();
    const store = new MemoryStore({ now: c.now });
    const cache = new TieredCache({ stores: [store], now: c.now });
    const keys = [CacheKeys.userMoods(1), CacheKeys.userMoods(1, 50), CacheKeys.moodStats(1), CacheKeys.userMoods(12)];
    for (const k of keys) await cache.getOrLoad(k, async () => k);
    await cache.idle();
    assert.equal(store.size, 4);
    await tieredInvalidation(cache).onMoodChange(1);
    assert.equal(store.size, 1, "user 1's keys are gone from the store, user 12's stay");
    assert.equal(await store.get(CacheKeys.userMoods(12)) !== null, true);
    assert.equal(await cache.get(CacheKeys.userMoods(1)), null);
    assert.equal(await cache.get(CacheKeys.userMoods(12)), CacheKeys.userMoods(12));

    assert.equal(cache.delPattern(/^mood:list:12/), 1);
    assert.equal(store.size, 1, 'delPattern leaves the stores alone');
  });
});

describe('tiered: keys', () => {
  it('hashes keys longer than a store takes, and keys that look like hashes', async () => {
    const c = clock();
    const inner = new MemoryStore({ now: c.now });
    const store = new FaultyStore(inner, 'kv-like', 512);
    const cache = new TieredCache({ stores: [store], now: c.now });
    const long = 'é'.repeat(300); // 600 UTF-8 bytes
    await cache.getOrLoad(long, async () => 'long');
    await cache.getOrLoad('sha256:looks-like-one', async () => 'tricky');
    await cache.getOrLoad('plain', async () => 'plain');
    await cache.idle();
    const puts = store.calls.filter((x) => x.startsWith('put ')).map((x) => x.slice(4));
    assert.equal(puts.length, 3);
    assert.equal(puts.filter((k) => /^sha256:[0-9a-f]{64}$/.test(k)).length, 2, 'the long key and the hash-like key are hashed');
    assert.ok(puts.includes('plain'));
    const other = new TieredCache({ stores: [store], now: c.now });
    assert.equal(await other.getOrLoad(long, async () => 'x'), 'long');
    assert.equal(await other.getOrLoad('sha256:looks-like-one', async () => 'x'), 'tricky');
  });

  it('lookups never throw for a string key; bad input is a typed error', async () => {
    const cache = new TieredCache({ l1: { maxKeyLength: 10 } });
    assert.equal(await cache.get('x'.repeat(100)), null);
    assert.equal(await cache.del('x'.repeat(100)), false);
    await assert.rejects(cache.getOrLoad('x'.repeat(11), async () => 1), RangeError);
    await assert.rejects(cache.getOrLoad(1 as unknown as string, async () => 1), TypeError);
    await assert.rejects(cache.getOrLoad('k', 'nope' as unknown as () => number), TypeError);
    await assert.rejects(cache.getOrLoad('k', async () => 1, { ttl: -1 }), RangeError);
    await assert.rejects(cache.getOrLoad('k', async () => 1, { ctx: {} as never }), TypeError);
    assert.throws(() => new TieredCache({ storeTimeout: 0 }), RangeError);
    assert.throws(() => new TieredCache({ stores: [{}] as never }), TypeError);
    assert.throws(() => new TieredCache({ negativeTtl: Number.NaN }), RangeError);
    assert.throws(() => new KvStore({} as never), TypeError);
    assert.throws(() => new CacheApiStore({ baseUrl: 'nope' }), TypeError);
    assert.equal(await cache.getOrLoad('k', async () => 1), 1, 'still works');
  });

  it('a disposed tiered cache says so in its own name', async () => {
    const cache = new TieredCache();
    await cache.set('k', 1);
    cache.dispose();
    cache.dispose(); // twice: nothing more
    const disposed = /^bounded-services\/tiered: this tiered cache was disposed/;
    for (const call of [() => cache.get('k'), () => cache.set('k', 2), () => cache.del('k'), () => cache.getOrLoad('k', async () => 3)]) {
      await assert.rejects(call(), (e: Error) => e.constructor === Error && disposed.test(e.message));
    }
    for (const call of [() => cache.delPattern('k'), () => cache.keysMatching('k'), () => cache.clear(), () => cache.getStats()]) {
      assert.throws(call, (e: Error) => disposed.test(e.message));
    }
  });
});

describe('tiered: the built-in stores', () => {
  it('KvStore: prefix, expirationTtl at least 60 s and whole, cacheTtl on reads', async () => {
    const puts: [string, string, unknown][] = [];
    const gets: [string, unknown][] = [];
    const data = new Map<string, string>();
    const ns = {
      get: async (k: string, o: unknown) => (gets.push([k, o]), data.get(k) ?? null),
      put: async (k: string, v: string, o?: unknown) => void (puts.push([k, v, o]), data.set(k, v)),
      delete: async (k: string) => void data.delete(k),
    };
    const c = clock();
    const kv = new KvStore({ namespace: () => ns, prefix: 'app:', cacheTtl: 120 });
    assert.equal(kv.maxKeyBytes, 508);
    const cache = new TieredCache({ stores: [kv], now: c.now, ttl: 10, staleIfError: 20.5 });
    await cache.getOrLoad('k', async () => 'v');
    await cache.idle();
    assert.equal(puts[0]?.[0], 'app:k');
    assert.deepEqual(puts[0]?.[2], { expirationTtl: 60 });
    assert.deepEqual(gets[0], ['app:k', { type: 'text', cacheTtl: 120 }]);
    await cache.set('long', 'v', { ttl: 100.2 });
    assert.deepEqual(puts[1]?.[2], { expirationTtl: 121 }, '100.2 s fresh + 20.5 s stale-if-error, rounded up');
    await cache.set('forever', 'v', { ttl: Infinity });
    assert.equal(puts[2]?.[2], undefined, 'no expiry');
    await cache.del('k');
    assert.equal(data.has('app:k'), false);
  });

  it('CacheApiStore: requests under baseUrl, max-age from the entry life', async () => {
    const seen: { url: string; cc: string | null }[] = [];
    const data = new Map<string, string>();
    // Shaped as the Cache API is (a Cache takes a Request or a URL string).
    const fake = {
      match: async (r: Request | string) => {
        const url = typeof r === 'string' ? r : r.url;
        return data.has(url) ? new Response(data.get(url)) : undefined;
      },
      put: async (r: Request | string, res: Response) => {
        const url = typeof r === 'string' ? r : r.url;
        seen.push({ url, cc: res.headers.get('Cache-Control') });
        data.set(url, await res.text());
      },
      delete: async (r: Request | string) => data.delete(typeof r === 'string' ? r : r.url),
    };
    const c = clock();
    const store = new CacheApiStore({ cache: fake, baseUrl: 'https://cache.example.com/moods/' });
    const cache = new TieredCache({ stores: [store], now: c.now, ttl: 30, staleWhileRevalidate: 30 });
    await cache.getOrLoad('mood:list:1:all', async () => ({ a: 1 }));
    await cache.idle();
    assert.deepEqual(seen, [{ url: 'https://cache.example.com/moods/mood%3Alist%3A1%3Aall', cc: 'max-age=60' }]);
    const other = new TieredCache({ stores: [store], now: c.now });
    assert.deepEqual(await other.getOrLoad('mood:list:1:all', async () => null), { a: 1 });
    await other.del('mood:list:1:all');
    assert.equal(data.size, 0);
  });

  it('CacheApiStore outside Workers without a cache is a store error, not a failed request', async () => {
    const cache = new TieredCache({ stores: [new CacheApiStore()] });
    assert.equal(await cache.getOrLoad('k', async () => 'v'), 'v');
    await cache.idle();
    assert.equal(cache.getStats().tiers[1].errors, 2);
  });
});

describe('tiered: counters in the metrics collector', () => {
  it('counts lookups per tier, loads, stale serves and store errors', async () => {
    const c = clock();
    const metrics = new MetricsCollector();
    const store = new FaultyStore(new MemoryStore({ now: c.now }));
    const cache = new TieredCache({ name: 'moods', stores: [store], now: c.now, metrics, ttl: 10, staleWhileRevalidate: 10 });
    await cache.getOrLoad('k', async () => 'v');
    await cache.getOrLoad('k', async () => 'v');
    c.advance(15);
    await cache.getOrLoad('k', async () => 'v');
    await cache.idle();
    store.mode = 'reject';
    cache.clear();
    await cache.getOrLoad('k', async () => 'v');
    await cache.idle();
    const text = metrics.toPrometheusFormat();
    for (const line of [
      // Labels come out sorted by name.
      'tiered_cache_requests_total{cache="moods",result="hit",tier="l1"} 1',
      'tiered_cache_requests_total{cache="moods",result="stale",tier="l1"} 1',
      'tiered_cache_requests_total{cache="moods",result="miss",tier="l1"} 2',
      'tiered_cache_requests_total{cache="moods",result="miss",tier="faulty"} 2',
      'tiered_cache_loads_total{cache="moods",result="ok"} 3',
      'tiered_cache_refreshes_total{cache="moods",result="ok"} 1',
      'tiered_cache_stale_served_total{cache="moods",reason="revalidate"} 1',
      'tiered_cache_store_errors_total{cache="moods",kind="error",op="get",tier="faulty"} 1',
      'tiered_cache_store_errors_total{cache="moods",kind="error",op="put",tier="faulty"} 1',
    ]) {
      assert.ok(text.includes(line), `missing ${line} in\n${text}`);
    }
    assert.match(text, /# HELP tiered_cache_requests_total /);
  });
});
