// Behaviour of bounded-services/cache, imported by the package's name so the
// exports map is what is tested. Every clock is injected: no test depends on
// timing. Compared, where the rule is the original's, with the baseline model
// of MoodMash's src/services/cache.ts (tests/oracles/).
// Run: node --expose-gc --import tsx --test tests/ts/cache.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  BoundedCache,
  CacheInvalidation,
  CacheKeys,
  CacheTTL,
  approximateSize,
  cleanExpired,
  clear,
  configure,
  del,
  delPattern,
  get,
  getCacheHeaders,
  getDefaultCache,
  getNoCacheHeaders,
  getOrLoad,
  getRemainingTTL,
  getStats,
  has,
  peek,
  set,
} from 'bounded-services/cache';
import * as baseline from '../oracles/index.js';

const T0 = 1_700_000_000_000;

function clock(start = T0) {
  const c = { t: start, now: () => c.t };
  return c;
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('get / set: the original contract', () => {
  it('returns the very object stored (same reference), null on a miss', () => {
    const c = new BoundedCache({ now: clock().now });
    const obj = { a: [1, 2, 3] };
    assert.equal(c.get('k'), null);
    c.set('k', obj);
    assert.equal(c.get<typeof obj>('k'), obj);
    assert.equal(obj.a.length, 3, 'not copied, not frozen, not serialized');
    const s = c.getStats();
    assert.equal(s.hits, 1);
    assert.equal(s.misses, 1);
    assert.equal(s.hit_rate, 50);
    assert.equal(s.total_entries, 1);
  });

  it('module-level get/set/del use the configured cache and clock', () => {
    const ck = clock();
    configure({ now: ck.now });
    const obj = { x: 1 };
    assert.equal(get('k'), null);
    set('k', obj, 1);
    assert.equal(get('k'), obj);
    assert.equal(getDefaultCache().get('k'), obj);
    ck.t += 1000;
    assert.equal(get('k'), obj, 'served at exactly expires_at');
    ck.t += 1;
    assert.equal(get('k'), null, 'expired once now > expires_at');
    set('d', 1);
    del('d');
    assert.equal(get('d'), null);
    assert.deepEqual(
      { ...getStats(), max_entries: 0, policy_bytes: 0 },
      {
        hits: 3,
        misses: 3,
        hit_rate: 50,
        total_entries: 0,
        evictions: 0,
        expirations: 1,
        max_entries: 0,
        bytes: 0,
        max_bytes: null,
        pending_loads: 0,
        policy: 'adaptive',
        rejected: 0,
        promotions: 0,
        policy_bytes: 0,
      },
    );
  });

  it('expiry is strictly greater: served at expires_at, gone 1 ms later', () => {
    const ck = clock();
    const c = new BoundedCache({ now: ck.now });
    c.set('a', 'A', 1);
    c.set('b', 'B', 2.5);
    ck.t = T0 + 1000;
    assert.equal(c.get('a'), 'A');
    ck.t = T0 + 1001;
    assert.equal(c.get('a'), null);
    ck.t = T0 + 2500;
    assert.equal(c.get('b'), 'B');
    ck.t = T0 + 2501;
    assert.equal(c.get('b'), null);
  });

  it('ttl defaults to 300 s (class, module-level, and the cache option)', () => {
    const ck = clock();
    const c = new BoundedCache({ now: ck.now });
    configure({ now: ck.now });
    c.set('k', 1);
    set('k', 1);
    c.set('u', 1, undefined);
    const c60 = new BoundedCache({ now: ck.now, ttl: 60 });
    c60.set('k', 1);
    ck.t = T0 + 60_000;
    assert.equal(c60.get('k'), 1);
    ck.t = T0 + 60_001;
    assert.equal(c60.get('k'), null);
    ck.t = T0 + 300_000;
    assert.equal(c.get('k'), 1);
    assert.equal(c.get('u'), 1);
    assert.equal(get('k'), 1);
    ck.t = T0 + 300_001;
    assert.equal(c.get('k'), null);
    assert.equal(c.get('u'), null);
    assert.equal(get('k'), null);
  });

  it('configure({ ttl }) sets the default ttl of module-level set()', () => {
    const ck = clock();
    configure({ now: ck.now, ttl: 60 });
    set('k', 1);
    set('u', 1, undefined);
    ck.t = T0 + 60_000;
    assert.equal(get('k'), 1);
    assert.equal(get('u'), 1);
    ck.t = T0 + 60_001;
    assert.equal(get('k'), null, 'module-level set() without ttl must use the configured ttl (60 s)');
    assert.equal(get('u'), null);
  });

  it('ttl 0 keeps the entry only while the clock reads the same millisecond', () => {
    const ck = clock();
    const c = new BoundedCache({ now: ck.now });
    c.set('z', 'Z', 0);
    assert.equal(c.get('z'), 'Z');
    assert.equal(c.getRemainingTTL('z'), 0);
    ck.t += 1;
    assert.equal(c.get('z'), null);
    // the original model agrees
    const ok = clock();
    const o = baseline.createOriginalCache({ now: ok.now });
    o.set('z', 'Z', 0);
    assert.equal(o.get('z'), 'Z');
    ok.t += 1;
    assert.equal(o.get('z'), null);
  });

  it('ttl Infinity never expires (remaining TTL Infinity) but can still be evicted', () => {
    const ck = clock();
    const c = new BoundedCache({ now: ck.now, maxEntries: 2, policy: 'lru' });
    c.set('forever', 'F', Infinity);
    assert.equal(c.getRemainingTTL('forever'), Infinity);
    ck.t += 1e15;
    assert.equal(c.get('forever'), 'F');
    c.set('b', 1, Infinity);
    c.set('c', 1, Infinity); // 'forever' is LRU
    assert.equal(c.get('forever'), null);
    assert.equal(c.getStats().evictions, 1);
  });

  it('set replaces the value and restamps the ttl', () => {
    const ck = clock();
    const c = new BoundedCache({ now: ck.now });
    c.set('k', 1, 1);
    ck.t += 900;
    c.set('k', 2, 1);
    ck.t += 600;
    assert.equal(c.get('k'), 2);
    assert.equal(c.getStats().total_entries, 1);
  });
});

describe('bounds', () => {
  it("policy 'lru' is true LRU: a get refreshes recency (FIFO would evict the wrong key)", () => {
    const c = new BoundedCache({ now: clock().now, maxEntries: 3, policy: 'lru' });
    c.set('a', 'A');
    c.set('b', 'B');
    c.set('c', 'C');
    assert.equal(c.get('a'), 'A'); // a is now most recently used
    c.set('d', 'D'); // evicts b (LRU), not a (oldest inserted)
    assert.equal(c.peek('a'), 'A');
    assert.equal(c.peek('b'), null);
    assert.equal(c.peek('c'), 'C');
    assert.equal(c.peek('d'), 'D');
    // updating an entry with set also makes it most recently used
    c.set('c', 'C2');
    c.set('e', 'E'); // evicts a
    assert.equal(c.peek('a'), null);
    assert.equal(c.peek('c'), 'C2');
    assert.deepEqual([...c.keys()].sort(), ['c', 'd', 'e']);
    assert.equal(c.getStats().evictions, 2);
  });

  it('maxEntries is never exceeded and evictions are counted', () => {
    const c = new BoundedCache({ now: clock().now, maxEntries: 10 });
    for (let i = 0; i < 1000; i++) {
      c.set(`k${i}`, i);
      assert.ok(c.size <= 10);
      assert.ok(c.getStats().total_entries <= 10);
      if (i % 3 === 0) c.get(`k${i - 5}`);
    }
    const s = c.getStats();
    assert.equal(s.total_entries, 10);
    assert.equal(c.size, 10);
    assert.equal(s.evictions, 990);
    assert.equal(s.max_entries, 10);
    // the 10 survivors are the most recent, and each holds its own value
    for (const k of c.keys()) assert.equal(c.peek(k), Number(k.slice(1)));
  });

  it('maxBytes with explicit sizes: LRU eviction to make room', () => {
    const c = new BoundedCache({ now: clock().now, maxBytes: 100, policy: 'lru' });
    c.set('a', 'A', undefined, { size: 40 });
    c.set('b', 'B', undefined, { size: 40 });
    assert.equal(c.getStats().bytes, 80);
    c.get('a');
    c.set('c', 'C', undefined, { size: 40 }); // b is LRU
    assert.equal(c.peek('b'), null);
    assert.equal(c.peek('a'), 'A');
    assert.equal(c.peek('c'), 'C');
    const s = c.getStats();
    assert.equal(s.bytes, 80);
    assert.equal(s.evictions, 1);
    assert.equal(s.max_bytes, 100);
    // growing an entry evicts others, never itself
    c.set('a', 'A2', undefined, { size: 100 });
    assert.equal(c.peek('a'), 'A2');
    assert.equal(c.size, 1);
    assert.equal(c.getStats().bytes, 100);
    // shrinking releases bytes
    c.set('a', 'A3', undefined, { size: 1 });
    assert.equal(c.getStats().bytes, 1);
    c.del('a');
    assert.equal(c.getStats().bytes, 0);
  });

  it('an entry larger than maxBytes throws RangeError and keeps the old value', () => {
    const c = new BoundedCache({ now: clock().now, maxBytes: 100 });
    c.set('a', 'old', undefined, { size: 10 });
    c.set('b', 'B', undefined, { size: 10 });
    const before = c.getStats();
    assert.throws(() => c.set('a', 'new', undefined, { size: 101 }), (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /maxBytes/);
      return true;
    });
    assert.throws(() => c.set('fresh', 'x', undefined, { size: 1e9 }), RangeError);
    assert.equal(c.peek('a'), 'old');
    assert.equal(c.peek('b'), 'B');
    assert.equal(c.peek('fresh'), null);
    assert.deepEqual(c.getStats(), before);
  });

  it('maxBytes with sizeCalculation (and size overriding it)', () => {
    const calls: Array<[unknown, string]> = [];
    const c = new BoundedCache<string>({
      now: clock().now,
      maxBytes: 10,
      policy: 'lru',
      sizeCalculation: (v, k) => {
        calls.push([v, k]);
        return (v as string).length;
      },
    });
    c.set('a', 'xxxx');
    c.set('b', 'yyyy');
    assert.deepEqual(calls, [
      ['xxxx', 'a'],
      ['yyyy', 'b'],
    ]);
    assert.equal(c.getStats().bytes, 8);
    c.set('c', 'zzzz'); // needs 4: evicts a
    assert.equal(c.peek('a'), null);
    assert.equal(c.getStats().bytes, 8);
    c.set('d', 'this is long', undefined, { size: 1 }); // explicit size wins
    assert.equal(calls.length, 3);
    assert.equal(c.getStats().bytes, 9);
    assert.throws(() => c.set('e', 'x'.repeat(11)), RangeError);
    assert.equal(c.peek('e'), null);
    assert.equal(c.getStats().bytes, 9);
  });

  it('default size estimate with a finite maxBytes is approximateSize(value, key)', () => {
    const c = new BoundedCache({ now: clock().now, maxBytes: 1e6 });
    const v = { name: 'mood', values: [1, 2, 3], flag: true };
    c.set('key', v);
    assert.equal(c.getStats().bytes, approximateSize(v, 'key'));
    assert.ok(approximateSize(v, 'key') > 0);
    // the documented estimate
    assert.equal(approximateSize('ab'), 16 + 2 * 2);
    assert.equal(approximateSize(1), 8);
    assert.equal(approximateSize(true), 4);
    assert.equal(approximateSize(null), 0);
    assert.equal(approximateSize(undefined), 16);
    assert.equal(approximateSize(new Uint8Array(10)), 16 + 10);
    assert.equal(approximateSize([1, 2]), 16 + 2 * (8 + 8));
    assert.equal(approximateSize({ ab: 1 }, 'key'), 2 * 3 + 16 + (16 + 2 * 2 + 8));
    const shared = { s: 'x' };
    assert.equal(approximateSize([shared, shared]), 16 + 2 * 8 + (16 + 16 + 2 + 16 + 2), 'a shared object counts once');
    // without maxBytes, sizes are not computed: bytes stays 0
    const d = new BoundedCache({ now: clock().now });
    d.set('key', v);
    assert.equal(d.getStats().bytes, 0);
  });
});

