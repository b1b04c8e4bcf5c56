// bounded-services/cache — a drop-in replacement for MoodMash's
// `src/services/cache.ts`, bounded in entries and bytes, with true LRU
// eviction and automatic, incremental expiry.
//
// Keys and values stay in JavaScript: a `Map` from key to an integer slot,
// and arrays indexed by slot holding the key and the very value that was
// stored (no copy, no serialization). The Rust core in WebAssembly owns
// everything else — recency order, expiry times, the byte budget, the timer
// wheel that reclaims expired entries, the counters — and is called with
// numbers only. A `get` hit is one `Map` lookup, one clock read and one Wasm
// call taking and returning numbers.
import {
  engine,
  HandleFinalizer,
  ex,
  isTrap,
  memoryU32,
  recover,
  track,
  trapStats,
  type Resettable,
} from './engine.js';
import { checkResolution, makeClock } from './clock.js';

/** An entry as the original module stored it (times in ms since epoch). */
export interface CacheEntry<T = unknown> {
  data: T;
  expires_at: number;
  created_at: number;
}

/** What `getStats()` returned in the original module. */
export interface CacheStats {
  hits: number;
  misses: number;
  /** `hits / (hits + misses) * 100`, or 0 before any lookup. */
  hit_rate: number;
  /** Stored entries, expired ones included until they are reclaimed. */
  total_entries: number;
}

/** `getStats()` of a bounded cache: the original's fields and more. */
export interface BoundedCacheStats extends CacheStats {
  /** Entries removed to respect `maxEntries` or `maxBytes`. */
  evictions: number;
  /** Expired entries removed (by a lookup, the wheel, or `cleanExpired`). */
  expirations: number;
  /** The entry bound. */
  max_entries: number;
  /** Sum of entry sizes (0 unless sizes are given or `maxBytes` is set). */
  bytes: number;
  /** The byte bound (`Infinity` when none). */
  max_bytes: number;
}

/** Options of a {@link BoundedCache} and of {@link configure}. */
export interface CacheOptions {
  /**
   * Hard bound on the number of entries. When full, a `set` of a new key
   * evicts the least recently used entry (a `get` hit counts as a use).
   * Integer from 1 to 16,777,216. Default 1000 (the original's shipped fix).
   */
  maxEntries?: number;
  /**
   * Bound on the sum of entry sizes, in bytes by convention. Entries are
   * evicted, least recently used first, to make room; an entry larger than
   * `maxBytes` alone is refused with a `RangeError`. Default `Infinity`
   * (no byte bound). With a finite `maxBytes`, each entry's size comes from
   * the `size` option of `set`, else from `sizeCalculation`.
   */
  maxBytes?: number;
  /**
   * Computes an entry's size when `set` is not given one. Must return a
   * finite number >= 0. Default: {@link approximateSize} of the key and value
   * when `maxBytes` is finite, else 0.
   */
  sizeCalculation?: (value: unknown, key: string) => number;
  /** Default time to live in seconds for `set` without a ttl. Default 300. */
  ttl?: number;
  /**
   * Longest key accepted, in UTF-16 code units; longer keys throw a
   * `RangeError`. Default 16,384.
   */
  maxKeyLength?: number;
  /**
   * The clock, in milliseconds. Default `Date.now`, read at each call that
   * needs the time (a lookup of a stored key, a set). Inject one for tests.
   * Time is kept monotonic: a clock stepping back is ignored.
   */
  now?: () => number;
  /**
   * Timer-wheel steps of expiry reclamation each call may spend (bounds the
   * worst single call). Default 8. Expired entries are never returned,
   * whatever this is.
   */
  expireBudget?: number;
  /**
   * Milliseconds one clock reading may be reused, as lru-cache's option of
   * the same name: saves the clock read (~47 ns in Node) on hot loops, at
   * the price of serving an entry up to this long after it expired. Uses a
   * timer to drop the reading. Default 0: the clock is read at every call
   * (exact). Keep 0 in Cloudflare Workers.
   */
  ttlResolution?: number;
  /**
   * Longest a `getOrLoad` caller waits for a load another caller started
   * (ms). Past it the other load is taken as stuck — e.g. its request was
   * cancelled — and this caller loads afresh. Default 10,000.
   */
  loadTimeout?: number;
}

/** Options of one `set`. */
export interface SetOptions {
  /** This entry's size (see `maxBytes`); overrides `sizeCalculation`. */
  size?: number;
}

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

