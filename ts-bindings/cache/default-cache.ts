// The original module's surface: functions on one module-level cache per
// isolate, made on first use (importing the package creates nothing).
import { provideDefault } from '../engine.js';
import { BoundedCache } from './bounded-cache.js';
import type { BoundedCacheStats, CacheOptions, SetOptions } from './types.js';

let defaultCache: BoundedCache | undefined;

/** The module-level cache (what `get`, `set`, ... use). */
export function getDefaultCache(): BoundedCache {
  defaultCache ??= new BoundedCache({});
  return defaultCache;
}

provideDefault('cache', getDefaultCache);

/**
 * Replaces the module-level cache with one made with `options` (see
 * {@link CacheOptions}). Entries and counters of the previous one are
 * dropped, its loads in flight are not stored, and references to it (from
 * `getDefaultCache()`) throw from then on: call it once at start-up.
 */
export function configure(options: CacheOptions): void {
  const next = new BoundedCache(options);
  defaultCache?.dispose();
  defaultCache = next;
}

/** See {@link BoundedCache.get}. */
export function get<T>(key: string): T | null {
  return getDefaultCache().get<T>(key);
}

/**
 * See {@link BoundedCache.set}. `ttl` in seconds; default: the `ttl` given to
 * {@link configure}, else 300.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function set(key: string, data: any, ttl?: number, options?: SetOptions): void {
  getDefaultCache().set(key, data, ttl, options);
}

/** Deletes one key. */
export function del(key: string): void {
  getDefaultCache().del(key);
}

/** See {@link BoundedCache.delPattern}: unanchored JavaScript RegExp (source or `RegExp`). */
export function delPattern(pattern: string | RegExp): void {
  getDefaultCache().delPattern(pattern);
}

/** Removes all entries and resets hits and misses. */
export function clear(): void {
  getDefaultCache().clear();
}

/** The original's stats, plus evictions, expirations and bounds. */
export function getStats(): BoundedCacheStats {
  return getDefaultCache().getStats();
}

/** Full sweep of expired entries (also done incrementally on its own). */
export function cleanExpired(): void {
  getDefaultCache().cleanExpired();
}

/** See {@link BoundedCache.has}. */
export function has(key: string): boolean {
  return getDefaultCache().has(key);
}

/** See {@link BoundedCache.peek}. */
export function peek<T>(key: string): T | null {
  return getDefaultCache().peek<T>(key);
}

/** See {@link BoundedCache.getRemainingTTL}: seconds. */
export function getRemainingTTL(key: string): number {
  return getDefaultCache().getRemainingTTL(key);
}

/** See {@link BoundedCache.getOrLoad}: single-flight load-through. */
export function getOrLoad<T>(key: string, loader: () => T | Promise<T>, ttl?: number): Promise<T> {
  try {
    return getDefaultCache().getOrLoad<T>(key, loader, ttl);
  } catch (err) {
    return Promise.reject(err); // e.g. the engine failed to start
  }
}