describe('expiry reclamation', () => {
  it('expired entries are reclaimed without any explicit call', () => {
    const ck = clock();
    const c = new BoundedCache({ now: ck.now, maxEntries: 100_000 });
    for (let i = 0; i < 100; i++) c.set(`old${i}`, i, 1);
    assert.equal(c.getStats().total_entries, 100);
    ck.t += 10_000;
    let s = c.getStats();
    for (let i = 0; i < 200 && s.expirations < 100; i++) {
      ck.t += 1;
      c.set(`new${i}`, i, 1000);
      s = c.getStats();
    }
    assert.equal(s.expirations, 100, 'every expired entry was reclaimed by ordinary sets');
    assert.equal(s.total_entries, c.size);
    for (const k of c.keys()) assert.ok(k.startsWith('new'), `expired key ${k} still stored`);
    assert.equal(s.hits + s.misses, 0, 'reclamation does not count lookups');
  });

  it('cleanExpired() is a full sweep returning how many it removed', () => {
    const ck = clock();
    // expireBudget 0: no incremental reclamation, so the sweep does it all
    const c = new BoundedCache({ now: ck.now, expireBudget: 0, maxEntries: 1000 });
    for (let i = 0; i < 50; i++) c.set(`short${i}`, i, 1);
    for (let i = 0; i < 50; i++) c.set(`long${i}`, i, 1000);
    ck.t += 2_000;
    assert.equal(c.getStats().total_entries, 100, 'expired entries count until reclaimed');
    assert.equal(c.cleanExpired(), 50);
    const s = c.getStats();
    assert.equal(s.total_entries, 50);
    assert.equal(c.size, 50);
    assert.equal(s.expirations, 50);
    assert.equal(c.cleanExpired(), 0);

    // module-level
    const mk = clock();
    configure({ now: mk.now });
    set('a', 1, 1);
    set('b', 1, 100);
    mk.t += 1001;
    cleanExpired();
    assert.equal(getStats().total_entries, 1);
    assert.equal(get('b'), 1);
  });

  it('a clock stepping back neither revives an entry nor extends a TTL', () => {
    const ck = clock();
    const c = new BoundedCache({ now: ck.now });
    c.set('a', 1, 1);
    c.set('b', 2, 10);
    ck.t = T0 + 5_000;
    assert.equal(c.get('b'), 2); // the cache has now seen T0 + 5 s
    ck.t = T0; // back in time (a test's setSystemTime, an NTP step)
    assert.equal(c.has('a'), false);
    assert.equal(c.get('a'), null, 'a clock stepping back must not revive an expired entry');
    c.set('c', 3, 1); // lives 1 s by the clock as it now reads
    assert.equal(c.getRemainingTTL('c'), 1);
    ck.t = T0 + 1_000;
    assert.equal(c.get('c'), 3);
    ck.t = T0 + 1_001;
    assert.equal(c.get('c'), null, 'expired on time by the clock that was set back');
    // b had 10 s: 5 s passed before the step, so 5 s more after it.
    ck.t = T0 + 5_000;
    assert.equal(c.get('b'), 2);
    ck.t = T0 + 5_001;
    assert.equal(c.get('b'), null, 'never outlives its TTL of elapsed time');
  });

  it(
    'an entry has() reported expired is not revived by a clock stepping back',
    () => {
      const ck = clock();
      const c = new BoundedCache({ now: ck.now });
      c.set('k', 1, 1);
      ck.t = T0 + 5_000;
      assert.equal(c.has('k'), false);
      ck.t = T0;
      assert.equal(c.get('k'), null);
    },
  );
});

