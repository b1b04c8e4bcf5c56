// Fleet stage of the suite: what shipping to the fleet costs a request, what
// a flush costs, and what an aggregator's merge and save cost, in one Node
// process.
//   node --expose-gc --import tsx bench/fleet.ts
import { performance } from 'node:perf_hooks';
import { do_not_optimize } from 'mitata';
import { MetricsCollector, metricsMiddleware, type HonoLikeContext } from 'bounded-services/metrics';
import { FleetAggregator, FleetShipper, type NamespaceLike } from 'bounded-services/fleet';
import { bench, machine, writePart, type Row } from './lib.js';

const rows: Row[] = [];
const sizes: Record<string, number> = {};

// A namespace that acknowledges every delta at once (no aggregator behind):
// the request path's share of shipping, flushes included.
const okNamespace: NamespaceLike = {
  idFromName: (n: string) => n,
  get: (() => ({
    fetch: async () => ({ status: 200, text: async () => '{"outcome":"applied"}', arrayBuffer: async () => new ArrayBuffer(0) }),
  })) as never,
};

// ---- per request: the middleware with and without the fleet option -------
{
  const paths = Array.from({ length: 20 }, (_, i) => `/api/r${i}/:id`);
  const ctx = (i: number): HonoLikeContext =>
    ({ req: { method: 'GET', matchedRoutes: [{ path: paths[i % 20]! }], routeIndex: 0 }, res: { status: 200 } }) as HonoLikeContext;
  const contexts = Array.from({ length: 64 }, (_, i) => ctx(i));
  const next = (): Promise<void> => Promise.resolve();
  const plain = metricsMiddleware({ collector: new MetricsCollector() });
  const shipped = new MetricsCollector();
  const shipper = new FleetShipper({ namespace: okNamespace, collector: shipped, shards: 2 });
  const withFleet = metricsMiddleware({ collector: shipped, fleet: shipper });
  let i = 0;
  rows.push(await bench('fleet.request', 'without fleet', () => plain(contexts[i++ & 63]!, next), { note: 'metricsMiddleware(): a labelled increment and a duration per request' }));
  rows.push(
    await bench('fleet.request', 'with fleet', () => withFleet(contexts[i++ & 63]!, next), {
      note: 'metricsMiddleware({ fleet }): the same request path, its flushes deferred (see fleet.request.cpu)',
    }),
  );
  // mitata awaits each call without ever yielding to the event loop, so the
  // flushes those calls start (they run after a macrotask, off the
  // request) stay pending through the rows above: those rows are the
  // request path alone. The rows below run rounds of 1000 requests, each
  // followed by the turns its flush needs to finish, and count CPU time
  // the main thread's busy time (performance.eventLoopUtilization: timer
  // waits are idle, V8's helper threads not counted), with and without the option,
  // alternately.
  const settle = async (): Promise<void> => {
    for (let k = 0; k < 3; k++) await new Promise<void>((r) => setTimeout(r, 0));
  };
  const cpuCollector = new MetricsCollector();
  const cpuShipper = new FleetShipper({ namespace: okNamespace, collector: cpuCollector, shards: 2 });
  const handlers = {
    'without fleet': metricsMiddleware({ collector: new MetricsCollector() }),
    'with fleet': metricsMiddleware({ collector: cpuCollector, fleet: cpuShipper }),
  } as const;
  const ROUNDS = 40;
  const PER_ROUND = 1000;
  const round = async (h: (typeof handlers)[keyof typeof handlers]): Promise<number> => {
    const before = performance.eventLoopUtilization();
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < PER_ROUND; k++) await h(contexts[k & 63]!, next);
      await settle();
    }
    return (performance.eventLoopUtilization(before).active * 1e6) / (ROUNDS * PER_ROUND);
  };
  const samples: Record<keyof typeof handlers, number[]> = { 'without fleet': [], 'with fleet': [] };
  for (const name of ['without fleet', 'with fleet'] as const) await round(handlers[name]); // warm-up
  const flushesBefore = cpuShipper.stats().acknowledged;
  const SAMPLES = 9;
  for (let s = 0; s < SAMPLES; s++) {
    for (const name of ['without fleet', 'with fleet'] as const) samples[name].push(await round(handlers[name]));
  }
  sizes.flushes_during_request_bench = shipper.stats().flushes;
  sizes.acknowledged_during_cpu_rounds = cpuShipper.stats().acknowledged - flushesBefore;
  sizes.requests_during_cpu_rounds = SAMPLES * ROUNDS * PER_ROUND;
  for (const name of ['without fleet', 'with fleet'] as const) {
    const xs = [...samples[name]].sort((a, b) => a - b);
    const row: Row = {
      op: 'fleet.request.cpu',
      impl: name,
      p50: xs[(SAMPLES - 1) / 2]!,
      min: xs[0]!,
      max: xs[SAMPLES - 1]!,
      ticks: sizes.requests_during_cpu_rounds,
      note:
        name === 'with fleet'
          ? 'main-thread busy time per request over rounds of 1000 requests, each round followed by its flush (to an aggregator answering at once, 2 shards) run to its end'
          : 'main-thread busy time per request over the same rounds (the same timer waits)',
    };
    rows.push(row);
    process.stderr.write(`  fleet.request.cpu                  ${name.padEnd(28)} p50 ${row.p50.toFixed(0)} ns (busy)\n`);
  }
}

