// A consumer of the whole public API, written the way MoodMash used the two
// original modules. Type-checked (never run) by scripts/test-types.sh with
// tsc --strict under moduleResolution bundler, node16, nodenext and node,
// lib ES2022 only, no ambient types, skipLibCheck false,
// noUncheckedIndexedAccess, noPropertyAccessFromIndexSignature and
// exactOptionalPropertyTypes.
import {
  BoundedCache,
  CacheInvalidation,
  CacheKeys,
  CacheTTL,
  approximateSize,
  cleanExpired,
  clear,
  configure,
  del,
  delPattern,
  get,
  getCacheHeaders,
  getDefaultCache,
  getMemoryStats,
  getNoCacheHeaders,
  getOrLoad,
  getRemainingTTL,
  getStats,
  has,
  peek,
  set,
  trapStats,
  type BoundedCacheStats,
  type CacheEntry,
  type CacheOptions,
  type CacheStats,
} from 'bounded-services/cache';
import {
  MetricsCollector,
  OVERFLOW_LABEL,
  PROMETHEUS_CONTENT_TYPE,
  configure as configureMetrics,
  metricsCollector,
  metricsMiddleware,
  type Metric,
  type MetricsOptions,
  type MetricsSnapshot,
} from 'bounded-services/metrics';
import * as all from 'bounded-services';
import { boundedServicesWasm } from 'bounded-services/vite';
import {
  CacheApiStore,
  KvStore,
  MemoryStore,
  TieredCache,
  jsonCodec,
  tieredInvalidation,
  type Codec,
  type KvNamespaceLike,
  type TieredStats,
  type TierStore,
} from 'bounded-services/tiered';
import {
  FleetAggregator,
  FleetShipper,
  MetricsAggregator,
  defineMetricsAggregator,
  fleetPrometheusText,
  fleetSnapshot,
  type DeltaResult,
  type FleetShipperStats,
  type FleetSnapshot,
  type NamespaceLike,
} from 'bounded-services/fleet';

interface MoodStats {
  average: number;
  count: number;
}

// --- cache, as src/services/cache.ts was used -----------------------------
export function moodStats(userId: number): MoodStats | null {
  const key = CacheKeys.moodStats(userId);
  const cached = get<MoodStats>(key);
  if (cached) return cached;
  const fresh: MoodStats = { average: 3.5, count: 10 };
  set(key, fresh, CacheTTL.MEDIUM);
  return fresh;
}

let ttl = CacheTTL.MEDIUM; // plain numbers, as the original's
ttl = CacheTTL.LONG;
set(CacheKeys.userMoods(1, 20), [], ttl);
set('k', { any: 'value' });
del(CacheKeys.socialFeed(1));
delPattern('^mood:');
clear();
cleanExpired();
const stats: CacheStats = getStats();
const rate: number = stats.hit_rate;
const bounded: BoundedCacheStats = getStats();
const maxBytes: number | null = bounded.max_bytes;
const present: boolean = has('k');
const peeked: MoodStats | null = peek<MoodStats>('k');
const remaining: number = getRemainingTTL('k');
CacheInvalidation.onMoodChange(1);
CacheInvalidation.onComplianceChange();
configure({ maxEntries: 500, ttl: 60, maxBytes: 1 << 20, sizeCalculation: (v) => approximateSize(v) });
const options: CacheOptions = { maxEntries: 100, now: () => 0, loadTimeout: 500, maxPendingLoads: 10 };
const turnCache = new BoundedCache({ clock: 'turn' });
turnCache.dispose();
const c = new BoundedCache<MoodStats>(options);
c.set('a', { average: 1, count: 1 }, 10, { size: 10 });
const a: MoodStats | null = c.get('a');
const n: number = c.delPattern(/a/);
const deleted: boolean = c.del('a');
const keys: string[] = [...c.keys()];
c.dispose();
export async function feed(userId: number): Promise<string[]> {
  return getOrLoad(CacheKeys.socialFeed(userId, 10), async () => ['post'], CacheTTL.SHORT);
}
const entry: CacheEntry<MoodStats> = { data: { average: 1, count: 1 }, expires_at: 0, created_at: 0 };

// Headers: exact object types, usable as a header record.
const h = getCacheHeaders(CacheTTL.SHORT);
const cacheControl: string = h['Cache-Control'];
const nc = getNoCacheHeaders();
const pragma: string = nc.Pragma;
const asRecord: Record<string, string> = getNoCacheHeaders();
const init: { headers: Record<string, string> } = { headers: getCacheHeaders(60) };