function describe(v: unknown): string {
  if (typeof v === 'string') return v.length > 40 ? `a string of length ${v.length}` : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === null) return 'null';
  return typeof v;
}

/**
 * An approximate size in bytes of a key and value, for `maxBytes`:
 * strings count 2 bytes per UTF-16 code unit, numbers 8, typed arrays and
 * `ArrayBuffer`s their byte length, arrays and plain objects the sum of
 * their members plus 16 bytes each. Walks at most 10,000 members (cycles are
 * followed once), so its cost is bounded, and without recursion, so a deeply
 * nested value (a long linked list) cannot overflow the call stack. An
 * estimate of what the value holds, not of V8's exact heap use.
 */
export function approximateSize(value: unknown, key = ''): number {
  let budget = 10_000;
  let total = 2 * key.length;
  const seen = new Set<object>();
  // Values still to visit: at most `budget` of them wait here.
  const pending: unknown[] = [value];
  while (pending.length > 0 && budget > 0) {
    budget--;
    const v = pending.pop();
    switch (typeof v) {
      case 'string':
        total += 16 + 2 * v.length;
        break;
      case 'number':
      case 'bigint':
        total += 8;
        break;
      case 'boolean':
        total += 4;
        break;
      case 'object': {
        if (v === null || seen.has(v)) break;
        seen.add(v);
        if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
          total += 16 + v.byteLength;
          break;
        }
        total += 16;
        if (Array.isArray(v)) {
          for (const item of v) {
            if (pending.length >= budget) break;
            total += 8;
            pending.push(item);
          }
        } else {
          for (const k in v) {
            if (pending.length >= budget) break;
            total += 16 + 2 * k.length;
            pending.push((v as Record<string, unknown>)[k]);
          }
        }
        break;
      }
      default:
        total += 16;
    }
  }
  return total;
}

/** The original's sentinel for "not stored" in internal lookups. */
const ABSENT: unique symbol = Symbol('absent');

interface InFlight {
  promise: Promise<unknown>;
  /** Set when the key was deleted or the cache cleared during the load. */
  stale: boolean;
}

const finalizer = new HandleFinalizer((h) => ex.engineCacheFree(h));

/**
 * A bounded TTL cache: string keys, any values (kept by reference), at most
 * `maxEntries` entries and `maxBytes` bytes, LRU eviction, expiry reclaimed
 * incrementally with bounded work per call.
 */
