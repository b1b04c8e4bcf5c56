// bounded-services/metrics — a drop-in replacement for MoodMash's
// `src/services/metrics.ts`: one series per label set with a cardinality
// cap, stale-series expiry, an O(1) response-time window with exact
// percentiles, and a valid Prometheus text exposition. This file is the
// face: it only re-exports (the implementations are under ./metrics/).
export { MetricsCollector } from './metrics/collector.js';
export { configure, metricsCollector } from './metrics/default-collector.js';
export {
  metricsMiddleware,
  OVERLONG_LABEL_VALUE,
  type FleetShipperLike,
  type HonoLikeContext,
  type MetricsMiddlewareOptions,
  type WaitUntilLike,
} from './metrics/middleware.js';
export {
  OVERFLOW_LABEL,
  PROMETHEUS_CONTENT_TYPE,
  type Metric,
  type MetricsOptions,
  type MetricsSnapshot,
} from './metrics/types.js';
export { getMemoryStats, ready, trapStats, type MemoryStats } from './memory.js';
