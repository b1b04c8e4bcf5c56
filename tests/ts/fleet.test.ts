// bounded-services/fleet in Node: three collectors (isolates) ship deltas
// through FleetShippers to MetricsAggregator Durable Objects, simulated here
// by an in-memory namespace (one object per name, storage kept when the
// object is evicted) that can lose requests or responses and fail writes.
// The same classes run in workerd in tests/workerd-fleet/.
// Run: node --expose-gc --import tsx --test tests/ts/fleet.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';

import { MetricsCollector, PROMETHEUS_CONTENT_TYPE, metricsMiddleware } from 'bounded-services/metrics';
import {
  FleetAggregator,
  FleetShipper,
  MetricsAggregator,
  defineMetricsAggregator,
  fleetPrometheusText,
  fleetSnapshot,
  type StorageLike,
} from 'bounded-services/fleet';
import { NO_PROMTOOL, NO_PYTHON, promtoolCheck, pySamples, sampleKey } from './support/prometheus.js';

class MemoryStorage implements StorageLike {
  readonly data = new Map<string, unknown>();
  failPuts = 0;
  async get(keys: string[]): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    for (const k of keys) if (this.data.has(k)) out.set(k, structuredClone(this.data.get(k)));
    return out;
  }
  async put(entries: Record<string, unknown>): Promise<void> {
    if (this.failPuts > 0) {
      this.failPuts--;
      throw new Error('injected storage failure');
    }
    for (const [k, v] of Object.entries(entries)) this.data.set(k, structuredClone(v));
  }
  async delete(keys: string[]): Promise<number> {
    let n = 0;
    for (const k of keys) if (this.data.delete(k)) n++;
    return n;
  }
}

interface Faults {
  /** Every n-th delta is lost before it arrives. */
  loseRequestEvery?: number;
  /** Every n-th delta is applied, then its response is lost. */
  loseResponseEvery?: number;
}

/** A Durable Object namespace in memory: one instance per name, storage per name. */
function memoryNamespace(cls: typeof MetricsAggregator = MetricsAggregator, faults: Faults = {}) {
  const objects = new Map<string, MetricsAggregator>();
  const storages = new Map<string, MemoryStorage>();
  let posts = 0;
  const instance = (name: string): MetricsAggregator => {
    let o = objects.get(name);
    if (o === undefined) {
      let storage = storages.get(name);
      if (storage === undefined) storages.set(name, (storage = new MemoryStorage()));
      o = new cls({ storage, blockConcurrencyWhile: (fn) => fn() });
      objects.set(name, o);
    }
    return o;
  };
  return {
    storages,
    /** The object is dropped (memory lost, storage kept), as an eviction or restart does. */
    evictAll(): void {
      objects.clear();
    },
    idFromName: (name: string) => name,
    get: (id: never) => ({
      async fetch(url: string, init: { method?: string; body?: Uint8Array; headers?: Record<string, string> } = {}) {
        const post = init.method === 'POST';
        if (post) posts++;
        if (post && faults.loseRequestEvery && posts % faults.loseRequestEvery === 0) throw new Error('injected: request lost');
        const res = await instance(id as string).fetch(new Request(url, init as RequestInit));
        if (post && faults.loseResponseEvery && posts % faults.loseResponseEvery === 0) throw new Error('injected: response lost');
        return res as Response;
      },
    }),
  };
}

type FetchInit = { method?: string; body?: Uint8Array; headers?: Record<string, string> };
type Answer = { status: number; text(): Promise<string>; arrayBuffer(): Promise<ArrayBuffer> };

/** `ns` with each request first offered to `intercept` (undefined: passed on to `ns`). */
function interposed(ns: ReturnType<typeof memoryNamespace>, intercept: () => Promise<Answer> | undefined) {
  return {
    idFromName: ns.idFromName,
    get: (id: never) => ({
      fetch: (url: string, init?: FetchInit) => intercept() ?? ns.get(id).fetch(url, init),
    }),
  };
}