describe('clear / has / peek / getRemainingTTL', () => {
  it('clear() removes all entries and resets hits and misses', () => {
    const c = new BoundedCache({ now: clock().now });
    c.set('a', 1);
    c.get('a');
    c.get('b');
    c.clear();
    const s = c.getStats();
    assert.equal(s.hits, 0);
    assert.equal(s.misses, 0);
    assert.equal(s.hit_rate, 0);
    assert.equal(s.total_entries, 0);
    assert.equal(c.size, 0);
    assert.equal(c.get('a'), null);

    configure({ now: clock().now });
    set('a', 1);
    get('a');
    get('x');
    clear();
    assert.equal(getStats().hits, 0);
    assert.equal(getStats().misses, 0);
    assert.equal(getStats().total_entries, 0);
  });

  it('has and peek change neither stats nor recency', () => {
    const ck = clock();
    const c = new BoundedCache({ now: ck.now, maxEntries: 2, policy: 'lru' });
    c.set('a', 'A', 1);
    c.set('b', 'B');
    const before = c.getStats();
    assert.equal(c.has('a'), true);
    assert.equal(c.peek('a'), 'A');
    assert.equal(c.has('nope'), false);
    assert.equal(c.peek('nope'), null);
    assert.deepEqual(c.getStats(), before);
    c.set('c', 'C'); // a is still LRU despite has/peek
    assert.equal(c.peek('a'), null);
    assert.equal(c.peek('b'), 'B');
    // on an expired entry: false / null, no miss counted
    ck.t += 1_000_000;
    assert.equal(c.has('b'), false);
    assert.equal(c.peek('b'), null);
    const s = c.getStats();
    assert.equal(s.hits, 0);
    assert.equal(s.misses, 0);

    configure({ now: clock().now });
    set('m', 'M');
    assert.equal(has('m'), true);
    assert.equal(peek('m'), 'M');
    assert.equal(getStats().hits + getStats().misses, 0);
  });

  it('getRemainingTTL is in seconds, 0 when absent or expired, and changes nothing', () => {
    const ck = clock();
    const c = new BoundedCache({ now: ck.now });
    c.set('k', 1, 60);
    assert.equal(c.getRemainingTTL('k'), 60);
    ck.t += 1_500;
    assert.equal(c.getRemainingTTL('k'), 58.5);
    assert.equal(c.getRemainingTTL('absent'), 0);
    ck.t += 58_500;
    assert.equal(c.getRemainingTTL('k'), 0);
    ck.t += 1;
    assert.equal(c.getRemainingTTL('k'), 0);
    assert.equal(c.getStats().hits + c.getStats().misses, 0);

    const mk = clock();
    configure({ now: mk.now });
    set('k', 1, 10);
    mk.t += 250;
    assert.equal(getRemainingTTL('k'), 9.75);
  });
});

