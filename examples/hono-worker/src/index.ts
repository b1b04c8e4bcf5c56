// A small Hono app shaped like MoodMash, on bounded-services.
//
// In MoodMash these two imports read `./services/cache` and
// `./services/metrics`; swapping them for the package is the whole change.
import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { HTTPException } from 'hono/http-exception';
import {
  BoundedCache,
  CacheInvalidation,
  CacheKeys,
  CacheTTL,
  configure,
  getOrLoad,
  getStats,
} from 'bounded-services/cache';
import {
  getMemoryStats,
  metricsCollector,
  metricsMiddleware,
  PROMETHEUS_CONTENT_TYPE,
} from 'bounded-services/metrics';
import { trapStats } from 'bounded-services';
import { CacheApiStore, KvStore, TieredCache, tieredInvalidation, type KvNamespaceLike } from 'bounded-services/tiered';
import { FleetShipper, fleetPrometheusText, type NamespaceLike } from 'bounded-services/fleet';

// The fleet's aggregator: a Durable Object class this Worker defines
// (wrangler.toml binds it as FLEET_METRICS, with its migration).
export { MetricsAggregator } from 'bounded-services/fleet';

/** The cache's entry bound: small, so the bound shows under load. */
const CACHE_MAX_ENTRIES = 500;
configure({ maxEntries: CACHE_MAX_ENTRIES });

/** How long the simulated database takes, in ms. */
const DB_LATENCY_MS = 5;

// Counters of this isolate (bounded: numbers only).
let dbReads = 0;
let dbWrites = 0;

