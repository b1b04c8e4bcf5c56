// The bounded cache. Keys and values stay in JavaScript: a `Map` from key to
// an integer slot, and arrays indexed by slot holding the key and the very
// value that was stored (no copy, no serialization). The Rust core in
// WebAssembly owns everything else — recency order, expiry times, the byte
// budget, the timer wheel that reclaims expired entries, the counters — and
// is called with numbers only. A `get` hit is one `Map` lookup, one clock
// read and one Wasm call taking and returning numbers.
import { engine, ex, isTrap, Lifecycle, memoryU32, recover, guarded, type InstanceFigures } from '../engine.js';
import { checkResolution, makeClock } from '../clock.js';
import { describe } from '../describe.js';
import { approximateSize } from './size.js';
import { SingleFlight } from './single-flight.js';
import type { BoundedCacheStats, CacheOptions, SetOptions } from './types.js';

const SLOT_RADIX = 16_777_216; // must match the Rust side (2^24)
const DEFAULT_TTL = 300;
const DEFAULT_MAX_KEY_LENGTH = 16_384;

const ERRORS: Record<number, [typeof TypeError | typeof RangeError, string]> = {
  [-1]: [RangeError, 'maxEntries must be an integer from 1 to 16777216'],
  [-2]: [RangeError, 'maxBytes must be a positive number or Infinity'],
  [-3]: [RangeError, 'ttl must be a non-negative number of seconds or Infinity'],
  [-4]: [RangeError, 'entry size must be a number from 0 to 2^53 - 1'],
  [-5]: [RangeError, 'entry size exceeds maxBytes: it can never fit'],
  [-6]: [Error, 'internal error: unknown cache slot'],
};

function engineError(code: number, detail: string): Error {
  const [Ctor, message] = ERRORS[code] ?? [Error, `internal error ${code}`];
  return new Ctor(`bounded-services/cache: ${message}${detail}`);
}

function disposedError(): Error {
  return new Error(
    'bounded-services/cache: this cache was disposed (dispose(), or configure() replaced the module-level cache); use a live one',
  );
}

/** The original's sentinel for "not stored" in internal lookups. */
const ABSENT: unique symbol = Symbol('absent');

const lifecycle = new Lifecycle((h) => ex.engineCacheFree(h));

/** Marks the next cache constructed as the module-level one. */
let makingDefault = false;

/** @internal The module-level cache of `bounded-services/cache`. */
export function makeDefaultCache(options: CacheOptions): BoundedCache {
  makingDefault = true;
  try {
    return new BoundedCache(options);
  } finally {
    makingDefault = false;
  }
}

/**
 * A bounded TTL cache: string keys, any values (kept by reference), at most
 * `maxEntries` entries and `maxBytes` bytes, LRU eviction, expiry reclaimed
 * incrementally with bounded work per call.
 *
 * Each instance holds state in WebAssembly memory, which never shrinks: make
 * caches once, at module scope, and `dispose()` any you stop using.
 */
export class BoundedCache<V = unknown> {
  /** Engine handle; -1 once disposed. */
  #h = -1;
  readonly #keyToSlot = new Map<string, number>();
  #keys: (string | undefined)[] = [];
  #values: unknown[] = [];
  readonly #loads: SingleFlight;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #defaultTtlMs: number;
  readonly #maxKeyLength: number;
  readonly #now: () => number;
  readonly #sizeOf: ((value: unknown, key: string) => number) | undefined;
  readonly #budget: number;
  readonly #options: Readonly<CacheOptions>;
  readonly #isDefault = makingDefault;

