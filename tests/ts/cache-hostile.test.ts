// Hostile input to bounded-services/cache (imported by the package's name).
// Each case asserts either a clear typed error (TypeError / RangeError whose
// message says what was wrong) or the documented rule, AND that the cache is
// intact afterwards: same entries, same values, same stats.
// Run: node --expose-gc --import tsx --test tests/ts/cache-hostile.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  BoundedCache,
  approximateSize,
  configure,
  del,
  delPattern,
  get,
  getDefaultCache,
  getStats,
  has,
  set,
  type CacheOptions,
} from 'bounded-services/cache';
import { createOriginalCache } from '../oracles/index.js';

const T0 = 1_700_000_000_000;

function fixture(options: CacheOptions = {}) {
  const clock = { t: T0 };
  const c = new BoundedCache({ now: () => clock.t, ...options });
  const seeded = { a: { v: 1 }, b: [2], c: 'three' } as Record<string, unknown>;
  for (const [k, v] of Object.entries(seeded)) c.set(k, v);
  c.get('a');
  c.get('missing');
  return { c, clock };
}

/** Entries (key -> same reference) and stats, read without changing either. */
function snapshot(c: BoundedCache) {
  const entries = new Map<string, unknown>();
  for (const k of c.keys()) entries.set(k, c.peek(k));
  return { entries, stats: c.getStats(), size: c.size };
}

function assertIntact(c: BoundedCache, before: ReturnType<typeof snapshot>, what: string) {
  const after = snapshot(c);
  assert.deepEqual([...after.entries.keys()].sort(), [...before.entries.keys()].sort(), `keys after ${what}`);
  for (const [k, v] of before.entries) assert.equal(after.entries.get(k), v, `value of ${k} after ${what}`);
  assert.deepEqual(after.stats, before.stats, `stats after ${what}`);
  assert.equal(after.size, before.size, `size after ${what}`);
}

/** Asserts `fn` throws an instance of `Ctor` whose message matches `re`. */
function throwsTyped(fn: () => unknown, Ctor: ErrorConstructor, re: RegExp, what: string) {
  assert.throws(
    fn,
    (e: unknown) => {
      assert.ok(e instanceof Ctor, `${what}: expected ${Ctor.name}, got ${e}`);
      assert.equal((e as Error).constructor, Ctor, `${what}: exactly ${Ctor.name}`);
      assert.match((e as Error).message, re, `${what}: message`);
      return true;
    },
    what,
  );
}