function sleep(ms: number): Promise<void> {
  // `scheduler.wait` in Workers; setTimeout elsewhere.
  const s = (globalThis as { scheduler?: { wait?: (ms: number) => Promise<void> } }).scheduler;
  if (s?.wait) return s.wait(ms);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Mood {
  id: number;
  mood: string;
  intensity: number;
}

const MOODS = ['happy', 'calm', 'tired', 'anxious', 'excited', 'sad'];

/** The "database": a slow read that derives a user's moods from the id. */
async function loadMoods(userId: string): Promise<{ userId: string; moods: Mood[]; loadedAt: number }> {
  dbReads++;
  metricsCollector.increment('database_queries_total', 1, { op: 'select' });
  await sleep(DB_LATENCY_MS);
  let h = 0;
  for (const ch of userId) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const moods: Mood[] = [];
  for (let i = 0; i < 3; i++) {
    moods.push({ id: i + 1, mood: MOODS[(h + i) % MOODS.length], intensity: ((h >>> i) % 10) + 1 });
  }
  return { userId, moods, loadedAt: Date.now() };
}

// The same reads through tiers: this isolate's bounded cache, then the
// data centre's Cache API, then KV (shared by every isolate everywhere),
// then the database. Fresh for 5 minutes; for a minute after that a stale
// value is served while one background refresh runs; for an hour after
// that a stale value is served if the database fails. Bindings arrive with
// each request, so the KV store reads its namespace lazily.
interface Bindings {
  MOODS_KV?: KvNamespaceLike;
  /** The fleet aggregators (absent in the Pages build: Pages cannot define Durable Objects). */
  FLEET_METRICS?: NamespaceLike;
  /** Bearer token of GET /metrics/fleet (a secret in production: `wrangler secret put METRICS_TOKEN`). */
  METRICS_TOKEN?: string;
}
let bindings: Bindings = {};
const tieredMoods = new TieredCache({
  name: 'moods',
  l1: { maxEntries: CACHE_MAX_ENTRIES },
  stores: [new CacheApiStore(), new KvStore({ namespace: () => bindings.MOODS_KV as KvNamespaceLike, prefix: 'moods:' })],
  ttl: CacheTTL.MEDIUM,
  staleWhileRevalidate: 60,
  staleIfError: 3600,
  metrics: metricsCollector,
});
const tieredInvalidate = tieredInvalidation(tieredMoods);

type AppEnv = { Bindings: Bindings };
const app = new Hono<AppEnv>();

// This isolate's metrics go to two aggregator shards every 10 s (or 1000
// requests), in the background; GET /metrics/fleet serves their merge.
const FLEET_SHARDS = 2;
const fleet = new FleetShipper({ namespace: 'FLEET_METRICS', shards: FLEET_SHARDS });

// Every route is measured; the path label is the route pattern.
app.use('*', metricsMiddleware({ fleet }));

app.get('/', (c) =>
  c.json({
    name: 'bounded-services example',
    routes: [
      'GET /api/moods/:userId',
      'POST /api/moods/:userId',
      'GET /api/boom',
      'GET /api/tiered/moods/:userId',
      'POST /api/tiered/moods/:userId',
      'GET /api/tiered/stats',
      'GET /api/cache/stats',
      'GET /api/clock',
      'GET /api/health/memory',
      'GET /metrics',
      'GET /api/monitoring/metrics',
      'GET /metrics/fleet',
      'GET /api/fleet/flush',
    ],
  }),
);

app.get('/api/moods/:userId', async (c) => {
  const userId = c.req.param('userId');
  const before = dbReads;
  const data = await getOrLoad(CacheKeys.userMoods(userId), () => loadMoods(userId), CacheTTL.MEDIUM);
  c.header('X-Cache', dbReads === before ? 'HIT' : 'MISS');
  return c.json(data);
});

app.post('/api/moods/:userId', async (c) => {
  const userId = c.req.param('userId');
  const body = await c.req.json<{ mood?: string }>().catch(() => ({}) as { mood?: string });
  dbWrites++;
  metricsCollector.increment('database_queries_total', 1, { op: 'insert' });
  await sleep(DB_LATENCY_MS);
  CacheInvalidation.onMoodChange(userId);
  return c.json({ ok: true, userId, mood: body.mood ?? 'calm' }, 201);
});

app.get('/api/tiered/moods/:userId', async (c) => {
  bindings = c.env;
  const userId = c.req.param('userId');
  const before = dbReads;
  const data = await tieredMoods.getOrLoad(CacheKeys.userMoods(userId), () => loadMoods(userId), { ctx: c.executionCtx });
  c.header('X-Cache', dbReads === before ? 'HIT' : 'MISS');
  return c.json(data);
});

app.post('/api/tiered/moods/:userId', async (c) => {
  bindings = c.env;
  const userId = c.req.param('userId');
  dbWrites++;
  await sleep(DB_LATENCY_MS);
  // Deletes in this isolate's cache, the Cache API and KV.
  await tieredInvalidate.onMoodChange(userId);
  return c.json({ ok: true, userId }, 201);
});

app.get('/api/tiered/stats', (c) => c.json(tieredMoods.getStats()));

// A route that fails, so the error counters have something to count.
app.get('/api/boom', () => {
  throw new TypeError('simulated failure');
});

// The per-turn clock (the default in Workers: one Date.now() per turn)
// against real I/O: an entry with a 50 ms TTL is served before an await of
// a 60 ms timer and never after it.
const clockCache = new BoundedCache({ maxEntries: 10 });
app.get('/api/clock', async (c) => {
  clockCache.set('k', 'v', 0.05);
  const before = clockCache.get('k');
  await sleep(60);
  const after = clockCache.get('k');
  return c.json({ before, after });
});

app.get('/api/cache/stats', (c) => c.json({ ...getStats(), db_reads: dbReads, db_writes: dbWrites }));

app.get('/api/health/memory', (c) => c.json({ ...getMemoryStats(), trap_stats: trapStats() }));

const CACHE_GAUGES: Record<string, string> = {
  cache_entries: 'Entries in the module-level cache.',
  cache_max_entries: 'The cache entry bound (maxEntries).',
  cache_hit_rate_percent: 'Cache hits per lookup since start, in percent.',
  cache_evictions: 'Entries evicted from the cache to respect its bound, since start.',
};

function prometheus(): Response {
  const s = getStats();
  metricsCollector.set('cache_entries', 'gauge', s.total_entries);
  metricsCollector.set('cache_max_entries', 'gauge', s.max_entries);
  metricsCollector.set('cache_hit_rate_percent', 'gauge', s.hit_rate);
  metricsCollector.set('cache_evictions', 'gauge', s.evictions);
  for (const [name, help] of Object.entries(CACHE_GAUGES)) metricsCollector.setHelp(name, help);
  return new Response(metricsCollector.toPrometheusFormat(), {
    headers: { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store' },
  });
}

// This isolate's view: what this isolate counted since it started.
app.get('/metrics', () => prometheus());
app.get('/api/monitoring/metrics', () => prometheus());

// The fleet's view: every isolate's deltas, merged by the aggregators.
// Scrape this one with Prometheus; it needs the bearer token.
app.get(
  '/metrics/fleet',
  (c, next) => {
    if (c.env.FLEET_METRICS === undefined) return c.text('no fleet view here: it needs the FLEET_METRICS Durable Object binding\n', 404);
    // Hono's bearerAuth compares in constant time; no token set: nobody gets in.
    return bearerAuth<AppEnv>({ token: c.env.METRICS_TOKEN || crypto.randomUUID() })(c, next);
  },
  async (c) => {
    try {
      const text = await fleetPrometheusText(c.env.FLEET_METRICS!, { shards: FLEET_SHARDS });
      return new Response(text, { headers: { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store' } });
    } catch (err) {
      // A shard could not be read: a failed scrape, never a partial one.
      return c.text(`${err instanceof Error ? err.message : String(err)}\n`, 503);
    }
  },
);

// Ships this isolate's changes now (what the middleware does every 10 s).
app.get('/api/fleet/flush', async (c) => {
  await fleet.flush(c.env);
  return c.json(fleet.stats());
});

// A 4xx thrown as an HTTPException (bearerAuth's 401) keeps its response.
app.onError((err, c) => (err instanceof HTTPException ? err.getResponse() : c.json({ error: err.name }, 500)));

export default app;
