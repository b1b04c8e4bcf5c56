// Cache operations, in one process, against every baseline:
// get hit / miss at 1000 and 100k entries, set of new keys at capacity,
// getOrLoad hit, delPattern over 10k keys.
// Run by bench/node.ts (node --expose-gc --import tsx).
import { BoundedCache, type EvictionPolicy } from 'bounded-services/cache';
import { LRUCache } from 'lru-cache';
import { TTLCache } from '@isaacs/ttlcache';
import { do_not_optimize } from 'mitata';
import { createOriginalCache, createFixedCache, type OriginalCache } from '../tests/oracles/index.js';
import { bench, defaultPolicy, ownCopy, SUBJECT, type Row } from './lib.js';

const TTL_S = 300;
const TTL_MS = TTL_S * 1000;
const VALUE = { mood: 7, note: 'a cached value' };

interface Impl {
  name: string;
  get(k: string): unknown;
  set(k: string, v: unknown): void;
  note?: string;
}

function bsImpl(maxEntries: number, clock?: () => number): Impl & { c: BoundedCache } {
  const c = new BoundedCache(clock ? { maxEntries, now: clock } : { maxEntries });
  return {
    name: clock ? `${SUBJECT} (injected clock)` : SUBJECT,
    c,
    get: (k) => c.get(k),
    set: (k, v) => c.set(k, v, TTL_S),
    note: clock ? 'now: () => t (no clock read): shows what Date.now() costs' : undefined,
  };
}

/** The per-turn clock (Workers' default): one Date.now() per turn. */
function bsTurnImpl(maxEntries: number): Impl {
  const c = new BoundedCache({ maxEntries, clock: 'turn' });
  return {
    name: `${SUBJECT} (per-turn clock)`,
    get: (k) => c.get(k),
    set: (k, v) => c.set(k, v, TTL_S),
    note: "clock: 'turn': exact in Workers; a synchronous loop sees one time",
  };
}

/** The cache under another eviction policy than the default. */
function bsPolicyImpl(maxEntries: number, policy: EvictionPolicy): Impl {
  const c = new BoundedCache({ maxEntries, policy });
  return {
    name: `${SUBJECT} (policy: '${policy}')`,
    get: (k) => c.get(k),
    set: (k, v) => c.set(k, v, TTL_S),
    note: 'same cache, another eviction policy',
  };
}

/** The policies other than the default, for the rows beside it. */
function otherPolicies(): EvictionPolicy[] {
  const d = defaultPolicy();
  return (['lru', 's3-fifo', 'w-tinylfu', 'adaptive'] as const).filter((p) => p !== d);
}

function modelImpl(name: string, c: OriginalCache, note?: string): Impl {
  return { name, get: (k) => c.get(k), set: (k, v) => c.set(k, v, TTL_S), note };
}

function impls(n: number): Impl[] {
  const fixedNote = n > 1000 ? `maxSize raised to ${n} (shipped: 1000)` : undefined;
  const lru = new LRUCache<string, object>({ max: n, ttl: TTL_MS });
  const lruExact = new LRUCache<string, object>({ max: n, ttl: TTL_MS, ttlResolution: 0 });
  const ttl = new TTLCache<string, object>({ max: n, ttl: TTL_MS });
  const map = new Map<string, object>();
  const t = Date.now();
  return [
    bsImpl(n),
    bsImpl(n, () => t),
    bsTurnImpl(n),
    ...otherPolicies().map((p) => bsPolicyImpl(n, p)),
    modelImpl('original', createOriginalCache()),
    modelImpl('fixed original', createFixedCache({ maxSize: n }), fixedNote),
    { name: 'Map', get: (k) => map.get(k), set: (k, v) => void map.set(k, v as object), note: 'no TTL, no bound' },
    { name: 'lru-cache', get: (k) => lru.get(k), set: (k, v) => void lru.set(k, v as object), note: `{ max: ${n}, ttl }: its clock reading is cleared by a 1 ms timer that never fires in a synchronous loop` },
    {
      name: 'lru-cache (ttlResolution: 0)',
      get: (k) => lruExact.get(k),
      set: (k, v) => void lruExact.set(k, v as object),
      note: `{ max: ${n}, ttl, ttlResolution: 0 }: a clock read per call, as the package's default in Node`,
    },
    { name: '@isaacs/ttlcache', get: (k) => ttl.get(k), set: (k, v) => void ttl.set(k, v as object), note: `{ max: ${n}, ttl }` },
  ];
}