describe('keys', () => {
  const NON_STRINGS: Array<[string, unknown]> = [
    ['number', 1],
    ['NaN', NaN],
    ['undefined', undefined],
    ['null', null],
    ['object', { toString: () => 'a' }],
    ['array', ['a']],
    ['symbol', Symbol('a')],
    ['String object', new String('a')],
    ['bigint', 1n],
  ];

  for (const [label, key] of NON_STRINGS) {
    it(`a ${label} key is a TypeError in every method; nothing changes`, async () => {
      const { c } = fixture();
      const before = snapshot(c);
      const k = key as string;
      const calls: Array<[string, () => unknown]> = [
        ['get', () => c.get(k)],
        ['set', () => c.set(k, 1)],
        ['del', () => c.del(k)],
        ['has', () => c.has(k)],
        ['peek', () => c.peek(k)],
        ['getRemainingTTL', () => c.getRemainingTTL(k)],
      ];
      for (const [name, call] of calls) {
        throwsTyped(call, TypeError, /key must be a string/, `${name}(${label})`);
      }
      // getOrLoad fails one way only: a rejected promise, never a throw.
      let p: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        p = c.getOrLoad(k, () => 1);
      }, `getOrLoad(${label}) does not throw`);
      await assert.rejects(p!, (e: unknown) => e instanceof TypeError && /key must be a string/.test((e as Error).message));
      assertIntact(c, before, `${label} keys`);
    });
  }

  it('module-level functions reject non-string keys the same way', () => {
    configure({ now: () => T0 });
    set('a', 1);
    get('a');
    const before = snapshot(getDefaultCache());
    for (const key of [1, undefined, null, {}, Symbol('s')]) {
      throwsTyped(() => get(key as string), TypeError, /key must be a string/, `get(${String(key)})`);
      throwsTyped(() => set(key as string, 1), TypeError, /key must be a string/, `set(${String(key)})`);
      throwsTyped(() => del(key as string), TypeError, /key must be a string/, `del(${String(key)})`);
      throwsTyped(() => has(key as string), TypeError, /key must be a string/, `has(${String(key)})`);
    }
    assertIntact(getDefaultCache(), before, 'non-string module-level keys');
  });

  it('the empty key is an ordinary key', () => {
    const { c } = fixture();
    const v = { empty: true };
    c.set('', v);
    assert.equal(c.get(''), v);
    assert.equal(c.has(''), true);
    assert.equal(c.del(''), true);
    assert.equal(c.get(''), null);
    assert.equal(c.peek('a') !== null, true);
  });

  it('a 1 MB key: set is a RangeError naming the limit, lookups are misses (never throw), getOrLoad rejects', async () => {
    const { c } = fixture();
    const before = snapshot(c);
    const big = 'k'.repeat(1 << 20);
    throwsTyped(() => c.set(big, 1), RangeError, /1048576 UTF-16 code units.*maxKeyLength is 16384/, 'set(1 MB key)');
    assertIntact(c, before, '1 MB key set');
    // A key from a URL must never turn a lookup into a 500: it just misses.
    assert.equal(c.has(big), false);
    assert.equal(c.peek(big), null);
    assert.equal(c.getRemainingTTL(big), 0);
    assert.equal(c.del(big), false);
    assertIntact(c, before, '1 MB key lookups that count nothing');
    assert.equal(c.get(big), null);
    assert.equal(c.getStats().misses, before.stats.misses + 1, 'get counts the miss');
    await assert.rejects(c.getOrLoad(big, () => 1), RangeError);
    assert.equal(c.size, before.size);
    // the limit itself is accepted, one more is not
    c.set('x'.repeat(16_384), 'max');
    assert.equal(c.get('x'.repeat(16_384)), 'max');
    throwsTyped(() => c.set('x'.repeat(16_385), 1), RangeError, /maxKeyLength/, '16385 code units');
    // and maxKeyLength is configurable
    const small = new BoundedCache({ maxKeyLength: 3 });
    small.set('abc', 1);
    throwsTyped(() => small.set('abcd', 1), RangeError, /maxKeyLength is 3/, 'maxKeyLength 3');
  });

  it('lone surrogates never collide: \\uD800, \\uDBFF, \\uFFFD are three entries', () => {
    const { c } = fixture();
    const keys = ['\uD800', '\uDBFF', '\uFFFD', '\uDC00', 'a\uD800b', 'a\uFFFDb', '\uD83D\uDE00', '\uDE00\uD83D'];
    const values = keys.map((k) => ({ k }));
    keys.forEach((k, i) => c.set(k, values[i]));
    keys.forEach((k, i) => assert.equal(c.get(k), values[i], `key ${JSON.stringify(k)}`));
    assert.equal(c.size, 3 + keys.length);
    c.del('\uD800');
    assert.equal(c.get('\uD800'), null);
    assert.equal(c.get('\uDBFF'), values[1]);
    assert.equal(c.get('\uFFFD'), values[2]);
    assert.equal(c.delPattern('^\uDBFF$'), 1);
    assert.equal(c.get('\uFFFD'), values[2]);
  });

  it('__proto__, constructor, hasOwnProperty are ordinary keys', () => {
    const { c } = fixture();
    const names = ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'prototype', 'valueOf'];
    for (const k of names) {
      assert.equal(c.get(k), null, `${k} absent at first`);
      assert.equal(c.has(k), false);
    }
    const values = names.map((k) => ({ k }));
    names.forEach((k, i) => c.set(k, values[i]));
    names.forEach((k, i) => assert.equal(c.get(k), values[i]));
    assert.equal(Object.getPrototypeOf({}), Object.prototype, 'no prototype pollution');
    assert.equal(({} as Record<string, unknown>).hasOwnProperty, Object.prototype.hasOwnProperty);
    c.del('__proto__');
    assert.equal(c.get('__proto__'), null);
    assert.equal(c.get('constructor'), values[1]);
  });
});

