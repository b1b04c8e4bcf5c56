// Test-only worker: trap recovery of bounded-services inside workerd.
//
// It imports the package's own build (dist/) by relative path, together with
// the engine's test hook, and hands the engine the test-trap .wasm, whose
// extra export `engineTestTrap()` executes `unreachable` while holding the
// core's borrow: the instance is then poisoned (every later call traps), as
// after a Rust panic. The next request must still be served.
//
//   GET /fill?n=N   stores N entries and counts a metric
//   GET /trap       traps the instance (through the test export)
//   GET /stats      cache size, traps recovered, instance generation
//   GET /metrics    the Prometheus text
// @ts-ignore -- a compiled WebAssembly.Module, by wrangler's default rule
import trapModule from '../../../pkg-test/bounded_services_bg.wasm';
import { ex, engineGeneration, useModuleForTesting } from '../../../dist/engine.js';
import { configure, get, getStats, set } from '../../../dist/cache.js';
import { metricsCollector, PROMETHEUS_CONTENT_TYPE } from '../../../dist/metrics.js';
import { getMemoryStats, trapStats } from '../../../dist/index.js';

useModuleForTesting(() => trapModule as WebAssembly.Module);
configure({ maxEntries: 100 });

function json(data: unknown, status = 200): Response {
  return new Response(JSON.stringify(data), { status, headers: { 'content-type': 'application/json' } });
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    switch (url.pathname) {
      case '/fill': {
        const n = Math.min(1000, Number(url.searchParams.get('n') ?? 10));
        for (let i = 0; i < n; i++) set(`k${i}`, { i }, 300);
        metricsCollector.increment('fills_total', 1, { route: '/fill' });
        return json({ stored: n, k0: get('k0') });
      }
      case '/trap': {
        try {
          (ex.engineTestTrap as () => void)();
          return json({ trapped: false }, 500);
        } catch (err) {
          return json({ trapped: err instanceof WebAssembly.RuntimeError, error: String(err) });
        }
      }
      case '/stats': {
        // Reading the stats goes through the engine: after a trap, this is the
        // call that finds the instance poisoned and recovers.
        const s = getStats();
        const m = getMemoryStats();
        return json({
          cache_size: s.total_entries,
          max_entries: s.max_entries,
          k0: get('k0'),
          traps: trapStats().traps,
          last_trap: trapStats().last_trap,
          generation: engineGeneration(),
          test_export: typeof ex.engineTestTrap === 'function',
          wasm_memory_bytes: m.wasm_memory_bytes,
        });
      }
      case '/metrics':
        return new Response(metricsCollector.toPrometheusFormat(), {
          headers: { 'content-type': PROMETHEUS_CONTENT_TYPE },
        });
      default:
        return json({ error: 'not found' }, 404);
    }
  },
};
