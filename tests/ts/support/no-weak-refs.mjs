// Run before anything else (node --import): a platform without WeakRef and
// FinalizationRegistry, as Cloudflare Workers before compatibility date
// 2025-05-05. Then the cache and metrics work as usual and only dispose()
// frees (tests/ts/platform.test.ts).
delete globalThis.WeakRef;
delete globalThis.FinalizationRegistry;
const { BoundedCache, get, set } = await import('bounded-services/cache');
const { MetricsCollector, metricsCollector } = await import('bounded-services/metrics');
const { getMemoryStats } = await import('bounded-services');
const out = { weakRef: typeof WeakRef, finalizationRegistry: typeof FinalizationRegistry };
set('k', 'v');
out.moduleLevel = get('k');
for (let i = 0; i < 200; i++) {
  const c = new BoundedCache({ maxEntries: 10 });
  c.set('a', i);
  if (c.get('a') !== i) throw new Error('cache lost a value');
  c.dispose();
  const m = new MetricsCollector();
  m.increment('jobs_total', 1, { kind: 'x' });
  m.dispose();
}
metricsCollector.recordResponseTime(12);
out.p50 = metricsCollector.getPercentile(50);
out.liveCaches = getMemoryStats().live_caches;
process.stdout.write(JSON.stringify(out));
