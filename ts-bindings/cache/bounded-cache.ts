// The bounded cache. Keys and values stay in JavaScript: a `Map` from key to
// an integer slot, and arrays indexed by slot holding the key and the very
// value that was stored (no copy, no serialization). The Rust core in
// WebAssembly owns everything else — the eviction policy's queues, expiry
// times, the byte budget, the timer wheel that reclaims expired entries,
// the counters — and is called with numbers only. A `get` hit is one `Map` lookup, one clock
// read and one Wasm call taking and returning numbers.
import { Radix, Status } from '../../pkg/bounded_services_bg.js';
import { engine, ex, isTrap, Lifecycle, memoryU32, outNumbers, recover, guarded, type InstanceFigures } from '../engine.js';
import { engineError } from '../errors.js';
import { wbg } from '../glue.js';
import { checkResolution, clockOf, makeClock } from '../clock.js';
import { defaultClock } from '../platform.js';
import { describe } from '../describe.js';
import { approximateSize } from './size.js';
import { SingleFlight } from './single-flight.js';
import type { BoundedCacheStats, CacheOptions, SetOptions } from './types.js';

const SLOT_RADIX: number = Radix.Slot;
const NOT_ADMITTED: number = Status.NotAdmitted;
const TOO_LARGE: number = Status.TooLarge;
const WHO = 'bounded-services/cache';

/** A core's counters (src/bindings/cache.rs `cache_stats`). */
interface CoreStats {
  hits: number;
  misses: number;
  hit_rate: number;
  total_entries: number;
  evictions: number;
  expirations: number;
  bytes: number;
  core_bytes: number;
  rejected: number;
  promotions: number;
  policy_bytes: number;
}

/**
 * The 32-bit FNV-1a hash of a key's UTF-16 code units: how the frequency
 * sketch and the ghost queue know a key (collisions only blur two keys'
 * frequencies). Computed only under a policy other than LRU, only when a
 * new key is stored.
 */
function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

type NumberOption = 'maxEntries' | 'maxBytes' | 'ttl' | 'maxKeyLength' | 'expireBudget' | 'loadTimeout' | 'maxPendingLoads';

/**
 * A number option as given (`undefined` when absent). Its type is checked
 * here (numbers reach the engine as f64, so only JavaScript can tell a
 * string from a number); its range by whoever uses it: the core for its
 * own options, this facade for `loadTimeout` and `maxPendingLoads`.
 */
function numberOption(options: CacheOptions, name: NumberOption): number | undefined {
  const v = options[name];
  if (v !== undefined && typeof v !== 'number') {
    throw new TypeError(`${WHO}: option ${name} must be a number, got ${describe(v)}`);
  }
  return v;
}

function disposedError(): Error {
  return new Error(
    `${WHO}: this cache was disposed (dispose(), or configure() replaced the module-level cache); use a live one`,
  );
}

/** The original's sentinel for "not stored" in internal lookups. */
const ABSENT: unique symbol = Symbol('absent');

const lifecycle = new Lifecycle((h) => ex.engineCacheFree(h));