  constructor(options: CacheOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError('bounded-services/cache: options must be an object');
    }
    const maxEntries = options.maxEntries ?? 1000;
    const maxBytes = options.maxBytes ?? Infinity;
    const ttl = options.ttl ?? DEFAULT_TTL;
    const maxKeyLength = options.maxKeyLength ?? DEFAULT_MAX_KEY_LENGTH;
    const budget = options.expireBudget ?? 8;
    const loadTimeout = options.loadTimeout ?? 10_000;
    const maxPendingLoads = options.maxPendingLoads ?? 1000;
    for (const [name, v] of [
      ['maxEntries', maxEntries],
      ['maxBytes', maxBytes],
      ['ttl', ttl],
      ['maxKeyLength', maxKeyLength],
      ['expireBudget', budget],
      ['loadTimeout', loadTimeout],
      ['maxPendingLoads', maxPendingLoads],
    ] as const) {
      if (typeof v !== 'number') {
        throw new TypeError(`bounded-services/cache: option ${name} must be a number, got ${describe(v)}`);
      }
    }
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > SLOT_RADIX) {
      throw new RangeError(`bounded-services/cache: maxEntries must be an integer from 1 to ${SLOT_RADIX}, got ${maxEntries}`);
    }
    if (Number.isNaN(maxBytes) || maxBytes <= 0) {
      throw new RangeError(`bounded-services/cache: maxBytes must be a positive number or Infinity, got ${maxBytes}`);
    }
    if (Number.isNaN(ttl) || ttl < 0) {
      throw new RangeError(`bounded-services/cache: ttl must be a non-negative number of seconds or Infinity, got ${ttl}`);
    }
    if (!Number.isInteger(maxKeyLength) || maxKeyLength < 0) {
      throw new RangeError(`bounded-services/cache: maxKeyLength must be a non-negative integer, got ${maxKeyLength}`);
    }
    if (!Number.isInteger(budget) || budget < 0) {
      throw new RangeError(`bounded-services/cache: expireBudget must be a non-negative integer, got ${budget}`);
    }
    if (Number.isNaN(loadTimeout) || loadTimeout < 0) {
      throw new RangeError(`bounded-services/cache: loadTimeout must be a number of ms >= 0, got ${loadTimeout}`);
    }
    if (!Number.isInteger(maxPendingLoads) || maxPendingLoads < 1) {
      throw new RangeError(`bounded-services/cache: maxPendingLoads must be an integer >= 1, got ${maxPendingLoads}`);
    }
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new TypeError('bounded-services/cache: option now must be a function returning milliseconds');
    }
    if (options.sizeCalculation !== undefined && typeof options.sizeCalculation !== 'function') {
      throw new TypeError('bounded-services/cache: option sizeCalculation must be a function');
    }
    this.#options = Object.freeze({ ...options });
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
    this.#defaultTtlMs = ttl * 1000;
    this.#maxKeyLength = maxKeyLength;
    this.#budget = budget;
    this.#loads = new SingleFlight(Math.min(loadTimeout, 2_147_483_647), maxPendingLoads);
    // The global Date.now looked up per call, not captured: fake timers
    // replace `Date` after this cache was made.
    this.#now = makeClock(options.now ?? (() => Date.now()), checkResolution(options.ttlResolution, 'bounded-services/cache'));
    this.#sizeOf =
      options.sizeCalculation ?? (Number.isFinite(maxBytes) ? (v, k) => approximateSize(v, k) : undefined);
    engine();
    guarded(() => this.#open());
  }

  /** The options this cache was made with. */
  get options(): Readonly<CacheOptions> {
    return this.#options;
  }

  #open(): void {
    const h = ex.engineCacheNew(this.#maxEntries, this.#maxBytes, this.#budget);
    if (h < 0) throw engineError(h, '');
    this.#h = h;
    lifecycle.adopt(this, h);
  }

  /** @internal Rebuilds after the Wasm instance was replaced (state lost). */
  onEngineReset(): void {
    if (this.#h < 0) return; // disposed: stays so, owns nothing on the new instance
    this.#forgetAll();
    this.#open();
  }

  /** @internal Figures for `getMemoryStats()`. */
  figures(): InstanceFigures {
    const m = this.memoryBytes();
    return {
      kind: 'cache',
      isDefault: this.#isDefault,
      entries: this.#keyToSlot.size,
      maxEntries: this.#maxEntries,
      keyBytes: m.key_bytes,
      trackedBytes: m.tracked_bytes,
      coreBytes: m.core_bytes,
    };
  }

  #forgetAll(): void {
    this.#keyToSlot.clear();
    this.#keys = [];
    this.#values = [];
    this.#loads.writtenAll();
  }

  /** A key to look up: any string (a key too long to store just misses). */
  #checkLookup(key: unknown): asserts key is string {
    if (typeof key !== 'string') {
      throw new TypeError(`bounded-services/cache: key must be a string, got ${describe(key)}`);
    }
  }

  /** A key to store: a string of at most `maxKeyLength` code units. */
  #checkKey(key: unknown): asserts key is string {
    this.#checkLookup(key);
    if (key.length > this.#maxKeyLength) {
      throw new RangeError(
        `bounded-services/cache: key is ${key.length} UTF-16 code units long; maxKeyLength is ${this.#maxKeyLength}`,
      );
    }
  }

  #checkOpen(): void {
    if (this.#h < 0) throw disposedError();
  }

  #ttlMs(ttl: unknown): number {
    if (ttl === undefined) return this.#defaultTtlMs;
    if (typeof ttl !== 'number') {
      throw new TypeError(`bounded-services/cache: ttl must be a number of seconds, got ${describe(ttl)}`);
    }
    if (Number.isNaN(ttl) || ttl < 0) {
      throw new RangeError(`bounded-services/cache: ttl must be a non-negative number of seconds or Infinity, got ${ttl}`);
    }
    return ttl * 1000;
  }

  /** Forgets the slots the last engine call freed (evicted or expired). */
  #drain(count: number): void {
    const base = ex.engineCacheFreedPtr(this.#h) >>> 2;
    const view = memoryU32();
    for (let i = 0; i < count; i++) this.#forgetSlot(view[base + i] as number);
  }

  /** Drops the key and releases the value of a slot the core freed. */
  #forgetSlot(slot: number): void {
    const key = this.#keys[slot];
    if (key !== undefined) {
      this.#keyToSlot.delete(key);
      this.#keys[slot] = undefined;
      this.#values[slot] = undefined;
    }
  }

  #lookup(key: string): unknown {
    const slot = this.#keyToSlot.get(key);
    if (slot === undefined) {
      // A disposed cache has no keys: every call of it comes here.
      if (this.#h < 0) throw disposedError();
      ex.engineCacheMiss(this.#h);
      return ABSENT;
    }
    const r = ex.engineCacheTouch(this.#h, slot, this.#now());
    if (r === 1) return this.#values[slot];
    // A hit that also reclaimed expired slots, or an expired entry.
    const value = (r & 1) === 1 ? this.#values[slot] : ABSENT;
    if (r > 1) this.#drain(r >>> 1);
    else if (r < 0) throw engineError(-6, ` (${slot})`);
    return value;
  }

  /**
   * The value stored under `key` — the very object that was `set` — or
   * `null` when absent or expired (`now > expires_at`). A hit makes the entry
   * the most recently used. Counts a hit or a miss. Never throws for a
   * string key: one longer than `maxKeyLength` is a miss.
   */
  get<T = V>(key: string): T | null {
    this.#checkLookup(key);
    let v: unknown;
    // try/catch inline rather than guarded(closure): no allocation per call.
    try {
      v = this.#lookup(key);
    } catch (err) {
      if (!isTrap(err)) throw err;
      recover(err);
      v = this.#lookup(key);
    }
    return v === ABSENT ? null : (v as T);
  }

  /**
   * Stores `data` under `key` for `ttl` seconds (default: the cache's
   * `ttl`, 300), replacing any entry. `ttl = 0` keeps the entry only while
   * the clock reads the same millisecond; `ttl = Infinity` never expires
   * (the entry can still be evicted). Evicts least recently used entries to
   * stay within `maxEntries` and `maxBytes`. A `getOrLoad` of this key in
   * flight will not overwrite it.
   * @throws TypeError for a non-string key or a non-number ttl/size;
   *   RangeError for a negative/NaN ttl, a key over `maxKeyLength`, or an
   *   entry larger than `maxBytes`. The cache is unchanged when it throws.
   */
  set(key: string, data: V | unknown, ttl?: number, options?: SetOptions): void {
    this.#checkKey(key);
    const ttlMs = this.#ttlMs(ttl);
    let size = options?.size;
    if (size === undefined) {
      size = this.#sizeOf === undefined ? 0 : this.#sizeOf(data, key);
    }
    if (typeof size !== 'number') {
      throw new TypeError(`bounded-services/cache: entry size must be a number, got ${describe(size)}`);
    }
    if (!(size >= 0 && size <= Number.MAX_SAFE_INTEGER)) {
      throw new RangeError(`bounded-services/cache: entry size must be a number from 0 to 2^53 - 1, got ${size}`);
    }
    if (size > this.#maxBytes) {
      throw new RangeError(`bounded-services/cache: entry size ${size} exceeds maxBytes ${this.#maxBytes}: it can never fit`);
    }
    if (this.#h < 0) throw disposedError();
    try {
      this.#store(key, data, ttlMs, size);
    } catch (err) {
      if (!isTrap(err)) throw err;
      recover(err);
      this.#store(key, data, ttlMs, size);
    }
    if (this.#loads.busy !== 0) this.#loads.written(key);
  }

  #store(key: string, data: unknown, ttlMs: number, size: number): void {
    const now = this.#now();
    const existing = this.#keyToSlot.get(key);
    if (existing !== undefined) {
      const r = ex.engineCacheUpdate(this.#h, existing, ttlMs, size, now);
      if (r < 0) throw engineError(r, '');
      if (r > 0) this.#drain(r);
      this.#values[existing] = data;
      return;
    }
    const r = ex.engineCacheInsert(this.#h, ttlMs, size, now);
    if (r < 0) throw engineError(r, '');
    const slot = r % SLOT_RADIX;
    if (r >= SLOT_RADIX) {
      // See engineCacheInsert: one freed slot comes in the result itself.
      const x = (r - slot) / SLOT_RADIX;
      if (x <= SLOT_RADIX) this.#forgetSlot(x - 1);
      else this.#drain(x - SLOT_RADIX - 1);
    }
    this.#keyToSlot.set(key, slot);
    this.#keys[slot] = key;
    this.#values[slot] = data;
  }

  /** Deletes `key`; returns whether it was stored. Never throws for a string key. */
  del(key: string): boolean {
    this.#checkLookup(key);
    this.#checkOpen();
    if (this.#loads.busy !== 0) this.#loads.written(key);
    const slot = this.#keyToSlot.get(key);
    if (slot === undefined) return false;
    guarded(() => {
      if (ex.engineCacheRemove(this.#h, slot) === 1) this.#drain(1);
    });
    return true;
  }

  /**
   * Deletes every key matched by `pattern`, a JavaScript regular expression
   * (source string or `RegExp`), unanchored as in the original: `"user:1"`
   * also matches `"user:12"`. An invalid pattern throws `SyntaxError` before
   * anything is deleted. Visits every key: O(n). Returns how many keys were
   * deleted.
   *
   * Risk: a pattern with catastrophic backtracking can take exponential time
   * per key (keys are at most `maxKeyLength` long). Build patterns from code,
   * never from request input, or escape the input.
   */
  delPattern(pattern: string | RegExp): number {
    if (typeof pattern !== 'string' && !(pattern instanceof RegExp)) {
      throw new TypeError(`bounded-services/cache: pattern must be a string or RegExp, got ${describe(pattern)}`);
    }
    const re = new RegExp(pattern);
    this.#checkOpen();
    const doomed: string[] = [];
    for (const key of this.#keyToSlot.keys()) {
      re.lastIndex = 0; // a /g or /y pattern must not skip keys
      if (re.test(key)) doomed.push(key);
    }
    if (this.#loads.busy !== 0) this.#loads.writtenMatching(re);
    for (const key of doomed) this.del(key);
    return doomed.length;
  }

  /** Whether `key` holds an unexpired value. Changes no recency or counter. */
  has(key: string): boolean {
    this.#checkLookup(key);
    this.#checkOpen();
    const slot = this.#keyToSlot.get(key);
    if (slot === undefined) return false;
    return guarded(() => ex.engineCachePeek(this.#h, slot, this.#now()) === 1);
  }

  /** The value under `key` like `get`, but changes no recency or counter. */
  peek<T = V>(key: string): T | null {
    return this.has(key) ? (this.#values[this.#keyToSlot.get(key) as number] as T) : null;
  }

  /**
   * Seconds until `key` expires: `Infinity` for an entry without expiry, 0
   * when absent or expired. Changes nothing.
   */
  getRemainingTTL(key: string): number {
    this.#checkLookup(key);
    this.#checkOpen();
    const slot = this.#keyToSlot.get(key);
    if (slot === undefined) return 0;
    const ms = guarded(() => ex.engineCacheRemainingTtl(this.#h, slot, this.#now()));
    return ms < 0 ? 0 : ms / 1000;
  }

  /**
   * The value under `key`, or else the result of `loader()`, stored for
   * `ttl` seconds. Concurrent calls for one key share one in-flight load
   * (single flight), for at most `loadTimeout` ms. A rejected load is not
   * cached and every waiter gets the rejection. Any write to the key while
   * its load runs (`set`, `del`, `delPattern`, `clear`, `configure`) wins:
   * the loaded value is returned to the waiters but not stored. Fails only
   * by rejecting, never by throwing.
   */
  getOrLoad<T = V>(key: string, loader: () => T | Promise<T>, ttl?: number): Promise<T> {
    try {
      this.#checkKey(key);
      if (typeof loader !== 'function') {
        throw new TypeError('bounded-services/cache: loader must be a function');
      }
      const ttlMs = this.#ttlMs(ttl);
      const hit = guarded(() => this.#lookup(key));
      if (hit !== ABSENT) return Promise.resolve(hit as T);
      return this.#loads.load(key, loader, ttlMs, (k, v, ms) => this.#storeLoaded(k, v, ms));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Stores a finished load's value (it was not written meanwhile). */
  #storeLoaded(key: string, value: unknown, ttlMs: number): void {
    if (this.#h >= 0) this.set(key, value, ttlMs / 1000);
  }

  /** Removes every entry and resets hits and misses (as the original). */
  clear(): void {
    this.#checkOpen();
    guarded(() => ex.engineCacheClear(this.#h));
    this.#forgetAll();
  }

  /**
   * Removes every expired entry now: a full O(n) sweep, as the original's
   * `cleanExpired()`. Not needed for boundedness — expired entries are
   * reclaimed incrementally and evicted first — but frees their values at
   * once. Returns how many were removed.
   */
  cleanExpired(): number {
    this.#checkOpen();
    return guarded(() => {
      const n = ex.engineCacheCleanExpired(this.#h, this.#now());
      if (n > 0) this.#drain(n);
      return n;
    });
  }

  /** Counters and bounds; see {@link BoundedCacheStats}. */
  getStats(): BoundedCacheStats {
    this.#checkOpen();
    return guarded(() => {
      const h = this.#h;
      return {
        hits: ex.engineCacheStat(h, 0),
        misses: ex.engineCacheStat(h, 1),
        hit_rate: ex.engineCacheStat(h, 7),
        total_entries: ex.engineCacheStat(h, 4),
        evictions: ex.engineCacheStat(h, 2),
        expirations: ex.engineCacheStat(h, 3),
        max_entries: this.#maxEntries,
        bytes: ex.engineCacheStat(h, 5),
        max_bytes: Number.isFinite(this.#maxBytes) ? this.#maxBytes : null,
        pending_loads: this.#loads.shared,
      };
    });
  }

  /** Number of stored entries (expired ones until reclaimed). */
  get size(): number {
    this.#checkOpen();
    return this.#keyToSlot.size;
  }

  /** The stored keys, least recently inserted first (expired ones included). */
  keys(): IterableIterator<string> {
    this.#checkOpen();
    return this.#keyToSlot.keys();
  }

  /** Approximate bytes this cache holds: tracked sizes, keys, and the core. */
  memoryBytes(): { tracked_bytes: number; key_bytes: number; core_bytes: number } {
    this.#checkOpen();
    return guarded(() => {
      const tracked = ex.engineCacheStat(this.#h, 5);
      const core = ex.engineCacheStat(this.#h, 6);
      // Counted after the engine calls: a recovery there forgets every key.
      let keyBytes = 0;
      for (const k of this.#keyToSlot.keys()) keyBytes += 2 * k.length;
      return { tracked_bytes: tracked, key_bytes: keyBytes, core_bytes: core };
    });
  }

  /** Whether `dispose()` was called (every other method then throws). */
  get disposed(): boolean {
    return this.#h < 0;
  }

  /**
   * Frees the Wasm-side state now. Every method but `dispose` and
   * `disposed` throws afterwards; loads in flight are not stored.
   */
  dispose(): void {
    if (this.#h < 0) return;
    lifecycle.release(this, this.#h);
    this.#h = -1;
    this.#forgetAll();
  }
}
