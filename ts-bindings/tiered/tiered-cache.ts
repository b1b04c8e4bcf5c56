// The tiered cache: the bounded in-isolate cache (L1) over shared stores
// (L2: the Cache API, KV, your own), behind one `getOrLoad`.
//
// Freshness is the entry's, not a tier's: a loaded value carries the wall
// times until which it is fresh, may be served while a refresh runs
// (stale-while-revalidate) and may be served when the loader fails
// (stale-if-error), and every tier, in every isolate, judges it by those
// times (envelope.ts). A tier's own TTL only bounds how long it keeps the
// entry. Store calls never fail a request: each is bounded by
// `storeTimeout`, and a failure is counted and the store skipped.
import { BoundedCache } from '../cache/bounded-cache.js';
import { SingleFlight } from '../cache/single-flight.js';
import { describe } from '../describe.js';
import type { MetricsCollector } from '../metrics/collector.js';
import { jsonCodec } from './codec.js';
import { decodeEntry, encodeEntry, endOf, type Entry } from './envelope.js';
import { storeKey } from './keys.js';
import type {
  Codec,
  Freshness,
  L1TierStats,
  StoreTierStats,
  TieredCallOptions,
  TieredOptions,
  TieredStats,
  TierStore,
  WaitUntil,
} from './types.js';

const WHO = 'bounded-services/tiered';

/** A store call that failed or timed out (already counted). */
const FAILED: unique symbol = Symbol('failed');
const TIMED_OUT: unique symbol = Symbol('timed out');

/** What one flight (stores, then the loader) came to. */
interface Resolution {
  entry: Entry;
  /** loaded; found fresh (hit) or stale (stale) in store `tier`; the loader failed and a stale entry stands in; not found and not cached. */
  how: 'loaded' | 'hit' | 'stale' | 'if-error' | 'uncached';
  tier: number;
  /** The entry's store text: to write (loaded), or as a store held it (hit, stale). */
  text: string;
}

interface Settings {
  ttl: number;
  staleWhileRevalidate: number;
  staleIfError: number;
}

function seconds(v: unknown, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0) {
    throw new RangeError(`${WHO}: ${name} must be a number of seconds >= 0, got ${describe(v)}`);
  }
  return v;
}

function freshness(f: Freshness | undefined, base: Settings): Settings {
  if (f === undefined) return base;
  if (f === null || typeof f !== 'object') throw new TypeError(`${WHO}: options must be an object`);
  return {
    ttl: seconds(f.ttl, 'ttl', base.ttl),
    staleWhileRevalidate: seconds(f.staleWhileRevalidate, 'staleWhileRevalidate', base.staleWhileRevalidate),
    staleIfError: seconds(f.staleIfError, 'staleIfError', base.staleIfError),
  };
}

function checkCtx(ctx: unknown): WaitUntil | undefined {
  if (ctx === undefined) return undefined;
  if (ctx === null || typeof (ctx as WaitUntil).waitUntil !== 'function') {
    throw new TypeError(`${WHO}: ctx must have a waitUntil method (the Worker's ExecutionContext)`);
  }
  return ctx as WaitUntil;
}

function checkStore(s: unknown, i: number): TierStore {
  const o = s as TierStore;
  if (
    o === null ||
    typeof o !== 'object' ||
    typeof o.name !== 'string' ||
    typeof o.get !== 'function' ||
    typeof o.put !== 'function' ||
    typeof o.delete !== 'function'
  ) {
    throw new TypeError(`${WHO}: stores[${i}] must have a name and get/put/delete methods (see TierStore)`);
  }
  if (o.maxKeyBytes !== undefined && !(typeof o.maxKeyBytes === 'number' && o.maxKeyBytes >= 71)) {
    throw new RangeError(`${WHO}: stores[${i}].maxKeyBytes must be a number >= 71 (a hashed key's length)`);
  }
  return o;
}

const newStoreStats = (tier: string): StoreTierStats => ({
  tier,
  hits: 0,
  misses: 0,
  stale_hits: 0,
  errors: 0,
  timeouts: 0,
  writes: 0,
  write_errors: 0,
  deletes: 0,
  delete_errors: 0,
});