function valueOf(text: string, key: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${key} `));
  return line === undefined ? undefined : Number(line.slice(key.length + 1));
}

/** Drives `n` requests into each collector with known durations; returns every duration. */
function drive(collectors: MetricsCollector[], n: number, round: number): number[] {
  const durations: number[] = [];
  collectors.forEach((m, i) => {
    for (let k = 0; k < n; k++) {
      m.increment('http_requests_total', 1, { method: 'GET', path: `/api/r${k % 7}` });
      if (k % 10 === 0) m.increment('http_errors_total', 1, { method: 'GET', path: '/api/r0', error: 'TypeError' });
      const ms = 1 + ((k * 37 + i * 101 + round * 13) % 500);
      m.recordResponseTime(ms);
      durations.push(ms);
    }
  });
  return durations;
}

function nearestRank(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(1, Math.ceil(q * s.length)) - 1]!;
}

describe('fleet: three isolates, two shards', () => {
  it('counts every request exactly once across lost requests, lost responses and restarts', async () => {
    const ns = memoryNamespace(MetricsAggregator, { loseRequestEvery: 5, loseResponseEvery: 7 });
    const collectors = [0, 1, 2].map(() => new MetricsCollector());
    const shippers = collectors.map(
      (collector, i) => new FleetShipper({ namespace: ns, shards: 2, collector, isolateId: `isolate-${i}`, intervalMs: 0 }),
    );
    const all: number[] = [];
    for (let round = 0; round < 12; round++) {
      all.push(...drive(collectors, 50, round));
      await Promise.all(shippers.map((s) => s.flush()));
      if (round % 4 === 3) ns.evictAll();
    }
    // Drain: flush until every pending delta is acknowledged (bounded).
    for (let i = 0; i < 20 && shippers.some((s) => s.stats().pending > 0 || i === 0); i++) {
      await Promise.all(shippers.map((s) => s.flush()));
    }
    const stats = shippers.map((s) => s.stats());
    assert.ok(stats.some((s) => s.failures > 0), 'faults were injected');
    assert.ok(stats.every((s) => s.pending === 0 && s.refused === 0), JSON.stringify(stats));
    ns.evictAll();
    const text = await fleetPrometheusText(ns, { shards: 2 });
    const sum = (name: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith(`${name}{`))
        .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    assert.equal(sum('http_requests_total'), 3 * 50 * 12);
    assert.equal(sum('http_errors_total'), 3 * 5 * 12);
    assert.equal(valueOf(text, 'http_request_duration_seconds_count'), all.length);
    const snap = await fleetSnapshot(ns, { shards: 2 });
    assert.equal(snap.requests_total, 1800);
    assert.equal(snap.isolates, 3);
    assert.equal(snap.response_time_count, all.length);
    for (const q of [0.5, 0.95, 0.99] as const) {
      const truth = nearestRank(all, q);
      const got = q === 0.5 ? snap.response_time_p50 : q === 0.95 ? snap.response_time_p95 : snap.response_time_p99;
      assert.ok(Math.abs(got - truth) / truth <= 0.01, `p${q * 100}: ${got} vs ${truth}`);
    }
    assert.ok(snap.deltas.duplicate > 0, 'lost responses were retried and found merged');
  });

  it('a flush sends the delta that failed, then everything changed since', async () => {
    const ns = memoryNamespace(MetricsAggregator, { loseRequestEvery: 2 });
    const m = new MetricsCollector();
    const s = new FleetShipper({ namespace: ns, collector: m, isolateId: 'd' });
    m.increment('jobs_total', 1);
    await s.flush(); // post 1: acknowledged
    m.increment('jobs_total', 2);
    await s.flush(); // post 2: lost, pending
    assert.equal(s.stats().pending, 1);
    m.increment('jobs_total', 4);
    await s.flush(); // post 3: the pending one; post 4 (the +4) lost
    m.increment('jobs_total', 8);
    await s.flush(); // post 5: +4 acknowledged, post 6 (+8) lost
    await s.flush(); // post 7: +8 acknowledged, nothing left
    assert.equal(s.stats().pending, 0);
    ns.evictAll();
    assert.equal(valueOf(await fleetPrometheusText(ns), 'jobs_total'), 15);
  });

  it('a take cut at maxBytes is followed by the rest in the same flush; a complete one ends it', async () => {
    const ns = memoryNamespace();
    let posts = 0;
    const counted = interposed(ns, () => {
      posts++;
      return undefined;
    });
    const m = new MetricsCollector({ maxSeriesPerMetric: 500 });
    const s = new FleetShipper({ namespace: counted, collector: m, isolateId: 'cut', maxBytes: 1024 });
    const label = (k: number) => ({ path: `/api/a/rather/long/path/to/make/series/large/${k}` });
    m.increment('jobs_total', 1);
    await s.flush();
    for (let k = 0; k < 60; k++) m.increment('jobs_total', 1, label(k));
    posts = 0;
    await s.flush();
    assert.ok(posts >= 3, `60 series over 1 KB deltas take several requests, got ${posts}`);
    assert.equal(s.stats().pending, 0);
    ns.evictAll();
    const text = await fleetPrometheusText(ns);
    for (let k = 0; k < 60; k++) assert.equal(valueOf(text, `jobs_total{path="${label(k).path}"}`), 1, `series ${k}`);
    let takes = 0;
    const take = m.takeDelta.bind(m);
    m.takeDelta = (...args: Parameters<typeof take>) => (takes++, take(...args));
    m.increment('jobs_total', 1, label(0));
    posts = 0;
    await s.flush();
    assert.deepEqual({ posts, takes }, { posts: 1, takes: 1 }, 'a complete delta ends the flush: no empty take after it');
  });

  it('the durations recorded after a shipper is made are in the fleet sketch, whatever reads the collector first', async () => {
    for (const read of [(m: MetricsCollector) => m.toPrometheusFormat(), (m: MetricsCollector) => m.getSnapshot(), (m: MetricsCollector) => m.set('g', 'gauge', 1)]) {
      const ns = memoryNamespace();
      const m = new MetricsCollector();
      const s = new FleetShipper({ namespace: ns, collector: m, isolateId: 'early' });
      for (let i = 1; i <= 20; i++) m.recordResponseTime(i);
      read(m); // records the staged durations before the first flush
      await s.flush();
      ns.evictAll();
      const text = await fleetPrometheusText(ns);
      assert.equal(valueOf(text, 'http_request_duration_seconds_count'), 20);
      assert.equal(valueOf(text, 'bs_fleet_response_time_ms_count'), 20, String(read));
    }
  });

  it('a write that fails is not acknowledged: the retry counts once', async () => {
    const ns = memoryNamespace();
    const m = new MetricsCollector();
    const s = new FleetShipper({ namespace: ns, collector: m, isolateId: 'w' });
    m.increment('jobs_total', 3);
    await s.flush();
    ns.storages.get('bs-fleet:0')!.failPuts = 1;
    m.increment('jobs_total', 4);
    await s.flush();
    assert.equal(s.stats().pending, 1);
    assert.match(s.stats().lastError ?? '', /HTTP 503/);
    await s.flush();
    assert.equal(s.stats().pending, 0);
    ns.evictAll();
    assert.equal(valueOf(await fleetPrometheusText(ns), 'jobs_total'), 7);
  });

  it('the exposition parses with promtool and prometheus_client', { skip: NO_PROMTOOL ?? NO_PYTHON ?? false }, async () => {
    const ns = memoryNamespace();
    const m = new MetricsCollector();
    const s = new FleetShipper({ namespace: ns, collector: m, shards: 3 });
    s.noteUpdate();
    m.increment('http_requests_total', 2, { method: 'GET', path: '/x"\\\n' });
    m.set('queue_depth', 'gauge', 4);
    for (const ms of [1, 2, 300]) m.recordResponseTime(ms);
    await s.flush();
    const text = await fleetPrometheusText(ns, { shards: 3 });
    promtoolCheck(text);
    const samples = pySamples(text);
    assert.equal(samples.get(sampleKey('http_requests_total', { method: 'GET', path: '/x"\\\n' })), 2);
    assert.equal(samples.get(sampleKey('queue_depth', {})), 4);
    assert.equal(samples.get(sampleKey('bs_fleet_response_time_ms_count', {})), 3);
    assert.equal(samples.get(sampleKey('bs_fleet_isolates', {})), 1);
  });
});

describe('fleet: the aggregator refuses bad deltas and keeps its state', () => {
  async function post(ns: ReturnType<typeof memoryNamespace>, body: Uint8Array) {
    const res = await ns.get('bs-fleet:0' as never).fetch('https://x/delta', { method: 'POST', body });
    return { status: res.status, body: JSON.parse(await res.text()) as { outcome: string; reason?: string; error?: string } };
  }

  it('malformed, other version, oversized, other buckets: 4xx with the reason', async () => {
    const Small = defineMetricsAggregator({ maxDeltaBytes: 2048 });
    const ns = memoryNamespace(Small);
    const m = new MetricsCollector();
    m.increment('jobs_total', 1);
    const good = m.takeDelta('i', 1, 0, 1, 65536);
    assert.equal((await post(ns, good)).status, 200);
    const before = await fleetPrometheusText(ns);
    const garbage = await post(ns, new Uint8Array([1, 2, 3, 4, 5]));
    assert.deepEqual([garbage.status, garbage.body.reason], [400, 'malformed']);
    assert.match(garbage.body.error!, /not a bounded-services delta/);
    const v2 = good.slice();
    v2[4] = 2;
    const version = await post(ns, v2);
    assert.deepEqual([version.status, version.body.reason], [400, 'version']);
    assert.match(version.body.error!, /version 2 is not supported/);
    const big = await post(ns, new Uint8Array(4096));
    assert.deepEqual([big.status, big.body.reason], [413, 'too-large']);
    const other = new MetricsCollector({ buckets: [1, 2] });
    other.increment('jobs_total', 1);
    const mismatch = await post(ns, other.takeDelta('j', 1, 0, 1, 65536));
    assert.deepEqual([mismatch.status, mismatch.body.reason], [422, 'mismatch']);
    assert.match(mismatch.body.error!, /bucket bounds differ/);
    const dup = await post(ns, good);
    assert.deepEqual([dup.status, dup.body.outcome], [200, 'duplicate']);
    const after = (await fleetPrometheusText(ns)).replace(/outcome="(refused|duplicate)"\} \d+/g, '');
    assert.equal(after, before.replace(/outcome="(refused|duplicate)"\} \d+/g, ''));
  });

  it('a shipper drops a refused delta (counted) and goes on', async () => {
    const ns = memoryNamespace();
    const m = new MetricsCollector({ buckets: [1] });
    const s = new FleetShipper({ namespace: ns, collector: m });
    m.increment('jobs_total', 1);
    await s.flush();
    assert.equal(s.stats().refused, 1);
    assert.equal(s.stats().pending, 0);
    assert.match(s.stats().lastError!, /422 .*bucket bounds differ/);
  });

  it('unknown routes are 404; the state and JSON snapshot routes answer', async () => {
    const ns = memoryNamespace();
    const stub = ns.get('bs-fleet:0' as never);
    assert.equal((await stub.fetch('https://x/nope')).status, 404);
    const snap = JSON.parse(await (await stub.fetch('https://x/snapshot')).text()) as { requests_total: number };
    assert.equal(snap.requests_total, 0);
    const metrics = await stub.fetch('https://x/metrics');
    assert.equal(metrics.status, 200);
  });
});

describe('fleet: the shipper', () => {
  it('checks its options', () => {
    const ns = memoryNamespace();
    assert.throws(() => new FleetShipper({ namespace: 42 as never }), TypeError);
    assert.throws(() => new FleetShipper({ namespace: ns, shards: 0 }), RangeError);
    assert.throws(() => new FleetShipper({ namespace: ns, shards: 257 }), RangeError);
    assert.throws(() => new FleetShipper({ namespace: ns, maxBytes: 10 }), RangeError);
    assert.throws(() => new FleetShipper({ namespace: ns, isolateId: 'x'.repeat(129) }), RangeError);
    assert.throws(() => new FleetAggregator({ maxIsolates: '5' as never }), TypeError);
    assert.throws(() => new FleetAggregator({ sketchSlots: 0 }), RangeError);
  });

  it('flushes at most every intervalMs or every maxUpdates, and a missing binding is a counted failure', async () => {
    let now = 1_000_000;
    const m = new MetricsCollector();
    const s = new FleetShipper({ namespace: 'FLEET', collector: m, intervalMs: 10_000, maxUpdates: 3, now: () => now });
    const ns = memoryNamespace();
    const waits: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => void waits.push(p) };
    m.increment('jobs_total', 1);
    s.noteUpdate();
    s.maybeFlush({ FLEET: ns }, ctx); // the first is due at once
    await Promise.all(waits);
    assert.equal(s.stats().flushes, 1);
    s.noteUpdate();
    s.maybeFlush({ FLEET: ns }, ctx);
    assert.equal(s.stats().flushes, 1, 'not due: 1 update, 0 ms');
    s.noteUpdate();
    s.noteUpdate();
    s.maybeFlush({ FLEET: ns }, ctx);
    assert.equal(s.stats().flushes, 2, 'due: 3 updates');
    await Promise.all(waits);
    now += 10_000;
    s.maybeFlush({}, ctx);
    await Promise.all(waits);
    assert.equal(s.stats().flushes, 3, 'due: 10 s');
    assert.match(s.stats().lastError!, /env.FLEET is not a Durable Object namespace/);
    ns.evictAll();
    assert.equal(valueOf(await fleetPrometheusText(ns), 'jobs_total'), 1);
  });

  it('a request that hangs times out and is retried; only 400/410/413/422 drop a delta', async () => {
    const ns = memoryNamespace();
    let mode: 'hang' | 'status' | 'pass' = 'hang';
    let status = 404;
    const flaky = interposed(ns, () =>
      mode === 'hang'
        ? new Promise<never>(() => {})
        : mode === 'status'
          ? Promise.resolve({ status, text: async () => 'busy', arrayBuffer: async () => new ArrayBuffer(0) })
          : undefined,
    );
    const m = new MetricsCollector();
    const s = new FleetShipper({ namespace: flaky, collector: m, requestTimeoutMs: 50 });
    m.increment('jobs_total', 1);
    await s.flush();
    assert.match(s.stats().lastError!, /no answer within 50 ms/);
    assert.equal(s.stats().pending, 1);
    mode = 'status';
    for (status of [404, 429, 500]) {
      await s.flush();
      assert.equal(s.stats().pending, 1, `kept after ${status}`);
    }
    mode = 'pass';
    m.increment('jobs_total', 2);
    await s.flush();
    assert.equal(s.stats().pending, 0);
    assert.equal(s.stats().refused, 0);
    ns.evictAll();
    assert.equal(valueOf(await fleetPrometheusText(ns), 'jobs_total'), 3);
  });

  it('a flush whose request context was cancelled (it never settles) is given up on', async () => {
    let now = 0;
    const ns = memoryNamespace();
    let hang = true;
    const stuck = interposed(ns, () => (hang ? new Promise<never>(() => {}) : undefined));
    const m = new MetricsCollector();
    // The shipper's clock runs past 10 timeouts before the real timer
    // fires, as when a cancelled context's timer never does.
    const s = new FleetShipper({ namespace: stuck, collector: m, requestTimeoutMs: 1000, now: () => now });
    m.increment('jobs_total', 1);
    void s.flush(); // never settles
    await new Promise((r) => setTimeout(r, 5));
    hang = false;
    now += 1000 * 10 + 1;
    await s.flush(); // not chained behind the stuck one
    assert.equal(s.stats().pending, 0);
    ns.evictAll();
    assert.equal(valueOf(await fleetPrometheusText(ns), 'jobs_total'), 1);
  });

  it('the middleware option ships from a Hono app (no ExecutionContext in Node)', async () => {
    const ns = memoryNamespace();
    const m = new MetricsCollector();
    const shipper = new FleetShipper({ namespace: 'FLEET', collector: m, intervalMs: 0 });
    const app = new Hono<{ Bindings: { FLEET: unknown } }>();
    app.use('*', metricsMiddleware({ collector: m, fleet: shipper }));
    app.get('/api/moods/:id', (c) => c.text('ok'));
    for (let i = 0; i < 5; i++) {
      assert.equal((await app.request(`/api/moods/${i}`, {}, { FLEET: ns })).status, 200);
      await shipper.flush({ FLEET: ns }); // joins the flush the middleware started
    }
    await shipper.flush({ FLEET: ns });
    ns.evictAll();
    const text = await fleetPrometheusText(ns);
    assert.equal(valueOf(text, 'http_requests_total{method="GET",path="/api/moods/:id"}'), 5);
    assert.equal(valueOf(text, 'bs_fleet_response_time_ms_count'), 5);
    assert.throws(() => metricsMiddleware({ fleet: {} as never }), TypeError);
    assert.ok(PROMETHEUS_CONTENT_TYPE.startsWith('text/plain'));
  });
});
