// Metrics operations, in one process, against every baseline:
// recordResponseTime with a full window, getPercentile(99), labelled
// increment, toPrometheusFormat() with 1k series, getSnapshot().
// Skipped (with a message) until dist/metrics.js exists.
import promClient from 'prom-client';
import * as hdr from 'hdr-histogram-js';
import { do_not_optimize } from 'mitata';
import { createOriginalMetrics, createFixedMetrics, type MetricsCollector as ModelCollector } from '../tests/oracles/index.js';
import { bench, hasMetrics, SUBJECT, type Row } from './lib.js';

type Labels = Record<string, string>;
interface Collector {
  increment(name: string, amount?: number, labels?: Labels): void;
  recordResponseTime(ms: number): void;
  getPercentile(p: number): number;
  getSnapshot(): unknown;
  toPrometheusFormat(): string;
  reset(): void;
}
interface MetricsModule {
  MetricsCollector?: new (options?: Record<string, unknown>) => Collector;
  metricsCollector: Collector;
}

export const SKIP_MESSAGE = 'skipped: bounded-services/metrics not built';

/** Durations in ms, 1..500, fixed seed: the same sequence for everyone. */
function durations(n: number): number[] {
  let s = 42;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    out.push(1 + (s % 500));
  }
  return out;
}

