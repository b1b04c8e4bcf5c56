// The cache's public types: options, stats, the original's entry shape.

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
  /**
   * The byte bound, or `null` when there is none (`maxBytes: Infinity`):
   * explicit, and what JSON would turn `Infinity` into anyway.
   */
  max_bytes: number | null;
  /** Loads of `getOrLoad` in flight and shared now (at most `maxPendingLoads`). */
  pending_loads: number;
  /** The eviction policy. */
  policy: EvictionPolicy;
  /** New entries the policy did not admit (see {@link CacheOptions.policy}). */
  rejected: number;
  /** Entries the policy promoted (S3-FIFO: small to main; W-TinyLFU: probation to protected). */
  promotions: number;
  /** Bytes of the policy's frequency sketch, ghost queue and shadow caches (0 under LRU). */
  policy_bytes: number;
}

/** The eviction policies; see {@link CacheOptions.policy}. */
export type EvictionPolicy = 'lru' | 's3-fifo' | 'w-tinylfu' | 'adaptive';

/** Options of a {@link BoundedCache} and of {@link configure}. */
export interface CacheOptions {
  /**
   * Hard bound on the number of entries. When full, a `set` of a new key
   * evicts one entry, chosen by {@link CacheOptions.policy}.
   * Integer from 1 to 16,777,216. Default 1000 (the original's shipped fix).
   */
  maxEntries?: number;
  /**
   * Which entry leaves when room is needed (all keep `maxEntries` and
   * `maxBytes` exactly, honour TTLs, and leave `peek`/`has` without
   * effect):
   * - `'lru'`: exact least recently used. Best when recent keys are the
   *   likely next ones (sessions, shifting popularity).
   * - `'s3-fifo'`: a small FIFO that filters one-hit wonders, a main FIFO
   *   with reinsertion, a ghost queue of recently filtered keys (hashes
   *   only, at most as many as the main queue holds). Scan-resistant;
   *   strongest on web-like skewed traffic.
   * - `'w-tinylfu'`: a 1 % LRU window before a segmented LRU guarded by a
   *   frequency sketch (8 to 16 bytes per entry), which admits a new key
   *   only if it is seen more often than the entry it would evict. Best on
   *   frequency-heavy traffic and loops a little larger than the cache.
   * - `'adaptive'` (the default): runs S3-FIFO or W-TinyLFU, whichever
   *   hits more in two small shadow caches replaying a hash-sampled share
   *   of the requests (set dueling); a switch moves no entry.
   *
   * Under the last three a `set` of a new key larger than an eighth of
   * `maxBytes` may be refused (the cache stays as it was; counted in
   * `rejected`) when the policy has not seen it more often than what it
   * would evict: one large one-hit wonder cannot flush the cache. Default
   * `'adaptive'`, chosen by the hit-ratio measurements in BENCHMARKS.md.
   */
  policy?: EvictionPolicy;
  /**
   * Bound on the sum of entry sizes, in bytes by convention. Entries are
   * evicted in the policy's order to make room; an entry larger than
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
   * The clock, in milliseconds. Default: the global `Date.now()`, looked up
   * at each call that needs the time (a lookup of a stored key, a set), so
   * fake timers installed later (`vi.useFakeTimers()`,
   * `@sinonjs/fake-timers`, `vi.setSystemTime`) reach a cache made at import
   * time. When the clock steps back, time goes on from where it was: no
   * entry ever lives past its expiry by this clock, nor longer than its TTL
   * of elapsed time.
   */
  now?: () => number;
  /**
   * How the default clock (no `now`) reads `Date.now()`: `'call'`, at every
   * call that needs the time (exact; the default in Node and browsers), or
   * `'turn'`, once per turn of the event loop, reused until a microtask
   * clears it (the default in Cloudflare Workers, where `Date.now()` only
   * advances at I/O, so it is exact there; elsewhere a long synchronous
   * stretch sees one time, and saves the ~40 ns a `Date.now()` costs).
   * While fake timers are installed, `'turn'` reads at every call.
   */
  clock?: 'call' | 'turn';
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
   * Longest a `getOrLoad` load is shared, and a caller waits for a load
   * another caller started (ms). Past it the load is taken as stuck — e.g.
   * its request was cancelled — and dropped: its late result is not stored,
   * and the next caller loads afresh. Default 10,000.
   */
  loadTimeout?: number;
  /**
   * Most `getOrLoad` loads shared at once (distinct keys in flight). Past
   * it, a load runs unshared: its callers still get its value, and it is
   * stored only if nothing was written to the cache while it ran. Integer
   * from 1. Default 1000.
   */
  maxPendingLoads?: number;
}

/** Options of one `set`. */
export interface SetOptions {
  /** This entry's size (see `maxBytes`); overrides `sizeCalculation`. */
  size?: number;
}