describe('ttl', () => {
  it('NaN and negative ttls are RangeErrors; nothing changes (the old value is kept)', () => {
    const { c } = fixture();
    const before = snapshot(c);
    for (const ttl of [NaN, -1, -0.001, -Infinity]) {
      throwsTyped(() => c.set('a', 'new', ttl), RangeError, /ttl must be a non-negative number of seconds/, `ttl ${ttl}`);
      throwsTyped(() => c.set('fresh', 'new', ttl), RangeError, /ttl/, `ttl ${ttl} (new key)`);
    }
    assertIntact(c, before, 'bad ttls');
  });

  it("a string ttl ('60') is a TypeError; so are null and objects", () => {
    const { c } = fixture();
    const before = snapshot(c);
    for (const ttl of ['60', null, {}, 60n, true]) {
      throwsTyped(() => c.set('a', 'new', ttl as number), TypeError, /ttl must be a number of seconds/, `ttl ${String(ttl)}`);
    }
    throwsTyped(() => set('a', 1, '60' as unknown as number), TypeError, /ttl/, "module-level set ttl '60'");
    assertIntact(c, before, 'non-number ttls');
  });

  it('ttl Infinity never expires; ttl 2**60 s stores and outlives any test clock', () => {
    const { c, clock } = fixture();
    c.set('inf', 'I', Infinity);
    c.set('huge', 'H', 2 ** 60);
    assert.equal(c.getRemainingTTL('inf'), Infinity);
    assert.ok(c.getRemainingTTL('huge') > 2 ** 59);
    clock.t += 1e18;
    assert.equal(c.get('inf'), 'I');
    assert.equal(c.get('huge'), 'H');
    c.cleanExpired();
    assert.equal(c.getStats().expirations, 3, 'only the three 300 s entries of the fixture expired');
    assert.deepEqual([...c.keys()].sort(), ['huge', 'inf']);
    assert.equal(c.get('huge'), 'H');
  });
});