describe('delPattern', () => {
  const KEYS = ['user:1', 'user:12', 'xuser:1:z', 'user:2', 'mood:stats:1', 'a.b', 'axb', ''];

  it('unanchored RegExp semantics, like the original', () => {
    for (const pattern of ['user:1', '^user:1$', 'a.b', 'a\\.b', ':', '^$', '1$', '(stats|user):1']) {
      const c = new BoundedCache({ now: clock().now });
      const o = baseline.createOriginalCache({ now: clock().now });
      for (const k of KEYS) {
        c.set(k, k);
        o.set(k, k);
      }
      const n = c.delPattern(pattern);
      o.delPattern(pattern);
      const ours = KEYS.filter((k) => c.peek(k) !== null);
      const theirs = KEYS.filter((k) => o.get(k) !== null);
      assert.deepEqual(ours, theirs, `pattern ${pattern}`);
      assert.equal(n, KEYS.length - ours.length);
    }
    configure({ now: clock().now });
    set('user:1', 1);
    set('user:12', 1);
    set('other', 1);
    delPattern('user:1');
    assert.equal(getStats().total_entries, 1);
    assert.equal(get('other'), 1);
  });

  it('an invalid pattern throws SyntaxError and deletes nothing', () => {
    const c = new BoundedCache({ now: clock().now });
    for (const k of KEYS) c.set(k, k);
    const before = c.getStats();
    assert.throws(() => c.delPattern('user:(1'), SyntaxError);
    assert.throws(() => c.delPattern('['), SyntaxError);
    assert.equal(c.size, KEYS.length);
    assert.deepEqual(c.getStats(), before);
    configure({ now: clock().now });
    set('a', 1);
    assert.throws(() => delPattern('*'), SyntaxError);
    assert.equal(get('a'), 1);
  });

  it('a /g or /y RegExp does not skip keys', () => {
    const keys = ['a', 'ab', 'ba', 'aa', 'ca', 'a'.repeat(5), 'b'];
    for (const re of [/a/g, /a/gy, /a/y, /^a/g]) {
      const c = new BoundedCache({ now: clock().now });
      for (const k of keys) c.set(k, k);
      const fresh = (k: string) => new RegExp(re.source, re.flags.replace(/[gy]/g, '')).test(k) && (!re.sticky || k.startsWith('a'));
      const expected = keys.filter((k) => !fresh(k));
      c.delPattern(re);
      assert.deepEqual(
        keys.filter((k) => c.peek(k) !== null),
        expected,
        `pattern ${re}`,
      );
    }
  });
});