// The measured loops, each implementation's its own copy (`ownCopy`): they
// use nothing but their parameters.
/** A get of each key in turn. */
const getLoop = (impl: Impl, keys: string[], keep: (x: unknown) => void) => {
  let i = 0;
  return () => {
    if (++i === keys.length) i = 0;
    keep(impl.get(keys[i] as string));
  };
};
/** A set of a new key each call (the pool is 2^20 keys). */
const setLoop = (impl: Impl, keys: string[], value: object) => {
  let q = 0;
  return () => impl.set(keys[q++ & (keys.length - 1)] as string, value);
};

/**
 * `count` lookups of `keys` drawn with Zipf(`s`) popularity (rank r weighs
 * 1 / r^s), the ranks given to the keys in a shuffled order; a fixed seed,
 * the same sequence for every implementation: a skewed workload beside the
 * round-robin rows, where nearly every W-TinyLFU hit promotes from
 * probation and demotes from protected.
 */
function zipfLookups(keys: string[], count: number, s: number): string[] {
  let seed = 0x9e3779b9;
  const random = (): number => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = keys.slice();
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as string, order[i] as string];
  }
  const cdf: number[] = [];
  let total = 0;
  for (let r = 1; r <= order.length; r++) cdf.push((total += 1 / r ** s));
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const u = random() * total;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    out[i] = order[lo] as string;
  }
  return out;
}

/** A pool of distinct keys shaped like MoodMash's (`mood:stats:<id>`...). */
function keyPool(prefix: string, n: number): string[] {
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = `${prefix}:${i}`;
  return out;
}