describe('data', () => {
  it('undefined is stored and get returns undefined, not null (as the original)', () => {
    const { c } = fixture();
    c.set('u', undefined);
    assert.equal(c.get('u'), undefined);
    assert.equal(c.has('u'), true);
    assert.equal(c.getStats().hits, 2);
    const o = createOriginalCache({ now: () => T0 });
    o.set('u', undefined);
    assert.equal(o.get('u'), undefined);
    configure({ now: () => T0 });
    set('u', undefined);
    assert.equal(get('u'), undefined);
    assert.equal(get('absent'), null);
  });

  it('null, a function and a cyclic object are stored by reference', () => {
    const { c } = fixture();
    const fn = () => 42;
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    cyclic.list = [cyclic, { back: cyclic }];
    c.set('null', null);
    c.set('fn', fn);
    c.set('cyclic', cyclic);
    assert.equal(c.get('null'), null);
    assert.equal(c.has('null'), true, 'a stored null is distinguishable with has()');
    assert.equal(c.get('fn'), fn);
    assert.equal(c.get<typeof fn>('fn')!(), 42);
    assert.equal(c.get('cyclic'), cyclic);
  });

  it('maxBytes + a cyclic value with the default size estimate terminates', () => {
    const c = new BoundedCache({ now: () => T0, maxBytes: 1_000_000 });
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    cyclic.arr = [cyclic, cyclic, { cyclic }];
    c.set('cyclic', cyclic);
    assert.equal(c.get('cyclic'), cyclic);
    const size = c.getStats().bytes;
    assert.ok(size > 0 && Number.isFinite(size), `size ${size}`);
    assert.equal(size, approximateSize(cyclic, 'cyclic'));
  });

  it('maxBytes + a huge value: the default estimate is bounded and stays finite', () => {
    const c = new BoundedCache({ now: () => T0, maxBytes: 1e12 });
    const wide = Array.from({ length: 200_000 }, (_, i) => ({ i }));
    const obj: Record<string, number> = {};
    for (let i = 0; i < 100_000; i++) obj[`k${i}`] = i;
    c.set('wide', wide);
    c.set('obj', obj);
    assert.equal(c.get('wide'), wide);
    assert.equal(c.get('obj'), obj);
    assert.ok(Number.isFinite(c.getStats().bytes));
  });

  it('maxBytes + a deeply nested value: no stack overflow from the size estimate', () => {
    const c = new BoundedCache({ now: () => T0, maxBytes: 1e12 });
    c.set('keep', 'K');
    const before = snapshot(c);
    let chain: unknown = null;
    for (let i = 0; i < 100_000; i++) chain = { next: chain };
    let nested: unknown[] = [];
    const root = nested;
    for (let i = 0; i < 100_000; i++) {
      const inner: unknown[] = [];
      nested.push(inner);
      nested = inner;
    }
    for (const [label, value] of [
      ['object chain', chain],
      ['nested arrays', root],
    ] as const) {
      try {
        c.set(label, value);
      } catch (e) {
        // the documented alternative is a clear typed error; a stack overflow is not one
        assert.doesNotMatch(String(e), /call stack/, `${label}: ${e}`);
        assertIntact(c, before, label);
        continue;
      }
      assert.equal(c.get(label), value);
    }
    assert.equal(c.get('keep'), 'K');
  });

  it('bad explicit sizes and sizeCalculation results are clear errors; nothing changes', () => {
    let next: unknown = 1;
    const { c } = fixture({ maxBytes: 100, sizeCalculation: () => next as number });
    const before = snapshot(c);
    for (const size of [-1, NaN, Infinity, 2 ** 53, 2 ** 60]) {
      throwsTyped(() => c.set('a', 'x', undefined, { size }), RangeError, /entry size must be a number from 0 to 2\^53 - 1/, `size ${size}`);
    }
    throwsTyped(() => c.set('a', 'x', undefined, { size: '5' as unknown as number }), TypeError, /entry size must be a number/, "size '5'");
    for (const bad of [-5, NaN, Infinity]) {
      next = bad;
      throwsTyped(() => c.set('a', 'x'), RangeError, /entry size/, `sizeCalculation -> ${bad}`);
    }
    next = 'big';
    throwsTyped(() => c.set('a', 'x'), TypeError, /entry size must be a number/, "sizeCalculation -> 'big'");
    const boom = new Error('sizeCalculation failed');
    const t = new BoundedCache({
      maxBytes: 10,
      sizeCalculation: () => {
        throw boom;
      },
    });
    assert.throws(() => t.set('a', 1), (e) => e === boom);
    assert.equal(t.size, 0);
    assertIntact(c, before, 'bad sizes');
  });
});

describe('delPattern', () => {
  it('an invalid pattern is a SyntaxError and deletes nothing', () => {
    const { c } = fixture();
    const before = snapshot(c);
    for (const p of ['(', '[', '*', 'a{2,1}', '\\']) {
      assert.throws(() => c.delPattern(p), SyntaxError, `pattern ${p}`);
    }
    assertIntact(c, before, 'invalid patterns');
    configure({ now: () => T0 });
    set('x', 1);
    assert.throws(() => delPattern('('), SyntaxError);
    assert.equal(getStats().total_entries, 1);
  });

  it('the empty pattern matches every key (as the original)', () => {
    const { c } = fixture();
    c.set('', 'empty');
    assert.equal(c.delPattern(''), 4);
    assert.equal(c.size, 0);
    const o = createOriginalCache({ now: () => T0 });
    o.set('a', 1);
    o.set('', 1);
    o.delPattern('');
    assert.equal(o.size(), 0);
  });

  it('a non-string, non-RegExp pattern is a TypeError; nothing changes', () => {
    const { c } = fixture();
    const before = snapshot(c);
    for (const p of [1, null, undefined, {}, ['a'], Symbol('a')]) {
      throwsTyped(() => c.delPattern(p as string), TypeError, /pattern must be a string or RegExp/, `pattern ${String(p)}`);
      throwsTyped(() => delPattern(p as string), TypeError, /pattern/, `module-level pattern ${String(p)}`);
    }
    assertIntact(c, before, 'non-string patterns');
  });
});