describe('CacheInvalidation (fixed: anchored, escaped)', () => {
  function seedKeys(ids: Array<number | string>): string[] {
    const keys: string[] = [];
    for (const u of ids) {
      keys.push(
        CacheKeys.moodStats(u),
        CacheKeys.userMoods(u),
        CacheKeys.userMoods(u, 20),
        CacheKeys.healthMetrics(u),
        CacheKeys.socialFeed(u),
        CacheKeys.socialFeed(u, 5),
        CacheKeys.groupDetails(u),
        CacheKeys.groupMembers(u),
        CacheKeys.moodSync(u),
        CacheKeys.userFriends(u),
        CacheKeys.sharedMoods(u),
      );
    }
    keys.push(CacheKeys.complianceStatus(), CacheKeys.securityDashboard(), CacheKeys.performanceDashboard());
    return keys;
  }

  it("user 1's invalidation keeps user 12's and 123's keys", () => {
    configure({ now: clock().now });
    const keys = seedKeys([1, 12, 123, 21]);
    for (const k of keys) set(k, k);
    CacheInvalidation.onMoodChange(1);
    const gone = keys.filter((k) => peek(k) === null);
    assert.deepEqual(gone.sort(), [
      'mood:list:1:20',
      'mood:list:1:all',
      'mood:stats:1',
      'social:feed:1:10',
      'social:feed:1:5',
      'social:shares:1',
    ]);
    // the original deletes the other users' keys too (the bug that is fixed)
    const o = baseline.createOriginalCache({ now: clock().now });
    for (const k of keys) o.set(k, k);
    baseline.createCacheInvalidation(o).onMoodChange(1);
    assert.ok(o.get('mood:stats:12') === null && o.get('mood:stats:123') === null);
    assert.equal(peek('mood:stats:12'), 'mood:stats:12');
    assert.equal(peek('mood:stats:123'), 'mood:stats:123');
  });

  it('each helper deletes exactly its keys of that id', () => {
    const cases: Array<[() => void, string[]]> = [
      [() => CacheInvalidation.onHealthMetricsChange(12), ['health:metrics:12']],
      [() => CacheInvalidation.onGroupChange(1), ['group:details:1', 'group:members:1', 'group:sync:1']],
      [
        () => CacheInvalidation.onSocialChange(123),
        ['social:feed:123:10', 'social:feed:123:5', 'social:friends:123', 'social:shares:123'],
      ],
      [() => CacheInvalidation.onComplianceChange(), ['hipaa:status', 'security:dashboard']],
    ];
    for (const [run, expected] of cases) {
      configure({ now: clock().now });
      const keys = seedKeys([1, 12, 123]);
      for (const k of keys) set(k, k);
      run();
      assert.deepEqual(keys.filter((k) => peek(k) === null).sort(), expected.sort());
    }
  });

  it('ids with regex metacharacters are escaped', () => {
    configure({ now: clock().now });
    const keys = seedKeys(['1.2', '1x2', '.*', '(', 'a+', 'aa', '$', '1']);
    for (const k of keys) set(k, k);
    CacheInvalidation.onHealthMetricsChange('1.2');
    CacheInvalidation.onHealthMetricsChange('.*');
    CacheInvalidation.onGroupChange('(');
    CacheInvalidation.onGroupChange('a+');
    CacheInvalidation.onSocialChange('$');
    assert.deepEqual(
      keys.filter((k) => peek(k) === null).sort(),
      [
        'health:metrics:1.2',
        'health:metrics:.*',
        'group:details:(',
        'group:members:(',
        'group:sync:(',
        'group:details:a+',
        'group:members:a+',
        'group:sync:a+',
        'social:feed:$:10',
        'social:feed:$:5',
        'social:friends:$',
        'social:shares:$',
      ].sort(),
    );
  });
});