// --- metrics, as src/services/metrics.ts was used -------------------------
metricsCollector.increment('database_queries_total');
metricsCollector.increment('auth_attempts_total', 1, { method: 'password' });
metricsCollector.set('active_users', 'gauge', 42);
metricsCollector.recordResponseTime(12);
const p95: number = metricsCollector.getPercentile(95);
const snapshot: MetricsSnapshot = metricsCollector.getSnapshot();
const byEndpoint: number | undefined = snapshot.requests_by_endpoint['/api/moods/:id'];
const text: string = metricsCollector.toPrometheusFormat();
const contentType: string = PROMETHEUS_CONTENT_TYPE;
const overflow: string = OVERFLOW_LABEL;
const metric: Metric = { name: 'x', type: 'counter', value: 1 };
const mopts: MetricsOptions = { maxSeriesPerMetric: 100, buckets: [0.1, 1], staleAfterMs: 60_000, clock: 'call' };
configureMetrics(mopts);
const own = new MetricsCollector({ windowSize: 100 });
own.observe('payload_bytes', 100, { route: '/a' });
own.setHelp('payload_bytes', 'Payload sizes');
own.reset();
own.dispose();
const mw = metricsMiddleware();
const mw2 = metricsMiddleware(own);
const mw3 = metricsMiddleware({ collector: own });

// Memory figures, from either entry.
const mem = getMemoryStats();
const sizeNow: number = mem.cache_size;
const live: number = mem.live_caches;
const trapped: number = trapStats().traps;
const viaRoot: number = all.getMemoryStats().wasm_memory_bytes;
const rootGet: unknown = all.cache.get('k');
const rootMetrics: MetricsCollector = all.metrics.metricsCollector;
const defaultCache: BoundedCache = getDefaultCache();

// The tiered cache over a KV binding, the Cache API and a store of one's own.
declare const kvBinding: KvNamespaceLike;
declare const ctx: { waitUntil(p: Promise<unknown>): void };
const d1Store: TierStore = {
  name: 'd1',
  maxKeyBytes: 1024,
  get: async (_key: string) => null,
  put: async (_key: string, _text: string, _ttl: number) => {},
  delete: async (_key: string) => true,
};
const codec: Codec = jsonCodec;
const tiered = new TieredCache<MoodStats>({
  name: 'moods',
  l1: { maxEntries: 100, ttl: 30 },
  stores: [new CacheApiStore({ cache: 'moods' }), new KvStore({ namespace: () => kvBinding, prefix: 'm:' }), d1Store, new MemoryStore()],
  ttl: 60,
  staleWhileRevalidate: 30,
  staleIfError: 600,
  negativeTtl: 5,
  codec,
  metrics: own,
});
const loadedStats: Promise<MoodStats | null> = tiered.getOrLoad('k', async () => ({ average: 1, count: 1 }), { ctx, ttl: 10 });
const tieredStats: TieredStats = tiered.getStats();
const kvWrites: number | undefined = tieredStats.tiers[1]?.writes;
const invalidated: Promise<void> = tieredInvalidation(tiered).onMoodChange(1);

// Fleet metrics: a shipper in the middleware, the aggregator class a Worker
// exports, the scrape, and the aggregator itself (Node, tests).
declare const fleetNs: NamespaceLike;
const shipper = new FleetShipper({ namespace: 'FLEET_METRICS', shards: 2, intervalMs: 5000, collector: own });
const mwFleet = metricsMiddleware({ collector: own, fleet: shipper });
const shipped: FleetShipperStats = shipper.stats();
const Aggregator: typeof MetricsAggregator = defineMetricsAggregator({ buckets: [0.1, 1], maxIsolates: 100 });
const fleetText: Promise<string> = fleetPrometheusText(fleetNs, { shards: 2 });
const fleetView: Promise<FleetSnapshot> = fleetSnapshot(fleetNs);
const agg = new FleetAggregator({ sketchSlots: 10 });
const applied: DeltaResult = agg.apply(new Uint8Array(0));
const fleetP99: number = agg.getSnapshot().response_time_p99;

// The Vite plugin's object, as a plugin list entry.
const plugin = boundedServicesWasm();
const pluginName: string = plugin.name;

export const used = [
  rate, maxBytes, present, peeked, remaining, a, n, deleted, keys, entry, cacheControl, pragma, asRecord, init,
  p95, byEndpoint, text, contentType, overflow, metric, mw, mw2, mw3, sizeNow, live, trapped, viaRoot, rootGet,
  rootMetrics, defaultCache, pluginName, loadedStats, kvWrites, invalidated,
  mwFleet, shipped, Aggregator, fleetText, fleetView, applied, fleetP99,
];