describe('options', () => {
  const BAD: Array<[string, CacheOptions, ErrorConstructor, RegExp]> = [
    ['maxEntries 0', { maxEntries: 0 }, RangeError, /maxEntries must be an integer from 1 to 16777216, got 0/],
    ['maxEntries 1.5', { maxEntries: 1.5 }, RangeError, /maxEntries.*got 1\.5/],
    ['maxEntries -1', { maxEntries: -1 }, RangeError, /maxEntries.*got -1/],
    ['maxEntries NaN', { maxEntries: NaN }, RangeError, /maxEntries.*got NaN/],
    ['maxEntries Infinity', { maxEntries: Infinity }, RangeError, /maxEntries/],
    ['maxEntries 2**24 + 1', { maxEntries: 2 ** 24 + 1 }, RangeError, /maxEntries/],
    ["maxEntries '10'", { maxEntries: '10' as unknown as number }, TypeError, /option maxEntries must be a number, got "10"/],
    ['maxBytes 0', { maxBytes: 0 }, RangeError, /maxBytes must be a positive number or Infinity, got 0/],
    ['maxBytes -1', { maxBytes: -1 }, RangeError, /maxBytes/],
    ['maxBytes NaN', { maxBytes: NaN }, RangeError, /maxBytes/],
    ["maxBytes '1'", { maxBytes: '1' as unknown as number }, TypeError, /maxBytes/],
    ['ttl -1', { ttl: -1 }, RangeError, /ttl/],
    ['ttl NaN', { ttl: NaN }, RangeError, /ttl/],
    ["ttl '60'", { ttl: '60' as unknown as number }, TypeError, /ttl/],
    ['maxKeyLength -1', { maxKeyLength: -1 }, RangeError, /maxKeyLength/],
    ['expireBudget 1.5', { expireBudget: 1.5 }, RangeError, /expireBudget/],
    ['now 5', { now: 5 as unknown as () => number }, TypeError, /option now must be a function/],
    ["now 'Date.now'", { now: 'Date.now' as unknown as () => number }, TypeError, /now/],
    ['sizeCalculation 1', { sizeCalculation: 1 as unknown as () => number }, TypeError, /sizeCalculation must be a function/],
  ];

  for (const [label, options, Ctor, re] of BAD) {
    it(`constructor: ${label} -> ${Ctor.name}`, () => {
      throwsTyped(() => new BoundedCache(options), Ctor, re, label);
    });
  }

  it('options that are not an object are a TypeError', () => {
    for (const o of [null, 5, 'x']) {
      throwsTyped(() => new BoundedCache(o as unknown as CacheOptions), TypeError, /options must be an object/, String(o));
    }
  });

  it('the bounds themselves are accepted', () => {
    assert.equal(new BoundedCache({ maxEntries: 1 }).getStats().max_entries, 1);
    assert.equal(new BoundedCache({ maxEntries: 2 ** 24 }).getStats().max_entries, 2 ** 24);
    assert.equal(new BoundedCache({ maxBytes: 0.5 }).getStats().max_bytes, 0.5);
    assert.equal(new BoundedCache({ ttl: 0, maxKeyLength: 0, expireBudget: 0 }).options.ttl, 0);
  });

  it('configure() with bad options throws and keeps the current module-level cache', () => {
    configure({ now: () => T0 });
    set('kept', 'K');
    get('kept');
    const cache = getDefaultCache();
    const before = snapshot(cache);
    for (const [label, options, Ctor] of BAD) {
      assert.throws(() => configure(options), Ctor, label);
    }
    assert.equal(getDefaultCache(), cache);
    assertIntact(cache, before, 'configure with bad options');
    assert.equal(get('kept'), 'K');
  });
});