const METRIC_HELP: Record<string, string> = {
  tiered_cache_requests_total: 'Lookups per tier of a tiered cache, by result (hit, stale, miss).',
  tiered_cache_loads_total: 'Loader calls of a tiered cache, by result (ok, error).',
  tiered_cache_refreshes_total: 'Background refreshes (stale-while-revalidate) of a tiered cache, by result.',
  tiered_cache_stale_served_total: 'Stale values served by a tiered cache, by reason (revalidate, error).',
  tiered_cache_store_errors_total: 'Store calls of a tiered cache that failed, by tier, operation and kind (error, timeout).',
};

/**
 * A cache in tiers: a bounded in-isolate {@link BoundedCache} (L1) over
 * shared stores (L2), filled by one loader per key. Make it once, at module
 * scope; pass the request's `ctx` to calls so background work outlives the
 * response.
 */
export class TieredCache<V = unknown> {
  readonly #l1: BoundedCache<Entry>;
  readonly #l1Cap: number;
  readonly #stores: readonly TierStore[];
  readonly #loads: SingleFlight;
  readonly #defaults: Settings;
  readonly #negativeTtl: number;
  readonly #timeoutMs: number;
  readonly #loadTimeoutMs: number;
  readonly #codec: Codec;
  readonly #metrics: MetricsCollector | undefined;
  readonly #name: string;
  readonly #now: () => number;
  readonly #l1Stats = { hits: 0, misses: 0, stale_hits: 0 };
  readonly #storeStats: StoreTierStats[];
  #loadCount = 0;
  #loadErrors = 0;
  #refreshes = 0;
  #refreshErrors = 0;
  #staleServed = 0;
  #staleIfError = 0;
  #negativeHits = 0;
  /** Background tasks running (for `idle()` and the stats). */
  readonly #background = new Set<Promise<unknown>>();
  /** Per key, the last store write or delete queued: they run in order. */
  readonly #queues = new Map<string, Promise<void>>();
  /** Errors the codec threw for a loaded value (never covered by a stale value). */
  readonly #refused = new WeakSet<object>();
  /** Counters whose HELP was set. */
  readonly #helped = new Set<string>();