export async function cacheBenches(): Promise<Row[]> {
  const rows: Row[] = [];
  const NEW = keyPool('mood:list:new', 1 << 20);

  for (const n of [1000, 100_000]) {
    process.stderr.write(`cache @ ${n} entries\n`);
    const keys = keyPool('mood:stats', n);
    const missKeys = keyPool('mood:miss', n);
    const zipf = n === 1000 ? zipfLookups(keys, 1 << 16, 0.99) : undefined;
    for (const impl of impls(n)) {
      for (const k of keys) impl.set(k, VALUE);
      const note = impl.note;
      rows.push(await bench(`cache.get.hit.${n}`, impl.name, ownCopy(getLoop)(impl, keys, do_not_optimize), { note }));
      if (zipf && !impl.name.includes('original')) {
        rows.push(await bench(`cache.get.hit.zipf.${n}`, impl.name, ownCopy(getLoop)(impl, zipf, do_not_optimize), { note }));
      }
      rows.push(await bench(`cache.get.miss.${n}`, impl.name, ownCopy(getLoop)(impl, missKeys, do_not_optimize), { note }));
    }

    // set of new keys at capacity: every set evicts one entry.
    for (const impl of impls(n)) {
      if (impl.name === 'original') continue; // unbounded: no eviction path
      let fifo: Impl = impl;
      if (impl.name === 'Map') {
        const m = new Map<string, unknown>();
        fifo = {
          name: 'Map (set + delete oldest)',
          note: 'FIFO by hand: delete m.keys().next().value when full',
          get: (k) => m.get(k),
          set: (k, v) => {
            if (m.size >= n) m.delete(m.keys().next().value as string);
            m.set(k, v);
          },
        };
      }
      for (const k of keys) fifo.set(k, VALUE);
      rows.push(await bench(`cache.set.evict.${n}`, fifo.name, ownCopy(setLoop)(fifo, NEW, VALUE), { note: fifo.note }));
    }
  }

  // getOrLoad hit (async: includes awaiting the returned promise).
  {
    process.stderr.write('getOrLoad hit @ 1000\n');
    const n = 1000;
    const keys = keyPool('mood:stats', n);
    const loader = async (): Promise<object> => VALUE;
    const bs = new BoundedCache({ maxEntries: n });
    const lru = new LRUCache<string, object>({ max: n, ttl: TTL_MS, fetchMethod: loader });
    const orig = createOriginalCache();
    const fixed = createFixedCache();
    for (const k of keys) {
      bs.set(k, VALUE);
      lru.set(k, VALUE);
      orig.set(k, VALUE);
      fixed.set(k, VALUE);
    }
    const loadThrough = (c: OriginalCache) => async (k: string): Promise<unknown> => {
      const hit = c.get(k);
      if (hit !== null) return hit;
      const v = await loader();
      c.set(k, v, TTL_S);
      return v;
    };
    const lo = loadThrough(orig);
    const lf = loadThrough(fixed);
    let i = 0;
    const next = (): string => {
      if (++i === n) i = 0;
      return keys[i] as string;
    };
    rows.push(await bench('cache.getOrLoad.hit.1000', SUBJECT, async () => do_not_optimize(await bs.getOrLoad(next(), loader))));
    rows.push(await bench('cache.getOrLoad.hit.1000', 'original', async () => do_not_optimize(await lo(next())), { note: 'async get-or-load helper over get/set' }));
    rows.push(await bench('cache.getOrLoad.hit.1000', 'fixed original', async () => do_not_optimize(await lf(next())), { note: 'async get-or-load helper over get/set' }));
    rows.push(await bench('cache.getOrLoad.hit.1000', 'lru-cache', async () => do_not_optimize(await lru.fetch(next())), { note: 'fetch() with fetchMethod' }));
  }

  // delPattern over 10k keys: one invalidation (2 matching keys), then the
  // two keys are set again so every iteration does the same work.
  {
    process.stderr.write('delPattern over 10k keys\n');
    const users = 2500;
    const all: string[] = [];
    for (let u = 0; u < users; u++) {
      all.push(`mood:stats:${u}`, `mood:list:${u}:all`, `social:feed:${u}:10`, `health:metrics:${u}`);
    }
    const cap = 20_000;
    const bs = new BoundedCache({ maxEntries: cap });
    const orig = createOriginalCache();
    const fixed = createFixedCache({ maxSize: cap });
    const lru = new LRUCache<string, object>({ max: cap, ttl: TTL_MS });
    const map = new Map<string, object>();
    for (const k of all) {
      bs.set(k, VALUE);
      orig.set(k, VALUE);
      fixed.set(k, VALUE);
      lru.set(k, VALUE);
      map.set(k, VALUE);
    }
    let u = 0;
    const pattern = (): [string, string[]] => {
      u = (u + 1) % users;
      return [`^mood:(?:stats|list):${u}(?::|$)`, [`mood:stats:${u}`, `mood:list:${u}:all`]];
    };
    const byLoop = (keys: () => IterableIterator<string>, del: (k: string) => unknown) => (p: string): void => {
      const re = new RegExp(p);
      const doomed: string[] = [];
      for (const k of keys()) if (re.test(k)) doomed.push(k);
      for (const k of doomed) del(k);
    };
    const lruDel = byLoop(() => lru.keys(), (k) => lru.delete(k));
    const mapDel = byLoop(() => map.keys(), (k) => map.delete(k));
    const note = '10,000 keys, 2 match; both set again';
    rows.push(await bench('cache.delPattern.10k', SUBJECT, () => {
      const [p, ks] = pattern();
      bs.delPattern(p);
      for (const k of ks) bs.set(k, VALUE);
    }, { note }));
    rows.push(await bench('cache.delPattern.10k', 'original', () => {
      const [p, ks] = pattern();
      orig.delPattern(p);
      for (const k of ks) orig.set(k, VALUE);
    }, { note }));
    rows.push(await bench('cache.delPattern.10k', 'fixed original', () => {
      const [p, ks] = pattern();
      fixed.delPattern(p);
      for (const k of ks) fixed.set(k, VALUE);
    }, { note: `${note}; maxSize ${cap}` }));
    rows.push(await bench('cache.delPattern.10k', 'Map', () => {
      const [p, ks] = pattern();
      mapDel(p);
      for (const k of ks) map.set(k, VALUE);
    }, { note: `${note}; keys() loop by hand` }));
    rows.push(await bench('cache.delPattern.10k', 'lru-cache', () => {
      const [p, ks] = pattern();
      lruDel(p);
      for (const k of ks) lru.set(k, VALUE);
    }, { note: `${note}; keys() loop by hand` }));
  }
  return rows;
}