export class BoundedCache<V = unknown> implements Resettable {
  #h = -1;
  readonly #keyToSlot = new Map<string, number>();
  #keys: (string | undefined)[] = [];
  #values: unknown[] = [];
  readonly #inflight = new Map<string, InFlight>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #defaultTtlMs: number;
  readonly #maxKeyLength: number;
  readonly #now: () => number;
  readonly #sizeOf: ((value: unknown, key: string) => number) | undefined;
  readonly #budget: number;
  readonly #loadTimeout: number;
  readonly #options: Readonly<CacheOptions>;

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
    for (const [name, v] of [
      ['maxEntries', maxEntries],
      ['maxBytes', maxBytes],
      ['ttl', ttl],
      ['maxKeyLength', maxKeyLength],
      ['expireBudget', budget],
      ['loadTimeout', loadTimeout],
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
    this.#loadTimeout = Math.min(loadTimeout, 2_147_483_647);
    this.#now = makeClock(options.now ?? Date.now, checkResolution(options.ttlResolution, 'bounded-services/cache'));
    this.#sizeOf =
      options.sizeCalculation ?? (Number.isFinite(maxBytes) ? (v, k) => approximateSize(v, k) : undefined);
    engine();
    try {
      this.#open();
    } catch (err) {
      // The instance trapped earlier and is unusable: replace it, retry.
      if (!isTrap(err)) throw err;
      recover(err);
      this.#open();
    }
    track(this);
  }

  /** The options this cache was made with. */
  get options(): Readonly<CacheOptions> {
    return this.#options;
  }

  #open(): void {
    const h = ex.engineCacheNew(this.#maxEntries, this.#maxBytes, this.#budget);
    if (h < 0) throw engineError(h, '');
    this.#h = h;
    finalizer.track(this, h);
  }

  /** @internal Rebuilds after the Wasm instance was replaced (state lost). */
  onEngineReset(): void {
    if (this.#h < 0) return; // disposed: stays so, owns nothing on the new instance
    finalizer.forget(this);
    this.#forgetAll();
    this.#open();
  }

  #forgetAll(): void {
    this.#keyToSlot.clear();
    this.#keys = [];
    this.#values = [];
    for (const f of this.#inflight.values()) f.stale = true;
    this.#inflight.clear();
  }

  #checkKey(key: unknown): asserts key is string {
    if (typeof key !== 'string') {
      throw new TypeError(`bounded-services/cache: key must be a string, got ${describe(key)}`);
    }
    if (key.length > this.#maxKeyLength) {
      throw new RangeError(
        `bounded-services/cache: key is ${key.length} UTF-16 code units long; maxKeyLength is ${this.#maxKeyLength}`,
      );
    }
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
    for (let i = 0; i < count; i++) this.#forgetSlot(view[base + i]);
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

  /** Runs `fn`; on a Wasm trap, recovers the instance and runs it once more. */
  #guard<R>(fn: () => R): R {
    try {
      return fn();
    } catch (err) {
      if (!isTrap(err)) throw err;
      recover(err);
      return fn();
    }
  }

  #lookup(key: string): unknown {
    const slot = this.#keyToSlot.get(key);
    if (slot === undefined) {
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
   * the most recently used. Counts a hit or a miss.
   */
  get<T = V>(key: string): T | null {
    this.#checkKey(key);
    let v: unknown;
    // try/catch inline rather than #guard(closure): no allocation per call.
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
   * stay within `maxEntries` and `maxBytes`.
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
    try {
      this.#store(key, data, ttlMs, size);
    } catch (err) {
      if (!isTrap(err)) throw err;
      recover(err);
      this.#store(key, data, ttlMs, size);
    }
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

  /** Deletes `key`; returns whether it was stored. */
  del(key: string): boolean {
    this.#checkKey(key);
    this.#markStale(key);
    const slot = this.#keyToSlot.get(key);
    if (slot === undefined) return false;
    this.#guard(() => {
      if (ex.engineCacheRemove(this.#h, slot) === 1) this.#drain(1);
    });
    return true;
  }

  #markStale(key: string): void {
    const f = this.#inflight.get(key);
    if (f !== undefined) {
      f.stale = true;
      this.#inflight.delete(key);
    }
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
    const doomed: string[] = [];
    for (const key of this.#keyToSlot.keys()) {
      re.lastIndex = 0; // a /g or /y pattern must not skip keys
      if (re.test(key)) doomed.push(key);
    }
    for (const key of this.#inflight.keys()) {
      re.lastIndex = 0;
      if (re.test(key)) this.#markStale(key);
    }
    for (const key of doomed) this.del(key);
    return doomed.length;
  }

  /** Whether `key` holds an unexpired value. Changes no recency or counter. */
  has(key: string): boolean {
    this.#checkKey(key);
    const slot = this.#keyToSlot.get(key);
    if (slot === undefined) return false;
    return this.#guard(() => ex.engineCachePeek(this.#h, slot, this.#now()) === 1);
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
    this.#checkKey(key);
    const slot = this.#keyToSlot.get(key);
    if (slot === undefined) return 0;
    const ms = this.#guard(() => ex.engineCacheRemainingTtl(this.#h, slot, this.#now()));
    return ms < 0 ? 0 : ms / 1000;
  }

  /**
   * The value under `key`, or else the result of `loader()`, stored for
   * `ttl` seconds. Concurrent calls for one key share one in-flight load
   * (single flight). A rejected load is not cached and every waiter gets the
   * rejection. If the key is deleted (`del`, `delPattern`, `clear`) while its
   * load runs, the loaded value is returned to the waiters but not stored.
   */
  getOrLoad<T = V>(key: string, loader: () => T | Promise<T>, ttl?: number): Promise<T> {
    this.#checkKey(key);
    if (typeof loader !== 'function') {
      return Promise.reject(new TypeError('bounded-services/cache: loader must be a function'));
    }
    const ttlMs = this.#ttlMs(ttl);
    const hit = this.#guard(() => this.#lookup(key));
    if (hit !== ABSENT) return Promise.resolve(hit as T);
    const pending = this.#inflight.get(key);
    if (pending !== undefined) return this.#join(key, pending, loader, ttlMs) as Promise<T>;
    return this.#startLoad(key, loader, ttlMs);
  }

  #startLoad<T>(key: string, loader: () => T | Promise<T>, ttlMs: number): Promise<T> {
    const flight: InFlight = { promise: undefined as unknown as Promise<unknown>, stale: false };
    const promise = (async () => {
      try {
        const value = await loader();
        if (!flight.stale) this.set(key, value, ttlMs / 1000);
        return value;
      } finally {
        if (this.#inflight.get(key) === flight) this.#inflight.delete(key);
      }
    })();
    flight.promise = promise;
    this.#inflight.set(key, flight);
    return promise;
  }

  /**
   * Waits for a load another caller started, for at most `loadTimeout` ms.
   * The pending timer also matters in Cloudflare Workers: there the other
   * caller is usually another request, and a request awaiting only a promise
   * that another request settles has nothing of its own pending, so workerd
   * may cancel it as hung (a 500, seen under load). Past the deadline the
   * joined load is taken as stuck (its request may have been cancelled and
   * will never settle it): it is dropped, its late result will not be
   * stored, and this caller loads afresh.
   */
  #join<T>(key: string, flight: InFlight, loader: () => T | Promise<T>, ttlMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        if (this.#inflight.get(key) === flight) {
          flight.stale = true;
          this.#inflight.delete(key);
        }
        const next = this.#inflight.get(key);
        (next !== undefined ? this.#join(key, next, loader, ttlMs) : this.#startLoad(key, loader, ttlMs)).then(
          resolve,
          reject,
        );
      }, this.#loadTimeout);
      // Not unref'd in Node: the deadline is real work still to come (a load
      // afresh) and is cleared as soon as the joined load settles.
      flight.promise.then(
        (v) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(v as T);
        },
        (e: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  /** Removes every entry and resets hits and misses (as the original). */
  clear(): void {
    this.#guard(() => ex.engineCacheClear(this.#h));
    this.#forgetAll();
  }

  /**
   * Removes every expired entry now: a full O(n) sweep, as the original's
   * `cleanExpired()`. Not needed for boundedness — expired entries are
   * reclaimed incrementally and evicted first — but frees their values at
   * once. Returns how many were removed.
   */
  cleanExpired(): number {
    return this.#guard(() => {
      const n = ex.engineCacheCleanExpired(this.#h, this.#now());
      if (n > 0) this.#drain(n);
      return n;
    });
  }