export async function metricsBenches(): Promise<{ rows: Row[]; skipped?: string }> {
  if (!hasMetrics()) {
    console.log(SKIP_MESSAGE);
    return { rows: [], skipped: SKIP_MESSAGE };
  }
  const mod = (await import('bounded-services/metrics' as string)) as MetricsModule;
  const fresh = (options?: Record<string, unknown>): Collector => {
    if (mod.MetricsCollector) return new mod.MetricsCollector(options);
    mod.metricsCollector.reset();
    return mod.metricsCollector;
  };
  const rows: Row[] = [];
  const D = durations(4096);
  const M = 4095;
  const full = <T extends { recordResponseTime(ms: number): void }>(c: T): T => {
    for (let i = 0; i < 1000; i++) c.recordResponseTime(D[i & M] as number);
    return c;
  };
  const models: [string, ModelCollector][] = [
    ['original', createOriginalMetrics()],
    ['fixed original', createFixedMetrics()],
  ];

  process.stderr.write('metrics: recordResponseTime (full window of 1000)\n');
  {
    const bs = full(fresh());
    let i = 0;
    rows.push(await bench('metrics.recordResponseTime', SUBJECT, () => bs.recordResponseTime(D[i++ & M] as number)));
    for (const [name, m] of models) {
      full(m);
      rows.push(await bench('metrics.recordResponseTime', name, () => m.recordResponseTime(D[i++ & M] as number)));
    }
    const h = hdr.build({ useWebAssembly: false, bitBucketSize: 32, lowestDiscernibleValue: 1, highestTrackableValue: 60_000, numberOfSignificantValueDigits: 3 });
    for (let k = 0; k < 1000; k++) h.recordValue(D[k] as number);
    rows.push(await bench('metrics.recordResponseTime', 'hdr-histogram-js', () => h.recordValue(D[i++ & M] as number), {
      note: 'JS build (useWebAssembly: false), 32-bit buckets, 3 digits; all-time, not a window',
    }));
    const reg = new promClient.Registry();
    const ph = new promClient.Histogram({ name: 'rt', help: 'rt', registers: [reg], buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] });
    rows.push(await bench('metrics.recordResponseTime', 'prom-client', () => ph.observe(D[i++ & M] as number), { note: 'Histogram.observe, 11 buckets' }));

    process.stderr.write('metrics: getPercentile(99)\n');
    rows.push(await bench('metrics.getPercentile99', SUBJECT, () => do_not_optimize(bs.getPercentile(99)), { note: 'exact, window of 1000' }));
    for (const [name, m] of models) {
      rows.push(await bench('metrics.getPercentile99', name, () => do_not_optimize(m.getPercentile(99)), { note: 'copy + sort of the window' }));
    }
    rows.push(await bench('metrics.getPercentile99', 'hdr-histogram-js', () => do_not_optimize(h.getValueAtPercentile(99)), { note: 'approximate (3 significant digits)' }));

    process.stderr.write('metrics: getPercentile(99) after each sample\n');
    rows.push(await bench('metrics.record+getPercentile99', SUBJECT, () => {
      bs.recordResponseTime(D[i++ & M] as number);
      do_not_optimize(bs.getPercentile(99));
    }));
    for (const [name, m] of models) {
      rows.push(await bench('metrics.record+getPercentile99', name, () => {
        m.recordResponseTime(D[i++ & M] as number);
        do_not_optimize(m.getPercentile(99));
      }));
    }
    rows.push(await bench('metrics.record+getPercentile99', 'hdr-histogram-js', () => {
      h.recordValue(D[i++ & M] as number);
      do_not_optimize(h.getValueAtPercentile(99));
    }));

    process.stderr.write('metrics: a scrape every 1000 samples\n');
    rows.push(await bench('metrics.scrape.1000', SUBJECT, () => {
      for (let k = 0; k < 1000; k++) bs.recordResponseTime(D[i++ & M] as number);
      do_not_optimize(bs.getPercentile(50) + bs.getPercentile(95) + bs.getPercentile(99));
    }, { note: 'exact' }));
    // The same cycle without its reads: what the reads add is the
    // difference of two rows of one loop shape.
    rows.push(await bench('metrics.scrape.1000.records', SUBJECT, () => {
      for (let k = 0; k < 1000; k++) bs.recordResponseTime(D[i++ & M] as number);
    }, { note: 'the cycle above without its three reads' }));
    for (const [name, m] of models) {
      rows.push(await bench('metrics.scrape.1000', name, () => {
        for (let k = 0; k < 1000; k++) m.recordResponseTime(D[i++ & M] as number);
        do_not_optimize(m.getPercentile(50) + m.getPercentile(95) + m.getPercentile(99));
      }, { note: 'a copy and sort of the window per read' }));
    }
    rows.push(await bench('metrics.scrape.1000', 'hdr-histogram-js', () => {
      for (let k = 0; k < 1000; k++) h.recordValue(D[i++ & M] as number);
      do_not_optimize(h.getValueAtPercentile(50) + h.getValueAtPercentile(95) + h.getValueAtPercentile(99));
    }, { note: 'approximate, all-time: not a window' }));

    process.stderr.write('metrics: getSnapshot()\n');
    rows.push(await bench('metrics.getSnapshot', SUBJECT, () => do_not_optimize(bs.getSnapshot())));
    for (const [name, m] of models) {
      rows.push(await bench('metrics.getSnapshot', name, () => do_not_optimize(m.getSnapshot())));
    }
  }

  process.stderr.write('metrics: labelled increment\n');
  {
    const paths = Array.from({ length: 100 }, (_, k) => `/api/route${k}/:id`);
    const labels = paths.map((path) => ({ method: 'GET', path }));
    const bs = fresh();
    let i = 0;
    const note = "increment('http_requests_total', 1, { method, path }), 100 paths in turn";
    rows.push(await bench('metrics.increment.labelled', SUBJECT, () => {
      if (++i === 100) i = 0;
      bs.increment('http_requests_total', 1, labels[i]);
    }, { note }));
    for (const [name, m] of models) {
      rows.push(await bench('metrics.increment.labelled', name, () => {
        if (++i === 100) i = 0;
        m.increment('http_requests_total', 1, labels[i]);
      }, { note }));
    }
    const reg = new promClient.Registry();
    const pc = new promClient.Counter({ name: 'http_requests_total', help: 'requests', labelNames: ['method', 'path'], registers: [reg] });
    rows.push(await bench('metrics.increment.labelled', 'prom-client', () => {
      if (++i === 100) i = 0;
      pc.inc(labels[i] as Labels);
    }, { note: 'Counter.inc(labels)' }));
  }

  process.stderr.write('metrics: toPrometheusFormat() with 1k series\n');
  {
    const n = 1000;
    const bs = fresh();
    for (let k = 0; k < n; k++) bs.increment('http_requests_total', 1, { method: 'GET', path: `/api/route${k}/:id` });
    full(bs);
    rows.push(await bench('metrics.toPrometheusFormat.1k', SUBJECT, () => do_not_optimize(bs.toPrometheusFormat()), {
      note: `${n} label sets of one counter (+ built-ins, histogram); ${bs.toPrometheusFormat().length} chars`,
    }));
    for (const [name, m0] of models) {
      const m = name === 'original' ? createOriginalMetrics() : createFixedMetrics();
      void m0;
      for (let k = 0; k < n; k++) m.increment(`http_requests_route${k}_total`, 1, { method: 'GET', path: `/api/route${k}/:id` });
      full(m);
      rows.push(await bench('metrics.toPrometheusFormat.1k', name, () => do_not_optimize(m.toPrometheusFormat()), {
        note: `${n} metric names (labels merge per name, so one series per name); ${m.toPrometheusFormat().length} chars`,
      }));
    }
    const reg = new promClient.Registry();
    const pc = new promClient.Counter({ name: 'http_requests_total', help: 'requests', labelNames: ['method', 'path'], registers: [reg] });
    for (let k = 0; k < n; k++) pc.inc({ method: 'GET', path: `/api/route${k}/:id` });
    const text = await reg.metrics();
    rows.push(await bench('metrics.toPrometheusFormat.1k', 'prom-client', async () => do_not_optimize(await reg.metrics()), {
      note: `registry.metrics() (async), ${n} series of one counter; ${text.length} chars`,
    }));
  }
  return { rows };
}
