// bounded-services: both modules as namespaces (`cache.get`, `metrics.
// metricsCollector`), their classes and constants by name, and the memory
// figures. The subpath imports `bounded-services/cache` and
// `bounded-services/metrics` mirror MoodMash's two modules one to one.
export * as cache from './cache.js';
export * as metrics from './metrics.js';
export { BoundedCache, approximateSize, configure as configureCache } from './cache.js';
export type { CacheOptions, BoundedCacheStats, CacheEntry, CacheStats, SetOptions } from './cache.js';
export {
  MetricsCollector,
  metricsCollector,
  metricsMiddleware,
  configure as configureMetrics,
  PROMETHEUS_CONTENT_TYPE,
  OVERFLOW_LABEL,
} from './metrics.js';
export type { Metric, MetricsSnapshot, MetricsOptions } from './metrics.js';
export { getMemoryStats, ready, trapStats, type MemoryStats } from './memory.js';