  /** Counters and bounds; see {@link BoundedCacheStats}. */
  getStats(): BoundedCacheStats {
    return this.#guard(() => {
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
        max_bytes: this.#maxBytes,
      };
    });
  }

  /** Number of stored entries (expired ones until reclaimed). */
  get size(): number {
    return this.#keyToSlot.size;
  }

  /** The stored keys, least recently inserted first (expired ones included). */
  keys(): IterableIterator<string> {
    return this.#keyToSlot.keys();
  }

  /** Approximate bytes this cache holds: tracked sizes, keys, and the core. */
  memoryBytes(): { tracked_bytes: number; key_bytes: number; core_bytes: number } {
    return this.#guard(() => {
      const tracked = ex.engineCacheStat(this.#h, 5);
      const core = ex.engineCacheStat(this.#h, 6);
      // Counted after the engine calls: a recovery there forgets every key.
      let keyBytes = 0;
      for (const k of this.#keyToSlot.keys()) keyBytes += 2 * k.length;
      return { tracked_bytes: tracked, key_bytes: keyBytes, core_bytes: core };
    });
  }

  /** Frees the Wasm-side state now; the cache is unusable afterwards. */
  dispose(): void {
    if (this.#h < 0) return;
    finalizer.release(this, this.#h);
    this.#h = -1;
    this.#forgetAll();
  }
}

// ---------------------------------------------------------------------------
// The original module's surface, on a module-level cache.
// ---------------------------------------------------------------------------

let defaultCache: BoundedCache | undefined;

function cache(): BoundedCache {
  defaultCache ??= new BoundedCache();
  return defaultCache;
}

/**
 * Replaces the module-level cache with one made with `options` (see
 * {@link CacheOptions}). Entries and counters of the previous one are
 * dropped: call it once at start-up.
 */
export function configure(options: CacheOptions): void {
  const next = new BoundedCache(options);
  defaultCache?.dispose();
  defaultCache = next;
}

/** The module-level cache (what `get`, `set`, ... use). */
export function getDefaultCache(): BoundedCache {
  return cache();
}

/** See {@link BoundedCache.get}. */
export function get<T>(key: string): T | null {
  return cache().get<T>(key);
}

/**
 * See {@link BoundedCache.set}. `ttl` in seconds; default: the `ttl` given to
 * {@link configure}, else 300.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function set(key: string, data: any, ttl?: number, options?: SetOptions): void {
  cache().set(key, data, ttl, options);
}

/** Deletes one key. */
export function del(key: string): void {
  cache().del(key);
}

/** See {@link BoundedCache.delPattern}: unanchored JavaScript RegExp. */
export function delPattern(pattern: string): void {
  cache().delPattern(pattern);
}

/** Removes all entries and resets hits and misses. */
export function clear(): void {
  cache().clear();
}

/** The original's stats, plus evictions, expirations and bounds. */
export function getStats(): BoundedCacheStats {
  return cache().getStats();
}

/** Full sweep of expired entries (also done incrementally on its own). */
export function cleanExpired(): void {
  cache().cleanExpired();
}

/** See {@link BoundedCache.has}. */
export function has(key: string): boolean {
  return cache().has(key);
}

/** See {@link BoundedCache.peek}. */
export function peek<T>(key: string): T | null {
  return cache().peek<T>(key);
}

/** See {@link BoundedCache.getRemainingTTL}: seconds. */
export function getRemainingTTL(key: string): number {
  return cache().getRemainingTTL(key);
}

/** See {@link BoundedCache.getOrLoad}: single-flight load-through. */
export function getOrLoad<T>(key: string, loader: () => T | Promise<T>, ttl?: number): Promise<T> {
  return cache().getOrLoad<T>(key, loader, ttl);
}

// ---------------------------------------------------------------------------
// The original module's pure helpers, kept as they were.
// ---------------------------------------------------------------------------

/** Cache key builders (unchanged from the original). */
export const CacheKeys = {
  moodStats: (userId: number | string) => `mood:stats:${userId}`,
  userMoods: (userId: number | string, limit?: number) => `mood:list:${userId}:${limit || 'all'}`,
  healthMetrics: (userId: number | string) => `health:metrics:${userId}`,
  socialFeed: (userId: number | string, limit?: number) => `social:feed:${userId}:${limit || 10}`,
  groupDetails: (groupId: number | string) => `group:details:${groupId}`,
  groupMembers: (groupId: number | string) => `group:members:${groupId}`,
  moodSync: (groupId: number | string) => `group:sync:${groupId}`,
  userFriends: (userId: number | string) => `social:friends:${userId}`,
  sharedMoods: (userId: number | string) => `social:shares:${userId}`,
  complianceStatus: () => 'hipaa:status',
  securityDashboard: () => 'security:dashboard',
  performanceDashboard: () => 'performance:dashboard',
};

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Pattern matching the keys of one id under the given prefixes, anchored:
 * `^(?:p1|p2):<id>(?::|$)`. The original's unanchored patterns let user 1's
 * invalidation delete user 12's keys; the id is also regex-escaped.
 */
function idPattern(prefixes: string, id: number | string): string {
  return `^(?:${prefixes}):${escapeRegExp(String(id))}(?::|$)`;
}

/**
 * Invalidation helpers. Fixed: patterns are anchored to the whole id, so
 * invalidating user 1 no longer deletes the keys of users 12 and 123.
 */
export const CacheInvalidation = {
  onMoodChange: (userId: number | string): void => {
    cache().delPattern(idPattern('mood:stats|mood:list', userId));
    cache().delPattern(idPattern('social:feed|social:shares', userId));
  },
  onHealthMetricsChange: (userId: number | string): void => {
    cache().delPattern(idPattern('health:metrics', userId));
  },
  onGroupChange: (groupId: number | string): void => {
    cache().delPattern(idPattern('group:details|group:members|group:sync', groupId));
  },
  onSocialChange: (userId: number | string): void => {
    cache().delPattern(idPattern('social:feed|social:friends|social:shares', userId));
  },
  onComplianceChange: (): void => {
    cache().del('hipaa:status');
    cache().del('security:dashboard');
  },
};

/** TTLs in seconds (unchanged). */
export const CacheTTL = {
  SHORT: 60,
  MEDIUM: 300,
  LONG: 900,
  VERY_LONG: 3600,
} as const;

/** HTTP caching headers for `ttl` seconds (unchanged). */
export function getCacheHeaders(ttl: number): Record<string, string> {
  return {
    'Cache-Control': `public, max-age=${ttl}`,
    'CDN-Cache-Control': `public, max-age=${ttl}`,
    'Cloudflare-CDN-Cache-Control': `public, max-age=${ttl}`,
  };
}

/** Headers that disable caching (unchanged). */
export function getNoCacheHeaders(): Record<string, string> {
  return {
    'Cache-Control': 'no-store, no-cache, must-revalidate, proxy-revalidate',
    Pragma: 'no-cache',
    Expires: '0',
  };
}

export { trapStats };
export { getMemoryStats, type MemoryStats } from './memory.js';