describe('pure helpers equal the original', () => {
  it('CacheKeys', () => {
    assert.deepEqual(Object.keys(CacheKeys).sort(), Object.keys(baseline.CacheKeys).sort());
    const args: unknown[][] = [[], [1], [12, 20], ['u-1', 0], ['x', undefined], [0], [1, 5]];
    for (const name of Object.keys(baseline.CacheKeys) as Array<keyof typeof baseline.CacheKeys>) {
      for (const a of args) {
        const ours = (CacheKeys[name] as (...x: unknown[]) => string)(...a);
        const theirs = (baseline.CacheKeys[name] as (...x: unknown[]) => string)(...a);
        assert.equal(ours, theirs, `${name}(${a.join(', ')})`);
      }
    }
  });

  it('CacheTTL, getCacheHeaders, getNoCacheHeaders', () => {
    assert.deepEqual({ ...CacheTTL }, { ...baseline.CacheTTL });
    for (const ttl of [0, 60, 300, 900, 3600, CacheTTL.LONG]) {
      assert.deepEqual(getCacheHeaders(ttl), baseline.getCacheHeaders(ttl));
    }
    assert.deepEqual(getNoCacheHeaders(), baseline.getNoCacheHeaders());
  });
});

describe('getOrLoad', () => {
  it('single flight: 10 concurrent callers, one load, one value', async () => {
    const c = new BoundedCache({ now: clock().now });
    const d = deferred<{ v: number }>();
    let calls = 0;
    const loader = () => {
      calls++;
      return d.promise;
    };
    const waiters = Array.from({ length: 10 }, () => c.getOrLoad('k', loader));
    assert.equal(calls, 1);
    const value = { v: 42 };
    d.resolve(value);
    const results = await Promise.all(waiters);
    for (const r of results) assert.equal(r, value);
    assert.equal(calls, 1);
    assert.equal(c.get('k'), value, 'the loaded value is stored');
    // a hit does not call the loader
    assert.equal(await c.getOrLoad('k', () => {
      throw new Error('loader must not run on a hit');
    }), value);
  });

  it('stores with the given ttl', async () => {
    const ck = clock();
    const c = new BoundedCache({ now: ck.now });
    await c.getOrLoad('k', () => 'v', 2);
    assert.equal(c.getRemainingTTL('k'), 2);
    await c.getOrLoad('d', async () => 'v');
    assert.equal(c.getRemainingTTL('d'), 300);
  });

  it('a rejected load is not cached; every waiter gets the rejection; the next call loads again', async () => {
    const c = new BoundedCache({ now: clock().now });
    const d = deferred<string>();
    let calls = 0;
    const a = c.getOrLoad('k', () => {
      calls++;
      return d.promise;
    });
    const b = c.getOrLoad('k', () => {
      calls++;
      return 'unused';
    });
    const boom = new Error('boom');
    d.reject(boom);
    await assert.rejects(a, (e) => e === boom);
    await assert.rejects(b, (e) => e === boom);
    assert.equal(calls, 1);
    assert.equal(c.peek('k'), null);
    assert.equal(await c.getOrLoad('k', () => {
      calls++;
      return 'second';
    }), 'second');
    assert.equal(calls, 2);
    assert.equal(c.get('k'), 'second');
    // a loader throwing synchronously rejects as well, and is not shared
    // afterwards: the next call runs its loader (it once waited loadTimeout)
    await assert.rejects(c.getOrLoad('s', () => {
      throw new TypeError('sync');
    }), TypeError);
    assert.equal(c.peek('s'), null);
    assert.equal(c.getStats().pending_loads, 0);
    assert.equal(await c.getOrLoad('s', () => 'loaded'), 'loaded');
  });

  it('a loaded value the cache cannot hold is returned unstored; a bad ttl rejects before the load', async () => {
    const c = new BoundedCache({ now: clock().now, maxBytes: 200 });
    assert.equal(await c.getOrLoad('big', () => 'x'.repeat(500)), 'x'.repeat(500));
    assert.equal(c.peek('big'), null);
    assert.equal(c.getStats().bytes, 0);
    let calls = 0;
    for (const ttl of [-1, NaN]) {
      await assert.rejects(c.getOrLoad('t', () => (calls++, 'v'), ttl), RangeError);
    }
    assert.equal(calls, 0, 'the loader never ran');
    // a hit is a hit, whatever ttl a miss would have stored with
    c.set('hit', 'cached');
    assert.equal(await c.getOrLoad('hit', () => 'loaded', -1), 'cached');
    // a size sizeCalculation got wrong is a bug: it rejects, whatever its kind
    for (const [size, kind] of [['ten', TypeError], [NaN, RangeError], [-1, RangeError]] as const) {
      const bad = new BoundedCache({ now: clock().now, maxBytes: 200, sizeCalculation: () => size as never });
      await assert.rejects(bad.getOrLoad('k', () => 'v'), kind, String(size));
    }
    const throwing = new BoundedCache({ maxBytes: 200, sizeCalculation: () => { throw new RangeError('my bug'); } });
    await assert.rejects(throwing.getOrLoad('k', () => 'v'), /my bug/);
  });

  it('a write the loader makes before its first await wins over the loaded value', async () => {
    const c = new BoundedCache({ now: clock().now });
    assert.equal(await c.getOrLoad('k', () => {
      c.set('k', 'written');
      return 'loaded';
    }), 'loaded');
    assert.equal(c.get('k'), 'written');
  });

  it('del / delPattern / clear during the load: the value is returned but not stored', async () => {
    for (const invalidate of [
      (c: BoundedCache) => c.del('k'),
      (c: BoundedCache) => c.delPattern('^k$'),
      (c: BoundedCache) => c.clear(),
    ]) {
      const c = new BoundedCache({ now: clock().now });
      const d = deferred<string>();
      const p = c.getOrLoad('k', () => d.promise);
      invalidate(c);
      d.resolve('loaded');
      assert.equal(await p, 'loaded');
      assert.equal(c.peek('k'), null, `${invalidate} during the load must prevent storing`);
      // and a new call after that loads afresh
      assert.equal(await c.getOrLoad('k', () => 'again'), 'again');
      assert.equal(c.peek('k'), 'again');
    }
  });

  it('a del of another key does not cancel the load', async () => {
    const c = new BoundedCache({ now: clock().now });
    const d = deferred<string>();
    const p = c.getOrLoad('k', () => d.promise);
    c.del('other');
    c.delPattern('^kk');
    d.resolve('v');
    assert.equal(await p, 'v');
    assert.equal(c.peek('k'), 'v');
  });

  it('module-level getOrLoad', async () => {
    configure({ now: clock().now });
    let calls = 0;
    const [x, y] = await Promise.all([
      getOrLoad('m', async () => ++calls),
      getOrLoad('m', async () => ++calls),
    ]);
    assert.equal(x, 1);
    assert.equal(y, 1);
    assert.equal(get('m'), 1);
  });
});

