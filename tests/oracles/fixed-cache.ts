/**
 * Model of the "fixed" `src/services/cache.ts` that shipped after the seed
 * report (its options A+B+C), written from the last paragraph of the spec's
 * cache section. Same API and semantics as the original (see
 * ./original-cache.ts) plus:
 *
 *   B. MAX_CACHE_SIZE = 1000: when `set` finds the Map full it first deletes
 *      the oldest *inserted* key (FIFO on Map insertion order; `get` does not
 *      refresh recency).
 *   C. a full `cleanExpired()` from `get` at most every 5 minutes.
 *   A. on every `get` while `size > 100`, a scan from the start of the Map
 *      that stops after deleting 5 expired entries.
 *
 * Known bug kept on purpose, it is what the benchmarks measure against: when
 * fewer than 5 entries are expired the scan of (A) walks the whole Map, so
 * every `get` on a large cache costs O(n).
 */

import type { ClockOptions } from './clock.js';
import type { CacheEntry, CacheStats, OriginalCache } from './original-cache.js';

export const MAX_CACHE_SIZE = 1000;
/** ms: a full cleanExpired() from get() when strictly more than this has passed. */
export const CLEANUP_INTERVAL = 300_000;
/** The per-get scan runs only while size > this. */
export const SCAN_SIZE_THRESHOLD = 100;
/** The per-get scan stops after deleting this many expired entries. */
export const SCAN_MAX_DELETIONS = 5;

export interface FixedCacheOptions extends ClockOptions {
  /** MAX_CACHE_SIZE; default 1000. */
  maxSize?: number;
}

export type FixedCache = OriginalCache;

export function createFixedCache(options: FixedCacheOptions = {}): FixedCache {
  const now = options.now ?? Date.now;
  const maxSize = options.maxSize ?? MAX_CACHE_SIZE;
  const cache = new Map<string, CacheEntry>();
  let hits = 0;
  let misses = 0;
  // Module-load time in the original (`let lastCleanup = Date.now()`);
  // instance-creation time here. Not reset by clear().
  let lastCleanup = now();

  function cleanExpired(): void {
    const t = now();
    for (const [key, entry] of cache.entries()) {
      if (t > entry.expires_at) cache.delete(key);
    }
  }

  // Option A as shipped (5, only while size > 100). Walks from the start of
  // the Map and stops only once SCAN_MAX_DELETIONS entries were deleted, so
  // with fewer expired entries it visits all of them: O(n).
  function cleanExpiredBatch(t: number, maxClean: number): void {
    let cleaned = 0;
    for (const [key, entry] of cache.entries()) {
      if (cleaned >= maxClean) break;
      if (t > entry.expires_at) {
        cache.delete(key);
        cleaned++;
      }
    }
  }

  return {
    get<T = unknown>(key: string): T | null {
      const t = now();
      if (t - lastCleanup > CLEANUP_INTERVAL) {
        cleanExpired();
        lastCleanup = t;
      }
      if (cache.size > SCAN_SIZE_THRESHOLD) cleanExpiredBatch(t, SCAN_MAX_DELETIONS);

      const entry = cache.get(key);
      if (!entry) {
        misses++;
        return null;
      }
      if (t > entry.expires_at) {
        cache.delete(key);
        misses++;
        return null;
      }
      hits++;
      return entry.data as T;
    },

    set(key: string, data: unknown, ttl: number = 300): void {
      const t = now();
      // As in the seed's option B: the check is on size alone, so replacing an
      // existing key in a full cache still evicts the oldest key (the cache
      // then holds maxSize - 1 entries, unless the replaced key was the oldest).
      if (cache.size >= maxSize) {
        const firstKey = cache.keys().next().value;
        // The seed's fragment has `if (firstKey)`, which would never evict the
        // key "". The spec says the oldest inserted key is evicted; the spec wins.
        if (firstKey !== undefined) cache.delete(firstKey);
      }
      // Replacing a key that is still present keeps its Map position: FIFO
      // order is the order of first insertion, not of the last set.
      cache.set(key, { data, expires_at: t + ttl * 1000, created_at: t });
    },

    del(key: string): void {
      cache.delete(key);
    },

    delPattern(pattern: string): void {
      const re = new RegExp(pattern);
      for (const key of cache.keys()) {
        if (re.test(key)) cache.delete(key);
      }
    },

    clear(): void {
      cache.clear();
      hits = 0;
      misses = 0;
    },

    getStats(): CacheStats {
      const total = hits + misses;
      return {
        hits,
        misses,
        hit_rate: total > 0 ? (hits / (hits + misses)) * 100 : 0,
        total_entries: cache.size,
      };
    },

    cleanExpired,

    size(): number {
      return cache.size;
    },
  };
}