/**
 * A bounded TTL cache: string keys, any values (kept by reference), at most
 * `maxEntries` entries and `maxBytes` bytes, eviction by a choice of
 * policies (adaptive by default, or exact LRU), expiry reclaimed
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
  // The core's settings (bounds and defaults as it resolved them), copied
  // into plain number fields: read on hot paths.
  #maxEntries = 0;
  #maxBytes = 0;
  #defaultTtl = 0;
  #maxKeyLength = 0;
  /** Whether the policy needs a hash of each new key (any but LRU). */
  #hashed = false;
  #policy = 'lru';
  readonly #now: () => number;
  readonly #sizeOf: ((value: unknown, key: string) => number) | undefined;
  readonly #options: Readonly<CacheOptions>;

  /**
   * The core checks and resolves the options it owns (`maxEntries`,
   * `maxBytes`, `ttl`, `maxKeyLength`, `expireBudget`: a `TypeError` or
   * `RangeError` naming the option); this facade checks the ones only it
   * uses (`now`, `sizeCalculation`, `ttlResolution`, `loadTimeout`,
   * `maxPendingLoads`).
   */
  constructor(options: CacheOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`${WHO}: options must be an object`);
    }
    for (const name of ['maxEntries', 'maxBytes', 'ttl', 'maxKeyLength', 'expireBudget'] as const) {
      numberOption(options, name);
    }
    const loadTimeout = numberOption(options, 'loadTimeout') ?? 10_000;
    const maxPendingLoads = numberOption(options, 'maxPendingLoads') ?? 1000;
    if (Number.isNaN(loadTimeout) || loadTimeout < 0) {
      throw new RangeError(`${WHO}: loadTimeout must be a number of ms >= 0, got ${loadTimeout}`);
    }
    if (!Number.isInteger(maxPendingLoads) || maxPendingLoads < 1) {
      throw new RangeError(`${WHO}: maxPendingLoads must be an integer >= 1, got ${maxPendingLoads}`);
    }
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new TypeError(`${WHO}: option now must be a function returning milliseconds`);
    }
    if (options.sizeCalculation !== undefined && typeof options.sizeCalculation !== 'function') {
      throw new TypeError(`${WHO}: option sizeCalculation must be a function`);
    }
    if (options.policy !== undefined && typeof options.policy !== 'string') {
      throw new TypeError(`${WHO}: option policy must be a string, got ${describe(options.policy)}`);
    }
    const resolution = checkResolution(options.ttlResolution, WHO);
    this.#options = Object.freeze({ ...options });
    engine();
    guarded(() => this.#open());
    this.#loads = new SingleFlight(Math.min(loadTimeout, 2_147_483_647), maxPendingLoads);
    // The global Date.now looked up at call time, not captured: fake timers
    // replace `Date` after this cache was made.
    const base = options.now ?? clockOf(options.clock, defaultClock, WHO);
    this.#now = makeClock(base, resolution);
    this.#sizeOf =
      options.sizeCalculation ??
      (Number.isFinite(this.#maxBytes) ? (v, k) => approximateSize(v, k) : undefined);
  }

  /** The longest key it stores, in UTF-16 code units (`maxKeyLength` as resolved). */
  get maxKeyLength(): number {
    return this.#maxKeyLength;
  }

  /** The options this cache was made with. */
  get options(): Readonly<CacheOptions> {
    return this.#options;
  }

  #open(): void {
    const o = this.#options;
    const h = wbg.engineCacheNew(o.maxEntries, o.maxBytes, o.ttl, o.maxKeyLength, o.expireBudget, o.policy);
    if (h < 0) throw engineError(WHO);
    this.#h = h;
    const [maxEntries, maxBytes, ttl, maxKeyLength] = outNumbers(ex.engineCacheSettings(h), 4) as [number, number, number, number];
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
    this.#defaultTtl = ttl;
    this.#maxKeyLength = maxKeyLength;
    this.#policy = wbg.engineCachePolicy(h);
    this.#hashed = this.#policy !== 'lru';
    lifecycle.adopt(this, h);
  }

  #coreStats(): CoreStats {
    const [hits, misses, hit_rate, total_entries, evictions, expirations, bytes, core_bytes, rejected, promotions, policy_bytes] =
      outNumbers(ex.engineCacheStats(this.#h), 11) as [
        number, number, number, number, number, number, number, number, number, number, number,
      ];
    return { hits, misses, hit_rate, total_entries, evictions, expirations, bytes, core_bytes, rejected, promotions, policy_bytes };
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
      entries: this.#keyToSlot.size,
      maxEntries: this.#maxEntries,
      keyBytes: m.key_bytes,
      trackedBytes: m.tracked_bytes,
      coreBytes: m.core_bytes,
      policyBytes: m.policy_bytes,
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
        `${WHO}: key is ${key.length} UTF-16 code units long; maxKeyLength is ${this.#maxKeyLength}`,
      );
    }
  }

  #checkOpen(): void {
    if (this.#h < 0) throw disposedError();
  }

  /** A ttl in seconds: its type here (numbers arrive as f64), its range in the core. */
  #ttl(ttl: unknown): number {
    if (ttl === undefined) return this.#defaultTtl;
    if (typeof ttl !== 'number') {
      throw new TypeError(`${WHO}: ttl must be a number of seconds, got ${describe(ttl)}`);
    }
    return ttl;
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
    else if (r < 0) throw engineError(WHO);
    return value;
  }

  /**
   * The value stored under `key` — the very object that was `set` — or
   * `null` when absent or expired (`now > expires_at`). A hit counts as a
   * use for the eviction policy (under LRU: the entry is now the most
   * recently used). Counts a hit or a miss. Never throws for a string key:
   * one longer than `maxKeyLength` is a miss.
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
   * (the entry can still be evicted). Evicts entries chosen by the eviction
   * `policy` to stay within `maxEntries` and `maxBytes`; under a policy other
   * than `'lru'` a new entry larger than an eighth of `maxBytes` may be not
   * admitted (the cache unchanged, counted in `rejected`). A `getOrLoad` of this key in
   * flight will not overwrite it.
   * @throws TypeError for a non-string key or a non-number ttl/size;
   *   RangeError for a negative/NaN ttl, a key over `maxKeyLength`, or an
   *   entry larger than `maxBytes`. The cache is unchanged when it throws.
   */
  set(key: string, data: V | unknown, ttl?: number, options?: SetOptions): void {
    if (!this.#write(key, data, ttl, options)) throw engineError(WHO);
  }

  /**
   * `set`'s work. False when the core refused the entry as larger than
   * `maxBytes` (its error waits, the cache unchanged): `set` throws it,
   * a finished load returns its value unstored.
   */
  #write(key: string, data: unknown, ttl: number | undefined, options: SetOptions | undefined): boolean {
    this.#checkKey(key);
    const seconds = this.#ttl(ttl);
    let size = options?.size;
    if (size === undefined) {
      size = this.#sizeOf === undefined ? 0 : this.#sizeOf(data, key);
    }
    if (typeof size !== 'number') {
      throw new TypeError(`${WHO}: entry size must be a number, got ${describe(size)}`);
    }
    if (this.#h < 0) throw disposedError();
    let fits: boolean;
    try {
      fits = this.#store(key, data, seconds, size);
    } catch (err) {
      if (!isTrap(err)) throw err;
      recover(err);
      fits = this.#store(key, data, seconds, size);
    }
    if (fits && this.#loads.busy !== 0) this.#loads.written(key);
    return fits;
  }

  /**
   * The core checks ttl and size (ranges, maxBytes) and refuses with no
   * change; false for an entry that can never fit (`Status.TooLarge`).
   */
  #store(key: string, data: unknown, ttl: number, size: number): boolean {
    const now = this.#now();
    const existing = this.#keyToSlot.get(key);
    if (existing !== undefined) {
      const r = ex.engineCacheUpdate(this.#h, existing, ttl, size, now);
      if (r < 0) {
        if (r === TOO_LARGE) return false;
        throw engineError(WHO);
      }
      if (r > 0) this.#drain(r);
      this.#values[existing] = data;
      return true;
    }
    const r = ex.engineCacheInsert(this.#h, ttl, size, now, this.#hashed ? hashKey(key) : 0);
    if (r < 0) {
      // Refused by the policy (a large entry it has not seen often): not stored.
      if (r === NOT_ADMITTED) return true;
      if (r === TOO_LARGE) return false;
      throw engineError(WHO);
    }
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
    return true;
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
      const seconds = this.#ttl(ttl);
      const hit = guarded(() => this.#lookup(key));
      if (hit !== ABSENT) return Promise.resolve(hit as T);
      // On a miss, the ttl's range before the load, not when its value is stored.
      if (guarded(() => ex.engineCacheCheckTtl(seconds)) !== Status.Ok) throw engineError(WHO);
      return this.#loads.load(key, loader, seconds, (k, v, s) => this.#storeLoaded(k, v, s));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Stores a finished load's value (it was not written meanwhile). A value
   * larger than `maxBytes` is returned to the waiters unstored, as one the
   * policy does not admit: the load succeeded. Any other refusal (a size
   * `sizeCalculation` got wrong) rejects.
   */
  #storeLoaded(key: string, value: unknown, ttl: number): void {
    if (this.#h < 0) return;
    // It can never fit: its error is dropped, the value returned unstored.
    if (!this.#write(key, value, ttl, undefined)) wbg.engineTakeErrorMessage();
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
    const s = guarded(() => this.#coreStats());
    const maxBytes = this.#maxBytes;
    return {
      hits: s.hits,
      misses: s.misses,
      hit_rate: s.hit_rate,
      total_entries: s.total_entries,
      evictions: s.evictions,
      expirations: s.expirations,
      max_entries: this.#maxEntries,
      bytes: s.bytes,
      max_bytes: Number.isFinite(maxBytes) ? maxBytes : null,
      pending_loads: this.#loads.shared,
      policy: this.#policy as BoundedCacheStats['policy'],
      rejected: s.rejected,
      promotions: s.promotions,
      policy_bytes: s.policy_bytes,
    };
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

  /**
   * Approximate bytes this cache holds: tracked sizes, keys, and the core
   * (whose figure includes `policy_bytes`: the eviction policy's sketch,
   * ghost queue and shadow caches).
   */
  memoryBytes(): { tracked_bytes: number; key_bytes: number; core_bytes: number; policy_bytes: number } {
    this.#checkOpen();
    const s = guarded(() => this.#coreStats());
    // Counted after the engine call: a recovery there forgets every key.
    let keyBytes = 0;
    for (const k of this.#keyToSlot.keys()) keyBytes += 2 * k.length;
    return { tracked_bytes: s.bytes, key_bytes: keyBytes, core_bytes: s.core_bytes, policy_bytes: s.policy_bytes };
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