describe('ttlResolution (opt-in cached clock)', () => {
  it('reuses one clock reading for ttlResolution ms, then reads again', async () => {
    const ck = clock();
    let reads = 0;
    const c = new BoundedCache({ now: () => (reads++, ck.now()), ttlResolution: 30 });
    c.set('k', 1, 1);
    ck.t = T0 + 5_000; // expired by the clock, but the reading is reused
    assert.equal(c.get('k'), 1, 'served within the resolution (the documented price)');
    assert.equal(reads, 1, 'one clock read for the set and the get');
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(c.get('k'), null, 'the next reading sees the expiry');
    assert.equal(reads, 2);
  });

  it('0 (the default) reads the clock at every call', () => {
    let reads = 0;
    const c = new BoundedCache({ now: () => (reads++, T0) });
    c.set('k', 1);
    c.get('k');
    c.get('k');
    assert.equal(reads, 3);
  });

  it('rejects a negative or non-finite resolution', () => {
    assert.throws(() => new BoundedCache({ ttlResolution: -1 }), RangeError);
    assert.throws(() => new BoundedCache({ ttlResolution: Infinity }), RangeError);
    assert.throws(() => new BoundedCache({ ttlResolution: '1' as unknown as number }), RangeError);
  });
});

describe('getOrLoad waiting on a stuck load (loadTimeout)', () => {
  it('a waiter past loadTimeout drops the stuck load and loads afresh; the late result is not stored', async () => {
    const c = new BoundedCache({ now: clock().now, loadTimeout: 20 });
    const stuck = deferred<string>();
    const owner = c.getOrLoad('k', () => stuck.promise);
    let calls = 0;
    const waiter = await c.getOrLoad('k', async () => (calls++, 'fresh'));
    assert.equal(waiter, 'fresh');
    assert.equal(calls, 1);
    assert.equal(c.peek('k'), 'fresh');
    stuck.resolve('late');
    assert.equal(await owner, 'late', 'the owner still gets its own result');
    assert.equal(c.peek('k'), 'fresh', 'the late result of the dropped load is not stored');
  });

  it('waiters within loadTimeout share the load (no second loader call)', async () => {
    const c = new BoundedCache({ now: clock().now, loadTimeout: 5_000 });
    const d = deferred<string>();
    let calls = 0;
    const a = c.getOrLoad('k', () => (calls++, d.promise));
    const b = c.getOrLoad('k', () => (calls++, d.promise));
    d.resolve('v');
    assert.deepEqual(await Promise.all([a, b]), ['v', 'v']);
    assert.equal(calls, 1);
  });

  it('rejects a bad loadTimeout', () => {
    assert.throws(() => new BoundedCache({ loadTimeout: -1 }), RangeError);
    assert.throws(() => new BoundedCache({ loadTimeout: '5' as unknown as number }), TypeError);
  });
});

describe('byte accounting', () => {
  it('is exact with huge sizes, and rounds fractional sizes up', () => {
    const c = new BoundedCache({ now: clock().now });
    c.set('big', 1, 60, { size: Number.MAX_SAFE_INTEGER });
    c.set('small', 2, 60, { size: 3 });
    c.set('big', 3, 60, { size: 1 });
    assert.equal(c.getStats().bytes, 4);
    c.set('half', 4, 60, { size: 0.5 });
    assert.equal(c.getStats().bytes, 5, '0.5 counts as 1');
  });
});
