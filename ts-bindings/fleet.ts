// bounded-services/fleet — one view of every isolate's metrics: each
// isolate ships deltas of its collector (FleetShipper, or the
// `fleet` option of metricsMiddleware) to sharded Durable Objects
// (MetricsAggregator) that merge them exactly once and persist them; a
// scrape merges the shards (fleetPrometheusText). This file is the face:
// it only re-exports (the implementations are under ./fleet/).
export { FleetAggregator } from './fleet/aggregator.js';
export { getMemoryStats, ready, trapStats, type MemoryStats } from './memory.js';
export {
  MetricsAggregator,
  defineMetricsAggregator,
  type DurableObjectStateLike,
  type RequestLike,
  type SqlLike,
  type StorageLike,
} from './fleet/durable-object.js';
export { fleetPrometheusText, fleetSnapshot, type FleetScrapeOptions } from './fleet/scrape.js';
export { FleetShipper, fleetShipper, type FleetShipperOptions, type FleetShipperStats } from './fleet/shipper.js';
export type {
  DeltaResult,
  FleetAggregatorOptions,
  FleetSnapshot,
  NamespaceLike,
  ResponseLike,
  StubLike,
  WaitUntilLike,
} from './fleet/types.js';