// ---- a flush: 1000 changed series, taken as one delta -----------------------
{
  const m = new MetricsCollector({ maxSeriesPerMetric: 2000 });
  for (let k = 0; k < 1000; k++) m.increment('http_requests_total', 1, { method: 'GET', path: `/api/moods/${k}` });
  m.trackDeltas();
  const first = m.takeDelta('bench', 1, 0, 1, 1 << 20);
  sizes.delta_1000_series_bytes = first.length;
  let seq = 2;
  rows.push(
    await bench('fleet.takeDelta.1000', 'bounded-services', () => {
      for (let k = 0; k < 1000; k++) m.increment('http_requests_total', 1, { method: 'GET', path: `/api/moods/${k}` });
      return do_not_optimize(m.takeDelta('bench', seq++, 0, 1, 1 << 20));
    }, { note: '1000 labelled increments, then one take of the 1000 changed series (the increments alone are ~0.12 ms: see metrics.increment.labelled)' }),
  );

  // ---- the aggregator: merge a delta of 1000 series, save the state ------
  const agg = new FleetAggregator({ maxSeriesPerMetric: 2000 });
  const deltas: Uint8Array[] = [];
  for (let d = 0; d < 64; d++) {
    for (let k = 0; k < 1000; k++) m.increment('http_requests_total', 1, { method: 'GET', path: `/api/moods/${k}` });
    deltas.push(m.takeDelta(`isolate-${d}`, 1, 0, 1, 1 << 20));
  }
  for (const d of deltas) agg.apply(d);
  let n = 0;
  rows.push(await bench('fleet.apply.duplicate', 'bounded-services', () => do_not_optimize(agg.apply(deltas[n++ % 64]!)), { note: 'a retry of a merged 1000-series delta: acknowledged from its header alone' }));
  // Merging: one isolate's deltas with growing sequence numbers. A delta
  // taken with seq 128 has a two-byte varint seq (after the 7-byte head and
  // the id), which each call rewrites to the next number (128..16383).
  const fresh = new FleetAggregator({ maxSeriesPerMetric: 2000 });
  for (let k = 0; k < 1000; k++) m.increment('http_requests_total', 1, { method: 'GET', path: `/api/moods/${k}` });
  const template = m.takeDelta('merger', 128, 0, 1, 1 << 20);
  const seqAt = 8 + 'merger'.length;
  let seqNo = 128;
  rows.push(
    await bench('fleet.apply.1000.merge', 'bounded-services', () => {
      seqNo = seqNo >= 16383 ? 16383 : seqNo + 1;
      template[seqAt] = (seqNo & 0x7f) | 0x80;
      template[seqAt + 1] = seqNo >> 7;
      return do_not_optimize(fresh.apply(template));
    }, { note: 'FleetAggregator.apply of a 1000-series delta that merges (the next sequence number each call)' }),
  );
  const state = fresh.save();
  sizes.state_1000_series_bytes = state.length;
  rows.push(await bench('fleet.save.1000', 'bounded-services', () => do_not_optimize(fresh.save()), { note: 'the state a Durable Object writes after each merged delta' }));
  rows.push(
    await bench('fleet.scrape.2shards', 'bounded-services', () => {
      const view = new FleetAggregator({ maxSeriesPerMetric: 4000 });
      view.load(state);
      view.load(state);
      const text = view.toPrometheusFormat();
      view.dispose();
      return do_not_optimize(text);
    }, { note: 'a scrape: two shard states of 1000 series loaded into a view, then its exposition', ms: 500 }),
  );
  agg.dispose();
  fresh.dispose();
}

writePart('fleet', { machine: machine(), rows, sizes });
process.stderr.write(`fleet stage: ${rows.length} rows, ${JSON.stringify(sizes)}\n`);
