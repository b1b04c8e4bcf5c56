// bounded-services: the cache and the metrics collector, and the memory
// figures of both. Prefer the subpath imports `bounded-services/cache` and
// `bounded-services/metrics`, which mirror MoodMash's two modules.
export { BoundedCache, approximateSize, configure as configureCache } from './cache.js';
export type { CacheOptions, BoundedCacheStats, CacheEntry, CacheStats, SetOptions } from './cache.js';
export {
  MetricsCollector,
  metricsCollector,
  metricsMiddleware,
  PROMETHEUS_CONTENT_TYPE,
  OVERFLOW_LABEL,
} from './metrics.js';
export type { Metric, MetricsSnapshot, MetricsOptions } from './metrics.js';
export { getMemoryStats, type MemoryStats } from './memory.js';
export { trapStats } from './engine.js';
