// Both services in a browser page, as a user would write it: imported by the
// package's name, built by plain Vite (its `browser` condition selects the
// browser entry, which fetches the .wasm once in `ready()`). Writes
// {"ok": ..., "checks": {...}} into #result.
import { BoundedCache, configure, get, getOrLoad, getStats, set } from 'bounded-services/cache';
import { MetricsCollector, PROMETHEUS_CONTENT_TYPE, metricsCollector } from 'bounded-services/metrics';
import { getMemoryStats, ready } from 'bounded-services';

const out = document.getElementById('result');
const checks = {};

function check(name, cond, detail) {
  checks[name] = cond ? true : `FAILED${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`;
}

async function main() {
  let early;
  try {
    get('x');
  } catch (e) {
    early = e;
  }
  check('using it before ready() is a clear error', /await ready\(\)/.test(String(early)), String(early));
  await ready();
  await ready(); // idempotent

  configure({ maxEntries: 3, policy: 'lru' });
  const v = { mood: 'calm' };
  set('mood:stats:1', v, 60);
  check('get returns the very object', get('mood:stats:1') === v);
  for (let i = 0; i < 10; i++) set(`k${i}`, i);
  check('bounded: at most maxEntries', getStats().total_entries === 3, getStats());
  check('LRU kept the newest', get('k9') === 9 && get('k0') === null);
  check('getOrLoad loads once', (await getOrLoad('feed', async () => [1, 2])).length === 2);
  const own = new BoundedCache({ maxEntries: 2 });
  own.set('a', 1);
  check('a BoundedCache of its own', own.get('a') === 1);
  own.dispose();

  metricsCollector.increment('http_requests_total', 1, { method: 'GET', path: '/api/moods/:id' });
  for (const ms of [5, 10, 20]) metricsCollector.recordResponseTime(ms);
  const text = metricsCollector.toPrometheusFormat();
  check('exposition counts the labelled request', text.includes('http_requests_total{method="GET",path="/api/moods/:id"} 1'), text.slice(0, 300));
  check('histogram in seconds', text.includes('http_request_duration_seconds_count 3'));
  check('exact p99 of the window', metricsCollector.getPercentile(99) === 20);
  check('content type', PROMETHEUS_CONTENT_TYPE.startsWith('text/plain; version=0.0.4'));
  const m = new MetricsCollector({ maxSeriesPerMetric: 1 });
  m.increment('a_total', 1, { k: '1' });
  m.increment('a_total', 1, { k: '2' });
  check('cardinality cap folds into overflow', m.toPrometheusFormat().includes('a_total{bs_overflow="true"} 1'));
  const mem = getMemoryStats();
  check('memory figures', mem.live_caches >= 1 && mem.wasm_memory_bytes > 0, mem);
  check('no trap', mem.traps === 0);
  return Object.values(checks).every((c) => c === true);
}

main().then(
  (ok) => {
    out.textContent = JSON.stringify({ ok, checks, userAgent: navigator.userAgent });
  },
  (err) => {
    out.textContent = JSON.stringify({ ok: false, checks, error: String(err && err.stack ? err.stack : err) });
  },
);