  constructor(options: TieredOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${WHO}: options must be an object`);
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new TypeError(`${WHO}: option now must be a function returning ms since the epoch`);
    }
    this.#now = options.now ?? (() => Date.now());
    this.#defaults = freshness(options, { ttl: 60, staleWhileRevalidate: 0, staleIfError: 0 });
    this.#negativeTtl = seconds(options.negativeTtl, 'negativeTtl', 0);
    const timeout = options.storeTimeout ?? 1000;
    if (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout)) {
      throw new RangeError(`${WHO}: storeTimeout must be a finite number of ms > 0, got ${describe(timeout)}`);
    }
    this.#timeoutMs = timeout;
    const codec = options.codec ?? jsonCodec;
    if (codec === null || typeof codec.encode !== 'function' || typeof codec.decode !== 'function') {
      throw new TypeError(`${WHO}: codec must have encode and decode methods`);
    }
    this.#codec = codec;
    const stores = options.stores ?? [];
    if (!Array.isArray(stores)) throw new TypeError(`${WHO}: stores must be an array`);
    this.#stores = Object.freeze(stores.map(checkStore));
    this.#storeStats = this.#stores.map((s) => newStoreStats(s.name));
    const name = options.name ?? 'tiered';
    if (typeof name !== 'string') throw new TypeError(`${WHO}: name must be a string`);
    this.#name = name;
    const m = options.metrics;
    if (m !== undefined && (m === null || typeof m.increment !== 'function')) {
      throw new TypeError(`${WHO}: metrics must be a MetricsCollector`);
    }
    this.#metrics = m;
    const l1 = options.l1 ?? {};
    if (l1 === null || typeof l1 !== 'object') throw new TypeError(`${WHO}: l1 must be an object of BoundedCache options`);
    this.#l1Cap = seconds(l1.ttl, 'l1.ttl', Infinity);
    const loadTimeout = options.loadTimeout ?? 10_000;
    const maxPendingLoads = options.maxPendingLoads ?? 1000;
    if (typeof loadTimeout !== 'number' || Number.isNaN(loadTimeout) || loadTimeout < 0) {
      throw new RangeError(`${WHO}: loadTimeout must be a number of ms >= 0`);
    }
    if (!Number.isInteger(maxPendingLoads) || maxPendingLoads < 1) {
      throw new RangeError(`${WHO}: maxPendingLoads must be an integer >= 1`);
    }
    this.#loadTimeoutMs = Math.min(loadTimeout, 2_147_483_647);
    this.#loads = new SingleFlight(this.#loadTimeoutMs, maxPendingLoads);
    // Made last: nothing above can throw after it holds Wasm state.
    this.#l1 = new BoundedCache<Entry>({ now: this.#now, ...l1 });
  }

  /** The stores, fastest first. */
  get stores(): readonly TierStore[] {
    return this.#stores;
  }

  // -- lookups -------------------------------------------------------------

  /**
   * The value under `key`: fresh from L1, else fresh from the first store
   * that has it (which fills L1 and the stores before it), else the result
   * of `loader()` — one load per key at a time in this isolate — stored in
   * L1 at once and in every store in the background. Within the entry's
   * stale-while-revalidate window a stale value is served and one
   * background refresh runs; within its stale-if-error window a stale value
   * is served when the loader fails. A loader result of `null` or
   * `undefined` means "not found": served as `null`, cached for
   * `negativeTtl` seconds if that is > 0. Rejections are never cached.
   *
   * Rejects with the loader's error (when no stale value may stand in), a
   * `TypeError` for a non-string key, a non-function loader or a value the
   * codec cannot store (then nothing is written anywhere), a `RangeError`
   * for a key over L1's `maxKeyLength`. Never rejects for a store's fault.
   */
  getOrLoad<T = V>(key: string, loader: () => T | null | undefined | Promise<T | null | undefined>, options?: TieredCallOptions): Promise<T | null> {
    try {
      this.#checkKey(key);
      if (typeof loader !== 'function') throw new TypeError(`${WHO}: loader must be a function`);
      const f = freshness(options, this.#defaults);
      const ctx = checkCtx(options?.ctx);
      const now = this.#now();
      const e = this.#l1.get(key);
      let fallback: Entry | undefined;
      if (e !== null) {
        if (now <= e.fresh) {
          this.#l1Stats.hits++;
          this.#count('tiered_cache_requests_total', { tier: 'l1', result: 'hit' });
          return Promise.resolve(this.#valueOf(e, true) as T | null);
        }
        if (now <= e.revalidate) {
          this.#l1Stats.stale_hits++;
          this.#count('tiered_cache_requests_total', { tier: 'l1', result: 'stale' });
          this.#served('revalidate');
          this.#refresh(key, loader, f, ctx);
          return Promise.resolve(this.#valueOf(e, true) as T | null);
        }
        if (now <= e.ifError) fallback = e;
      }
      this.#l1Stats.misses++;
      this.#count('tiered_cache_requests_total', { tier: 'l1', result: 'miss' });
      const flight = this.#loads.load(
        key,
        () => this.#fetch(key, loader, f, 'load'),
        0,
        (k, r) => this.#settle(k, r, loader, f, ctx),
      );
      return flight.then(
        (r) => {
          if (r.how === 'if-error') this.#served('error');
          return this.#valueOf(r.entry, r.how !== 'loaded' && r.how !== 'uncached') as T | null;
        },
        (err: unknown) => {
          // A loader's failure may be covered by a stale value; a value the
          // codec refused may not (that is the caller's bug to see).
          if (fallback !== undefined && this.#now() <= fallback.ifError && !this.#refused.has(err as object)) {
            this.#served('error');
            return this.#valueOf(fallback, true) as T | null;
          }
          throw err;
        },
      );
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * The fresh value under `key` from L1 or a store (filling the tiers before
   * it), or `null`: absent, stale, or a cached "not found". Loads nothing.
   * Never rejects for a string key or a store's fault.
   */
  async get<T = V>(key: string, options?: Pick<TieredCallOptions, 'ctx'>): Promise<T | null> {
    this.#checkLookup(key);
    const ctx = checkCtx(options?.ctx);
    const e = this.#l1.get(key);
    if (e !== null && this.#now() <= e.fresh) {
      this.#l1Stats.hits++;
      this.#count('tiered_cache_requests_total', { tier: 'l1', result: 'hit' });
      return this.#valueOf(e, true) as T | null;
    }
    this.#l1Stats.misses++;
    this.#count('tiered_cache_requests_total', { tier: 'l1', result: 'miss' });
    if (key.length > this.#l1.maxKeyLength) return null;
    for (let i = 0; i < this.#stores.length; i++) {
      const got = await this.#storeGet(i, key);
      if (got !== undefined && this.#now() <= got.entry.fresh) {
        this.#hit(i, 'hit');
        this.#keep(key, got.entry, ctx, i, got.text);
        return this.#valueOf(got.entry, true) as T | null;
      }
      if (got !== undefined) this.#hit(i, 'miss');
    }
    return null;
  }

  /**
   * Stores `value` under `key` in every tier, fresh for `ttl` seconds (then
   * the stale windows), and resolves when the stores are written (a store's
   * failure is counted, not thrown). A load of `key` in flight will not
   * overwrite it. Rejects with a `TypeError` for a value the codec cannot
   * store (nothing is written then), a `RangeError` for a bad time or key.
   */
  async set(key: string, value: V | unknown, options?: TieredCallOptions): Promise<void> {
    this.#checkKey(key);
    const f = freshness(options, this.#defaults);
    const entry = this.#entryOf(value, f, false);
    const text = this.#stores.length > 0 ? this.#encode(key, entry) : '';
    this.#loads.written(key);
    this.#putL1(key, entry);
    await Promise.all(this.#stores.map((_, i) => this.#queue(key, () => this.#storePut(i, key, text, entry))));
  }

  /**
   * Deletes `key` from L1 and from every store, after any write of it this
   * isolate still has queued; resolves when the stores answered (failures
   * counted). Resolves to whether L1 held it. The consistency is each
   * store's: the Cache API deletes in this data centre only; a KV delete
   * takes up to ~60 s to be seen everywhere.
   */
  async del(key: string): Promise<boolean> {
    this.#checkLookup(key);
    this.#loads.written(key);
    const had = this.#l1.del(key);
    await Promise.all(this.#stores.map((_, i) => this.#queue(key, () => this.#storeDelete(i, key))));
    return had;
  }

  /**
   * Deletes from **L1 only** every key matched by `pattern` (as
   * {@link BoundedCache.delPattern}): stores cannot be scanned. Returns how
   * many keys were deleted. Delete store entries by key with {@link del}, or
   * keep their TTL short.
   */
  delPattern(pattern: string | RegExp): number {
    this.#checkOpen();
    const n = this.#l1.delPattern(pattern);
    this.#loads.writtenMatching(new RegExp(pattern));
    return n;
  }

  /** The keys L1 holds that `pattern` matches (to `del` them from the stores too). */
  keysMatching(pattern: string | RegExp): string[] {
    this.#checkOpen();
    const re = new RegExp(pattern);
    const out: string[] = [];
    for (const k of this.#l1.keys()) {
      re.lastIndex = 0;
      if (re.test(k)) out.push(k);
    }
    return out;
  }

  /** Empties L1 (stores are untouched: they cannot be listed). */
  clear(): void {
    this.#checkOpen();
    this.#loads.writtenAll();
    this.#l1.clear();
  }

  /** Resolves when the background work started so far (and what it started) is done. */
  async idle(): Promise<void> {
    while (this.#background.size > 0) await Promise.all([...this.#background]);
  }

  /** Counters per tier and of the loads; see {@link TieredStats}. */
  getStats(): TieredStats {
    this.#checkOpen();
    const s = this.#l1.getStats();
    const l1: L1TierStats = {
      tier: 'l1',
      ...this.#l1Stats,
      entries: s.total_entries,
      max_entries: s.max_entries,
      evictions: s.evictions,
    };
    return {
      tiers: [l1, ...this.#storeStats.map((x) => ({ ...x }))],
      loads: this.#loadCount,
      load_errors: this.#loadErrors,
      refreshes: this.#refreshes,
      refresh_errors: this.#refreshErrors,
      stale_served: this.#staleServed,
      stale_if_error_served: this.#staleIfError,
      negative_hits: this.#negativeHits,
      pending_background: this.#background.size,
    };
  }

  /** Frees L1's Wasm-side state; every method throws afterwards. */
  dispose(): void {
    this.#loads.writtenAll();
    this.#l1.dispose();
  }

  // -- the flight: stores, then the loader ---------------------------------

  async #fetch(key: string, loader: () => unknown, f: Settings, mode: 'load' | 'refresh'): Promise<Resolution> {
    let fallback: Entry | undefined;
    for (let i = 0; i < this.#stores.length; i++) {
      const found = await this.#storeGet(i, key);
      if (found === undefined) continue;
      const { entry: got, text } = found;
      const now = this.#now();
      if (now <= got.fresh) {
        this.#hit(i, 'hit');
        return { entry: got, how: 'hit', tier: i, text };
      }
      if (mode === 'load' && now <= got.revalidate) {
        this.#hit(i, 'stale');
        return { entry: got, how: 'stale', tier: i, text };
      }
      this.#hit(i, 'miss');
      if (now <= got.ifError && (fallback === undefined || got.ifError > fallback.ifError)) fallback = got;
    }
    this.#loadCount++;
    let value: unknown;
    try {
      value = await loader();
    } catch (err) {
      this.#loadErrors++;
      this.#count('tiered_cache_loads_total', { result: 'error' });
      if (mode === 'load' && fallback !== undefined && this.#now() <= fallback.ifError) {
        return { entry: fallback, how: 'if-error', tier: -1, text: '' };
      }
      throw err;
    }
    this.#count('tiered_cache_loads_total', { result: 'ok' });
    const negative = value === null || value === undefined;
    if (negative && this.#negativeTtl === 0) {
      return { entry: this.#entryOf(null, f, true), how: 'uncached', tier: -1, text: '' };
    }
    const entry = this.#entryOf(value, f, negative);
    // Encoded before anything is written: a value the codec refuses rejects
    // this load and leaves every tier as it was.
    const text = this.#stores.length > 0 ? this.#encode(key, entry) : '';
    return { entry, how: 'loaded', tier: -1, text };
  }

  /** A flight's outcome, stored (called only when the key was not written meanwhile). */
  #settle(key: string, r: Resolution, loader: () => unknown, f: Settings, ctx: WaitUntil | undefined): void {
    switch (r.how) {
      case 'loaded':
        this.#putL1(key, r.entry);
        for (let i = 0; i < this.#stores.length; i++) {
          this.#inBackground(ctx, this.#queue(key, () => this.#storePut(i, key, r.text, r.entry)));
        }
        return;
      case 'hit':
      case 'stale':
        this.#keep(key, r.entry, ctx, r.tier, r.text);
        if (r.how === 'stale') {
          this.#served('revalidate');
          this.#refresh(key, loader, f, ctx);
        }
        return;
      default:
        // if-error: the stale entry stays as it is; uncached: nothing to keep.
        return;
    }
  }

  /**
   * An entry found in store `tier` as `text`: into L1, and the very text
   * into the stores before it (nothing re-encoded).
   */
  #keep(key: string, e: Entry, ctx: WaitUntil | undefined, tier: number, text: string): void {
    this.#putL1(key, e);
    for (let i = 0; i < tier; i++) this.#inBackground(ctx, this.#queue(key, () => this.#storePut(i, key, text, e)));
  }

  /** One background refresh of `key` (none while a load of it is in flight). */
  #refresh(key: string, loader: () => unknown, f: Settings, ctx: WaitUntil | undefined): void {
    if (this.#loads.has(key)) return;
    this.#refreshes++;
    const p = this.#loads
      .load(
        key,
        () => this.#fetch(key, loader, f, 'refresh'),
        0,
        (k, r) => this.#settle(k, r, loader, f, ctx),
      )
      .then(
        () => this.#count('tiered_cache_refreshes_total', { result: 'ok' }),
        () => {
          // The stale value stays served until its window ends; a failed
          // refresh is counted and caches nothing.
          this.#refreshErrors++;
          this.#count('tiered_cache_refreshes_total', { result: 'error' });
        },
      );
    // A loader that never settles must not hold the background set (nor the
    // request's waitUntil) for ever: the refresh is let go at loadTimeout
    // plus what its store calls may take, as the single flight lets it go.
    this.#inBackground(ctx, p, this.#loadTimeoutMs + this.#timeoutMs * (this.#stores.length + 1));
  }

  // -- entries -------------------------------------------------------------

  #entryOf(value: unknown, f: Settings, negative: boolean): Entry {
    const now = this.#now();
    if (negative) {
      const until = now + this.#negativeTtl * 1000;
      return { value: null, fresh: until, revalidate: until, ifError: until, negative: true };
    }
    const fresh = now + f.ttl * 1000;
    return {
      value,
      fresh,
      revalidate: fresh + f.staleWhileRevalidate * 1000,
      ifError: fresh + f.staleIfError * 1000,
      negative: false,
    };
  }

  /** The store text of `e`; what the codec throws becomes a TypeError marked as a refusal. */
  #encode(key: string, e: Entry): string {
    try {
      return encodeEntry(key, e, this.#codec);
    } catch (err) {
      const refusal =
        err instanceof TypeError
          ? err
          : new TypeError(`${WHO}: the value under ${describe(key)} cannot be stored: ${(err as Error)?.message ?? String(err)}`);
      this.#refused.add(refusal);
      throw refusal;
    }
  }

  /** The value an entry stands for (`null` for "not found"); `cached`: served from a tier. */
  #valueOf(e: Entry, cached: boolean): unknown {
    if (!e.negative) return e.value;
    if (cached) this.#negativeHits++;
    return null;
  }

  /** Into L1 for the rest of its life, capped by `l1.ttl`; skipped if it cannot be kept. */
  #putL1(key: string, e: Entry): void {
    const life = Math.min(this.#l1Cap, (endOf(e) - this.#now()) / 1000);
    if (!(life > 0)) return;
    try {
      this.#l1.set(key, e, life);
    } catch (err) {
      // Larger than L1's maxBytes: served, kept in the stores, not in L1.
      if (!(err instanceof RangeError)) throw err;
    }
  }

  // -- store calls: bounded, counted, never thrown -------------------------

  /** Runs `op` after the store work already queued for `key` (so a delete follows a write). */
  #queue(key: string, op: () => Promise<void>): Promise<void> {
    const prev = this.#queues.get(key);
    const next = prev === undefined ? op() : prev.then(op);
    this.#queues.set(key, next);
    void next.then(() => {
      if (this.#queues.get(key) === next) this.#queues.delete(key);
    });
    return next;
  }

  /** Runs `p` as background work (counted, handed to `ctx.waitUntil`), for at most `limitMs` when given. */
  #inBackground(ctx: WaitUntil | undefined, p: Promise<unknown>, limitMs?: number): void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bounded =
      limitMs === undefined
        ? p
        : Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, limitMs)))]).finally(() => clearTimeout(timer));
    const task = bounded.then(
      () => undefined,
      () => undefined,
    );
    this.#background.add(task);
    void task.then(() => this.#background.delete(task));
    ctx?.waitUntil(task);
  }

  /** `fn()` within the store timeout; FAILED (counted) when it rejects, throws or hangs. */
  async #call<T>(i: number, op: 'get' | 'put' | 'delete', fn: () => Promise<T>): Promise<T | typeof FAILED> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), this.#timeoutMs);
    });
    const stats = this.#storeStats[i] as StoreTierStats;
    try {
      const r = await Promise.race([Promise.resolve().then(fn), deadline]);
      if (r !== TIMED_OUT) return r;
      stats.timeouts++;
      this.#count('tiered_cache_store_errors_total', { tier: stats.tier, op, kind: 'timeout' });
    } catch {
      stats.errors++;
      this.#count('tiered_cache_store_errors_total', { tier: stats.tier, op, kind: 'error' });
    } finally {
      clearTimeout(timer);
    }
    return FAILED;
  }

  /** The entry store `i` holds for `key`, or undefined (a miss is counted here). */
  async #storeGet(i: number, key: string): Promise<{ entry: Entry; text: string } | undefined> {
    const store = this.#stores[i] as TierStore;
    const text = await this.#call(i, 'get', async () => store.get(await storeKey(key, store.maxKeyBytes ?? Infinity)));
    if (text === FAILED) return undefined;
    const entry = typeof text === 'string' ? decodeEntry(key, text, this.#codec) : undefined;
    if (entry === undefined) {
      this.#hit(i, 'miss');
      return undefined;
    }
    return { entry, text: text as string };
  }

  async #storePut(i: number, key: string, text: string, e: Entry): Promise<void> {
    const life = (endOf(e) - this.#now()) / 1000;
    if (!(life > 0)) return;
    const store = this.#stores[i] as TierStore;
    const stats = this.#storeStats[i] as StoreTierStats;
    const r = await this.#call(i, 'put', async () => store.put(await storeKey(key, store.maxKeyBytes ?? Infinity), text, life));
    if (r === FAILED) stats.write_errors++;
    else stats.writes++;
  }

  async #storeDelete(i: number, key: string): Promise<void> {
    const store = this.#stores[i] as TierStore;
    const stats = this.#storeStats[i] as StoreTierStats;
    const r = await this.#call(i, 'delete', async () => store.delete(await storeKey(key, store.maxKeyBytes ?? Infinity)));
    if (r === FAILED) stats.delete_errors++;
    else stats.deletes++;
  }

  // -- counting ------------------------------------------------------------

  #hit(i: number, result: 'hit' | 'stale' | 'miss'): void {
    const stats = this.#storeStats[i] as StoreTierStats;
    if (result === 'hit') stats.hits++;
    else if (result === 'stale') stats.stale_hits++;
    else stats.misses++;
    this.#count('tiered_cache_requests_total', { tier: stats.tier, result });
  }

  #served(reason: 'revalidate' | 'error'): void {
    if (reason === 'revalidate') this.#staleServed++;
    else this.#staleIfError++;
    this.#count('tiered_cache_stale_served_total', { reason });
  }

  #count(name: string, labels: Record<string, string>): void {
    const m = this.#metrics;
    if (m === undefined) return;
    m.increment(name, 1, { cache: this.#name, ...labels });
    // HELP once a counter exists (the collector knows no name before).
    if (!this.#helped.has(name)) {
      this.#helped.add(name);
      m.setHelp(name, METRIC_HELP[name]);
    }
  }

  /** Its own message once disposed (L1's would name the cache module). */
  #checkOpen(): void {
    if (this.#l1.disposed) throw new Error(`${WHO}: this tiered cache was disposed (dispose()); use a live one`);
  }

  #checkLookup(key: unknown): asserts key is string {
    if (typeof key !== 'string') throw new TypeError(`${WHO}: key must be a string, got ${describe(key)}`);
    this.#checkOpen();
  }

  #checkKey(key: unknown): asserts key is string {
    this.#checkLookup(key);
    if (key.length > this.#l1.maxKeyLength) {
      throw new RangeError(`${WHO}: key is ${key.length} UTF-16 code units long; l1.maxKeyLength is ${this.#l1.maxKeyLength}`);
    }
  }
}
