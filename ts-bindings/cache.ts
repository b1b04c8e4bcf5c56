// bounded-services/cache — a drop-in replacement for MoodMash's
// `src/services/cache.ts`, bounded in entries and bytes, with true LRU
// eviction and automatic, incremental expiry. This file is the face: it
// only re-exports (the implementations are under ./cache/).
export { BoundedCache } from './cache/bounded-cache.js';
export { approximateSize } from './cache/size.js';
export {
  cleanExpired,
  clear,
  configure,
  del,
  delPattern,
  get,
  getDefaultCache,
  getOrLoad,
  getRemainingTTL,
  getStats,
  has,
  peek,
  set,
} from './cache/default-cache.js';
export {
  CacheInvalidation,
  CacheKeys,
  CacheTTL,
  getCacheHeaders,
  getNoCacheHeaders,
  type CacheHeaders,
  type NoCacheHeaders,
} from './cache/moodmash.js';
export type { BoundedCacheStats, CacheEntry, CacheOptions, CacheStats, EvictionPolicy, SetOptions } from './cache/types.js';
export { getMemoryStats, ready, trapStats, type MemoryStats } from './memory.js';
