// The eviction policy option through the facade: names, errors, stats,
// memory figures, the large-entry refusal, and each policy keeping the
// cache's contract (bounds, TTLs, peek without effect). Hit ratios are
// measured in `npm run bench`; each policy's decisions are checked against a
// reference model in `cargo test` (src/cache/policy_tests.rs).
// Run: node --expose-gc --import tsx --test tests/ts/policies.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedCache, configure, getDefaultCache, getMemoryStats, getStats, type EvictionPolicy } from 'bounded-services/cache';

const POLICIES: EvictionPolicy[] = ['lru', 's3-fifo', 'w-tinylfu', 'adaptive'];

function clock(t = 1_000_000) {
  const c = { t, now: () => c.t };
  return c;
}

describe('policy option', () => {
  it("defaults to 'adaptive' and reports the policy in getStats()", () => {
    const c = new BoundedCache();
    assert.equal(c.getStats().policy, 'adaptive');
    for (const p of POLICIES) {
      const x = new BoundedCache({ policy: p });
      assert.equal(x.getStats().policy, p);
      x.dispose();
    }
    c.dispose();
  });

  it('refuses unknown names and non-strings with a TypeError naming the choices', () => {
    assert.throws(() => new BoundedCache({ policy: 'lfu' as EvictionPolicy }), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match((e as Error).message, /'lru', 's3-fifo', 'w-tinylfu', 'adaptive'/);
      return true;
    });
    assert.throws(() => new BoundedCache({ policy: 1 as unknown as EvictionPolicy }), TypeError);
  });

  it('configure() sets the module-level cache policy; a refused configure changes nothing', () => {
    configure({ policy: 's3-fifo', maxEntries: 10 });
    assert.equal(getStats().policy, 's3-fifo');
    const before = getDefaultCache();
    assert.throws(() => configure({ policy: 'nope' as EvictionPolicy }), TypeError);
    assert.equal(getDefaultCache(), before);
    assert.equal(getStats().policy, 's3-fifo');
    configure({});
    assert.equal(getStats().policy, 'adaptive');
  });
});

describe('every policy keeps the cache contract', () => {
  for (const policy of POLICIES) {
    it(`${policy}: bounds, TTLs, peek/has without effect, del, clear`, () => {
      const ck = clock();
      const c = new BoundedCache({ policy, maxEntries: 50, now: ck.now });
      let x = 7;
      for (let i = 0; i < 5000; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const k = `k${x % 200}`;
        if (c.get(k) === null) c.set(k, k, (x % 7) + 1);
        if (i % 10 === 0) ck.t += 500;
        assert.ok(c.size <= 50);
        const v = c.peek(k);
        if (v !== null) assert.equal(v, k);
      }
      // An expired entry is never served.
      c.set('short', 1, 1);
      ck.t += 1001;
      assert.equal(c.get('short'), null);
      // peek and has change nothing the stats show.
      const s = c.getStats();
      for (let i = 0; i < 200; i++) {
        c.peek(`k${i}`);
        c.has(`k${i}`);
      }
      assert.deepEqual(c.getStats(), s);
      c.set('gone', 1);
      assert.equal(c.del('gone'), true);
      assert.equal(c.get('gone'), null);
      c.clear();
      assert.equal(c.size, 0);
      assert.equal(c.getStats().hits, 0);
      c.dispose();
    });
  }
});

describe('large entries and the policy memory figures', () => {
  it('a large one-hit wonder is not admitted (cache unchanged, counted); seen often, it is', () => {
    for (const policy of ['s3-fifo', 'w-tinylfu', 'adaptive'] as const) {
      const c = new BoundedCache({ policy, maxBytes: 1000 });
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 90; i++) if (c.get(`small${i}`) === null) c.set(`small${i}`, i, undefined, { size: 10 });
      }
      const before = { size: c.size, bytes: c.getStats().bytes };
      c.set('huge', 'H', undefined, { size: 900 });
      assert.equal(c.get('huge'), null, `${policy}: refused`);
      assert.deepEqual({ size: c.size, bytes: c.getStats().bytes }, before, `${policy}: nothing evicted for it`);
      assert.equal(c.getStats().rejected, 1);
      let admitted = false;
      for (let i = 0; i < 30 && !admitted; i++) {
        c.set('huge', 'H', undefined, { size: 900 });
        admitted = c.get('huge') === 'H';
      }
      assert.ok(admitted, `${policy}: admitted once seen often`);
      c.dispose();
    }
    // LRU admits everything, as before.
    const lru = new BoundedCache({ policy: 'lru', maxBytes: 1000 });
    for (let i = 0; i < 90; i++) lru.set(`small${i}`, i, undefined, { size: 10 });
    lru.set('huge', 'H', undefined, { size: 900 });
    assert.equal(lru.get('huge'), 'H');
    lru.dispose();
  });

  it('policy structures are allocated at first use and reported', () => {
    const c = new BoundedCache({ policy: 'adaptive', maxEntries: 1000 });
    assert.equal(c.getStats().policy_bytes, 0, 'an idle cache holds no sketch or shadows');
    for (let i = 0; i < 2000; i++) c.set(`k${i}`, i);
    const bytes = c.getStats().policy_bytes;
    assert.ok(bytes >= 8192 && bytes < 64 * 1024, `policy bytes ${bytes}`);
    assert.equal(new BoundedCache({ policy: 'lru' }).getStats().policy_bytes, 0);
    configure({ maxEntries: 1000 });
    for (let i = 0; i < 2000; i++) getDefaultCache().set(`m${i}`, i);
    assert.ok(getMemoryStats().cache_policy_bytes >= 8192);
    configure({});
    c.dispose();
  });

  it('promotions are counted', () => {
    const c = new BoundedCache({ policy: 'w-tinylfu', maxEntries: 100 });
    for (let i = 0; i < 200; i++) c.set(`k${i}`, i);
    for (let r = 0; r < 3; r++) for (let i = 100; i < 200; i++) c.get(`k${i}`);
    assert.ok(c.getStats().promotions > 0);
    c.dispose();
  });
});
