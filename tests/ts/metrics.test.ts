// Behaviour of bounded-services/metrics, imported by the package's name so
// the exports map is what is tested. Every clock is injected (no test depends
// on timing). Where the rule is the original's, the expectation is computed
// from the baseline model of MoodMash's src/services/metrics.ts
// (tests/oracles/) or from a naive re-implementation of the rule.
// Run: node --expose-gc --import tsx --test tests/ts/metrics.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import {
  MetricsCollector,
  OVERFLOW_LABEL,
  getMemoryStats,
  metricsCollector,
} from 'bounded-services/metrics';
import { INITIAL_METRICS, createOriginalMetrics } from '../oracles/index.js';

const T0 = 1_700_000_000_000;

function clock(start = T0) {
  const c = { t: start, now: () => c.t };
  return c;
}

/** Sample lines (no comments) of an exposition. */
function sampleLines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

/** `# TYPE` lines as [name, type]. */
function typeLines(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .filter((l) => l.startsWith('# TYPE '))
    .map((l) => {
      const [, , name, type] = l.split(' ');
      return [name!, type!];
    });
}

/** Sample lines of one family (exact name, with or without labels). */
function familyLines(text: string, name: string): string[] {
  return sampleLines(text).filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
}

/** Value of the sample line `key` (`name` or `name{...}` exactly as printed). */
function valueOf(text: string, key: string): number | undefined {
  const line = sampleLines(text).find((l) => l.startsWith(`${key} `));
  return line === undefined ? undefined : Number(line.slice(key.length + 1));
}

/** Naive nearest rank, the original's formula over the last `window` samples. */
function naivePercentile(samples: number[], window: number, p: number): number {
  const w = samples.slice(Math.max(0, samples.length - window));
  if (w.length === 0) return 0;
  const sorted = [...w].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1] ?? 0;
}

function naiveMean(samples: number[], window: number): number {
  const w = samples.slice(Math.max(0, samples.length - window));
  return Math.round(w.reduce((a, b) => a + b, 0) / w.length);
}

describe('initial state', () => {
  it('registers the original seven metrics, in the original order, at 0', () => {
    const m = new MetricsCollector({ now: clock().now });
    const text = m.toPrometheusFormat();
    const types = typeLines(text);
    assert.deepEqual(
      types.slice(0, 7),
      INITIAL_METRICS.map(([n, t]) => [n, t]),
      'the first seven families are the original seven, same order and types',
    );
    for (const [name] of INITIAL_METRICS) {
      assert.deepEqual(familyLines(text, name), [`${name} 0`], name);
    }
    // Deliberate additions (documented): the response-time histogram after
    // the seven, and the original's two percentile gauges at the end.
    assert.deepEqual(types.slice(7), [
      ['http_request_duration_seconds', 'histogram'],
      ['http_response_time_p95', 'gauge'],
      ['http_response_time_p99', 'gauge'],
    ]);
    assert.equal(valueOf(text, 'http_response_time_p95'), 0);
    assert.equal(valueOf(text, 'http_response_time_p99'), 0);
  });

  it('the module-level metricsCollector is a MetricsCollector with the same initial state', () => {
    assert.ok(metricsCollector instanceof MetricsCollector);
    const fresh = new MetricsCollector();
    metricsCollector.reset();
    assert.equal(metricsCollector.toPrometheusFormat(), fresh.toPrometheusFormat());
    const s = metricsCollector.getSnapshot();
    assert.equal(s.requests_total, 0);
    assert.equal(s.errors_total, 0);
    assert.equal(s.response_time_avg, 0);
    assert.equal(s.response_time_p95, 0);
    assert.equal(s.response_time_p99, 0);
    assert.equal(s.active_users, 0);
    assert.equal(s.database_queries, 0);
  });
});

describe('increment / set', () => {
  it('increment: default amount 1; an unknown name becomes a counter', () => {
    const m = new MetricsCollector({ now: clock().now });
    m.increment('http_requests_total');
    m.increment('http_requests_total');
    m.increment('http_requests_total', 5);
    m.increment('jobs_done');
    m.increment('jobs_done', 2.5);
    const text = m.toPrometheusFormat();
    assert.equal(valueOf(text, 'http_requests_total'), 7);
    assert.deepEqual(
      typeLines(text).find(([n]) => n === 'jobs_done'),
      ['jobs_done', 'counter'],
    );
    assert.equal(valueOf(text, 'jobs_done'), 3.5);
    // New families come after the built-ins, in creation order.
    const names = typeLines(text).map(([n]) => n);
    assert.equal(names.indexOf('jobs_done'), 8);
    // Same as the original for the unlabelled value.
    const o = createOriginalMetrics({ now: clock().now });
    o.increment('jobs_done');
    o.increment('jobs_done', 2.5);
    assert.equal(o.metrics.get('jobs_done')?.value, 3.5);
    assert.equal(o.metrics.get('jobs_done')?.type, 'counter');
  });

  it('increment on a gauge adds to it (the name keeps its type)', () => {
    const m = new MetricsCollector({ now: clock().now });
    m.increment('active_users', 3);
    m.increment('active_users', -1);
    const text = m.toPrometheusFormat();
    assert.equal(valueOf(text, 'active_users'), 2);
    assert.deepEqual(typeLines(text)[5], ['active_users', 'gauge']);
  });

  it('one series per label set: two label sets give two lines, not one merged object', () => {
    const m = new MetricsCollector({ now: clock().now });
    m.increment('http_requests_total', 1, { method: 'GET', path: '/a' });
    m.increment('http_requests_total', 1, { method: 'GET', path: '/a' });
    m.increment('http_requests_total', 3, { path: '/b', method: 'POST' });
    // Same label set in another key order: the same series.
    m.increment('http_requests_total', 10, { path: '/a', method: 'GET' });
    const text = m.toPrometheusFormat();
    assert.deepEqual(familyLines(text, 'http_requests_total'), [
      'http_requests_total 0',
      'http_requests_total{method="GET",path="/a"} 12',
      'http_requests_total{method="POST",path="/b"} 3',
    ]);
    assert.equal(m.getSnapshot().requests_total, 15);

    // The original merged both label sets into one object and showed the
    // total under the last labels seen: one line.
    const o = createOriginalMetrics({ now: clock().now });
    o.increment('http_requests_total', 1, { method: 'GET', path: '/a' });
    o.increment('http_requests_total', 1, { method: 'GET', path: '/a' });
    o.increment('http_requests_total', 3, { path: '/b', method: 'POST' });
    o.increment('http_requests_total', 10, { path: '/a', method: 'GET' });
    assert.deepEqual(
      o.toPrometheusFormat().split('\n').filter((l) => l.startsWith('http_requests_total')),
      ['http_requests_total{method="GET",path="/a"} 15'],
    );
  });

  it('set replaces the value; unlabelled and labelled series are distinct', () => {
    const m = new MetricsCollector({ now: clock().now });
    m.set('active_users', 'gauge', 10);
    m.set('active_users', 'gauge', 4);
    m.set('queue_depth', 'gauge', 7, { queue: 'mail' });
    m.set('queue_depth', 'gauge', 2, { queue: 'mail' });
    m.set('queue_depth', 'gauge', 9, { queue: 'sms' });
    const text = m.toPrometheusFormat();
    assert.equal(valueOf(text, 'active_users'), 4);
    assert.deepEqual(familyLines(text, 'queue_depth'), [
      'queue_depth{queue="mail"} 2',
      'queue_depth{queue="sms"} 9',
    ]);
    assert.equal(m.getSnapshot().active_users, 4);
  });

  it('set with another type retypes the metric (its old series are dropped, its position kept)', () => {
    const m = new MetricsCollector({ now: clock().now });
    m.increment('http_errors_total', 3, { error: 'TypeError' });
    m.increment('http_errors_total', 2);
    m.set('http_errors_total', 'gauge', -4);
    let text = m.toPrometheusFormat();
    assert.deepEqual(typeLines(text)[1], ['http_errors_total', 'gauge']);
    assert.deepEqual(familyLines(text, 'http_errors_total'), ['http_errors_total -4']);
    // And back, through increment's cached handle (must be re-resolved).
    m.set('http_errors_total', 'counter', 1);
    m.increment('http_errors_total', 1, { error: 'TypeError' });
    text = m.toPrometheusFormat();
    assert.deepEqual(typeLines(text)[1], ['http_errors_total', 'counter']);
    assert.deepEqual(familyLines(text, 'http_errors_total'), [
      'http_errors_total 1',
      'http_errors_total{error="TypeError"} 1',
    ]);
    // Same position and type as in the original.
    const o = createOriginalMetrics({ now: clock().now });
    o.set('http_errors_total', 'gauge', -4);
    assert.deepEqual([...o.metrics.keys()][1], 'http_errors_total');
    assert.equal(o.metrics.get('http_errors_total')?.type, 'gauge');
  });
});

describe('response times', () => {
  it('response_time_ms is Math.round(mean) of the last 1000 samples; the window slides', () => {
    const m = new MetricsCollector({ now: clock().now });
    const gauge = () => valueOf(m.toPrometheusFormat(), 'response_time_ms');
    m.recordResponseTime(0);
    m.recordResponseTime(1);
    assert.equal(gauge(), 1, 'mean 0.5 rounds up like Math.round');
    m.reset();
    m.recordResponseTime(1);
    m.recordResponseTime(2);
    m.recordResponseTime(2);
    m.recordResponseTime(2);
    assert.equal(gauge(), 2, 'mean 1.75');
    m.reset();
    for (let i = 0; i < 1000; i++) m.recordResponseTime(10);
    assert.equal(gauge(), 10);
    for (let i = 0; i < 500; i++) m.recordResponseTime(20);
    assert.equal(gauge(), 15, 'half the window replaced');
    for (let i = 0; i < 500; i++) m.recordResponseTime(20);
    assert.equal(gauge(), 20, 'the 10s have all left the window');
    assert.equal(m.getStats().response_times_count, 1000);
    assert.equal(m.getSnapshot().response_time_avg, 20);
  });

  it('mean gauge equals the naive Math.round(reduce / n) over the last 1000 (fast-check)', () => {
    const m = new MetricsCollector({ now: clock().now });
    fc.assert(
      fc.property(
        // Multiples of 1/4: every sum is exact in binary, so the naive reduce
        // and the core's running sum agree to the bit and halves are exercised.
        fc.array(fc.integer({ min: 0, max: 400_000 }).map((q) => q / 4), { minLength: 1, maxLength: 2500 }),
        (quarters) => {
          m.reset();
          for (const ms of quarters) m.recordResponseTime(ms);
          assert.equal(m.getSnapshot().response_time_avg, naiveMean(quarters, 1000));
          assert.equal(m.getStats().response_times_count, Math.min(1000, quarters.length));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('getPercentile is 0 on an empty window, for every p', () => {
    const m = new MetricsCollector({ now: clock().now });
    for (const p of [0, 1, 50, 95, 99, 100]) assert.equal(m.getPercentile(p), 0);
    m.recordResponseTime(5);
    m.reset();
    assert.equal(m.getPercentile(50), 0, 'reset empties the window');
  });

  it('getPercentile is the exact nearest rank, as a naive sort (fixed cases)', () => {
    const m = new MetricsCollector({ now: clock().now });
    const xs = [5, 1, 4, 2, 3];
    for (const x of xs) m.recordResponseTime(x);
    // ceil(p/100*5)-1: p=0 -> index -1 -> 0 (the original's `?? 0`).
    assert.equal(m.getPercentile(0), 0);
    assert.equal(m.getPercentile(1), 1);
    assert.equal(m.getPercentile(20), 1);
    assert.equal(m.getPercentile(20.000001), 2);
    assert.equal(m.getPercentile(50), 3);
    assert.equal(m.getPercentile(100), 5);
    for (const p of [0, 1, 20, 20.000001, 50, 95, 99, 100]) {
      assert.equal(m.getPercentile(p), naivePercentile(xs, 1000, p), `p=${p}`);
    }
  });

  for (const windowSize of [undefined, 7]) {
    it(`getPercentile matches a naive sort for random windows and p (fast-check, windowSize ${windowSize ?? 'default 1000'})`, () => {
      const w = windowSize ?? 1000;
      const m = new MetricsCollector({ now: clock().now, windowSize });
      // Samples pushed in batches with queries in between, so the core's
      // lazily maintained sorted mirror is checked after every kind of
      // update (one push, a few, more than a window's worth).
      const sample = fc.oneof(
        fc.integer({ min: 0, max: 50 }), // many ties
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.double({ min: 0, max: 1e9, noNaN: true, noDefaultInfinity: true }),
      );
      const p = fc.oneof(
        fc.constantFrom(0, 1, 50, 90, 95, 99, 99.9, 100),
        fc.double({ min: 0, max: 100, noNaN: true }),
      );
      const step = fc.record({
        push: fc.array(sample, { maxLength: w === 1000 ? 1300 : 20 }),
        ps: fc.array(p, { minLength: 1, maxLength: 4 }),
      });
      fc.assert(
        fc.property(fc.array(step, { minLength: 1, maxLength: 6 }), (steps) => {
          m.reset();
          const all: number[] = [];
          for (const { push, ps } of steps) {
            for (const x of push) {
              m.recordResponseTime(x);
              all.push(x === 0 ? 0 : x); // -0 is stored as 0
            }
            for (const q of ps) {
              assert.equal(m.getPercentile(q), naivePercentile(all, w, q), `p=${q} n=${all.length}`);
            }
            const s = m.getSnapshot();
            assert.equal(s.response_time_p95, naivePercentile(all, w, 95));
            assert.equal(s.response_time_p99, naivePercentile(all, w, 99));
          }
        }),
        { numRuns: w === 1000 ? 120 : 400 },
      );
    });
  }
});

describe('getSnapshot', () => {
  it('fills requests_by_endpoint (by path) and errors_by_type (by error) and the totals', () => {
    const c = clock();
    const m = new MetricsCollector({ now: c.now });
    m.increment('http_requests_total', 1, { method: 'GET', path: '/api/moods/:id' });
    m.increment('http_requests_total', 2, { method: 'POST', path: '/api/moods/:id' });
    m.increment('http_requests_total', 4, { method: 'GET', path: '/health' });
    m.increment('http_requests_total', 8); // unlabelled: in the total only
    m.increment('http_errors_total', 1, { method: 'GET', path: '/x', error: 'TypeError' });
    m.increment('http_errors_total', 2, { method: 'GET', path: '/y', error: 'TypeError' });
    m.increment('http_errors_total', 1, { method: 'GET', path: '/x', error: 'http_503' });
    m.set('active_users', 'gauge', 12);
    m.increment('database_queries_total', 30);
    m.recordResponseTime(10);
    m.recordResponseTime(21);
    c.t = T0 + 1234;
    const s = m.getSnapshot();
    assert.deepEqual({ ...s.requests_by_endpoint }, { '/api/moods/:id': 3, '/health': 4 });
    assert.deepEqual({ ...s.errors_by_type }, { TypeError: 3, http_503: 1 });
    assert.equal(s.requests_total, 15);
    assert.equal(s.errors_total, 4);
    assert.equal(s.active_users, 12);
    assert.equal(s.database_queries, 30);
    assert.equal(s.response_time_avg, 16, 'Math.round(15.5)');
    assert.equal(s.response_time_p95, 21);
    assert.equal(s.response_time_p99, 21);
    assert.equal(s.timestamp, T0 + 1234, 'timestamp is now() at the call');
    assert.deepEqual(Object.keys(s).sort(), [
      'active_users',
      'database_queries',
      'errors_by_type',
      'errors_total',
      'requests_by_endpoint',
      'requests_total',
      'response_time_avg',
      'response_time_p95',
      'response_time_p99',
      'timestamp',
    ]);
  });

  it('by-label objects have no prototype: paths like __proto__ and constructor are plain keys and pollute nothing', () => {
    const m = new MetricsCollector({ now: clock().now });
    const hostile = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'polluted', '__defineGetter__'];
    hostile.forEach((path, i) => m.increment('http_requests_total', i + 1, { method: 'GET', path }));
    hostile.forEach((error, i) => m.increment('http_errors_total', 10 * (i + 1), { error }));
    // Label objects without a prototype, and one with an own `__proto__` key
    // whose VALUE is the string "__proto__", are fine too.
    const nullProto = Object.create(null) as Record<string, string>;
    nullProto.path = '__proto__';
    m.increment('http_requests_total', 100, nullProto);
    const s = m.getSnapshot();
    for (const obj of [s.requests_by_endpoint, s.errors_by_type]) {
      assert.equal(Object.getPrototypeOf(obj), null);
    }
    assert.equal(s.requests_by_endpoint['__proto__'], 1 + 100);
    assert.equal(s.requests_by_endpoint['constructor'], 2);
    assert.equal(s.requests_by_endpoint['toString'], 4);
    assert.equal(s.requests_by_endpoint['polluted'], 6);
    assert.equal(s.errors_by_type['__proto__'], 10);
    assert.equal(s.errors_by_type['constructor'], 20);
    assert.deepEqual(Object.keys(s.requests_by_endpoint).sort(), [...hostile].sort());
    assert.equal(s.requests_total, 1 + 2 + 3 + 4 + 5 + 6 + 7 + 100);
    // Nothing leaked into Object.prototype.
    const probe = {} as Record<string, unknown>;
    assert.equal(probe.polluted, undefined);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(typeof ({}).toString, 'function');
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
  });
});

describe('reset', () => {
  it('returns to the seven built-ins at 0 with an empty window; handles cached before keep working', () => {
    const c = clock();
    const m = new MetricsCollector({ now: c.now, maxSeriesPerMetric: 3 });
    const fresh = new MetricsCollector({ now: c.now, maxSeriesPerMetric: 3 });
    const initial = fresh.toPrometheusFormat();
    for (let i = 0; i < 10; i++) m.increment('http_requests_total', 1, { method: 'GET', path: `/p${i}` });
    m.set('custom_gauge', 'gauge', 3);
    m.set('http_errors_total', 'gauge', 5); // retyped built-in
    m.recordResponseTime(100);
    m.setHelp('custom_gauge', 'help text');
    assert.notEqual(m.toPrometheusFormat(), initial);
    m.reset();
    assert.equal(m.toPrometheusFormat(), initial, 'byte-identical to a fresh collector');
    const st = m.getStats();
    assert.equal(st.metrics_count, 8, 'the seven built-ins and the response-time histogram');
    assert.equal(st.series_count, 8);
    assert.equal(st.response_times_count, 0);
    assert.equal(st.overflow_events, 0);
    assert.equal(st.expired_series, 0);
    assert.equal(m.getPercentile(50), 0);
    // The handle cached for {GET, /p0} before the reset is not reused blindly.
    m.increment('http_requests_total', 1, { method: 'GET', path: '/p0' });
    m.increment('custom_gauge', 2);
    const text = m.toPrometheusFormat();
    assert.deepEqual(familyLines(text, 'http_requests_total'), [
      'http_requests_total 0',
      'http_requests_total{method="GET",path="/p0"} 1',
    ]);
    assert.deepEqual(familyLines(text, 'custom_gauge'), ['custom_gauge 2']);
    assert.deepEqual(typeLines(text).find(([n]) => n === 'custom_gauge'), ['custom_gauge', 'counter'], 'a new counter after reset');
  });
});

describe('cardinality cap', () => {
  it('1000 distinct label sets with maxSeriesPerMetric 10: at most 10 + 1 series, totals right, overflow counted', () => {
    const m = new MetricsCollector({ now: clock().now, maxSeriesPerMetric: 10 });
    for (let i = 0; i < 1000; i++) m.increment('api_calls_total', 1, { user: `u${i}` });
    // A label set that has its own series keeps using it.
    m.increment('api_calls_total', 5, { user: 'u3' });
    // One that was folded into the overflow series is folded again.
    m.increment('api_calls_total', 7, { user: 'u999' });
    const text = m.toPrometheusFormat();
    const lines = familyLines(text, 'api_calls_total');
    assert.equal(lines.length, 11, lines.join('\n'));
    const total = lines.reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    assert.equal(total, 1000 + 5 + 7, 'nothing lost');
    assert.equal(valueOf(text, `api_calls_total{${OVERFLOW_LABEL}="true"}`), 990 + 7);
    assert.equal(valueOf(text, 'api_calls_total{user="u3"}'), 6);
    // Every update folded into the overflow series counts, a repeat too (so
    // the figure does not depend on which handles the facade has cached).
    assert.equal(m.getStats().overflow_events, 990 + 1, '990 folded label sets, u999 once more');

    // The same through getSnapshot on the built-in request counter.
    for (let i = 0; i < 1000; i++) m.increment('http_requests_total', 1, { method: 'GET', path: `/u/${i}` });
    const s = m.getSnapshot();
    assert.equal(s.requests_total, 1000);
    assert.equal(Object.keys(s.requests_by_endpoint).length, 10, 'the overflow series has no path');
    const after = m.toPrometheusFormat();
    assert.equal(familyLines(after, 'http_requests_total').length, 1 + 10 + 1, 'unlabelled + 10 + overflow');
    assert.equal(m.getStats().overflow_events, 991 + 990);
  });
});

describe('stale expiry (fake clock)', () => {
  it('labelled series not updated for more than staleAfterMs disappear; unlabelled ones never', () => {
    const c = clock();
    const m = new MetricsCollector({ now: c.now, staleAfterMs: 1000 });
    m.increment('jobs_total', 1, { job: 'a' });
    m.increment('jobs_total', 1); // unlabelled custom series
    c.t = T0 + 500;
    m.increment('jobs_total', 1, { job: 'b' });
    c.t = T0 + 1000;
    assert.deepEqual(familyLines(m.toPrometheusFormat(), 'jobs_total'), [
      'jobs_total 1',
      'jobs_total{job="a"} 1',
      'jobs_total{job="b"} 1',
    ], 'exactly 1000 ms old is not stale (strictly greater)');
    c.t = T0 + 1001;
    assert.deepEqual(familyLines(m.toPrometheusFormat(), 'jobs_total'), [
      'jobs_total 1',
      'jobs_total{job="b"} 1',
    ]);
    assert.equal(m.getStats().expired_series, 1);
    c.t = T0 + 1501;
    assert.deepEqual(familyLines(m.toPrometheusFormat(), 'jobs_total'), ['jobs_total 1']);
    // Much later: the seven built-ins and unlabelled custom series remain.
    c.t = T0 + 1e9;
    const text = m.toPrometheusFormat();
    for (const [name] of INITIAL_METRICS) assert.deepEqual(familyLines(text, name), [`${name} 0`], name);
    assert.deepEqual(familyLines(text, 'jobs_total'), ['jobs_total 1']);
    assert.equal(m.getStats().expired_series, 2);
  });

  it('a series kept updated does not expire; a family whose series all expired is not shown', () => {
    const c = clock();
    const m = new MetricsCollector({ now: c.now, staleAfterMs: 1000 });
    for (let i = 0; i < 10; i++) {
      c.t = T0 + i * 900;
      m.increment('live_total', 1, { k: 'x' });
    }
    m.set('gone', 'gauge', 1, { k: 'y' });
    c.t = T0 + 9 * 900 + 999;
    let text = m.toPrometheusFormat();
    assert.deepEqual(familyLines(text, 'live_total'), ['live_total{k="x"} 10']);
    assert.deepEqual(familyLines(text, 'gone'), ['gone{k="y"} 1']);
    c.t += 2;
    text = m.toPrometheusFormat();
    assert.deepEqual(familyLines(text, 'live_total'), []);
    assert.ok(!text.includes('# TYPE live_total'), 'no TYPE line for an empty family');
    assert.ok(!text.includes('# TYPE gone'));
  });

  it('a clock stepping backwards does not expire series early', () => {
    const c = clock();
    const m = new MetricsCollector({ now: c.now, staleAfterMs: 1000 });
    m.increment('x_total', 1, { k: 'a' });
    c.t = T0 - 1e6;
    m.increment('x_total', 1, { k: 'b' });
    c.t = T0 + 999;
    assert.equal(familyLines(m.toPrometheusFormat(), 'x_total').length, 2);
  });

  it('an expired series is re-resolved when its labels come back: counts restart at the new value', () => {
    const c = clock();
    const m = new MetricsCollector({ now: c.now, staleAfterMs: 1000 });
    m.increment('hits_total', 1, { page: 'home' });
    m.increment('hits_total', 1, { page: 'home' }); // cached handle in use
    m.set('temp', 'gauge', 30, { room: 'a' });
    c.t = T0 + 5000;
    m.toPrometheusFormat(); // expires both
    m.increment('hits_total', 5, { page: 'home' });
    m.increment('temp', 2, { room: 'a' }); // a gauge no longer: the family is still a gauge, its series is new
    let text = m.toPrometheusFormat();
    assert.deepEqual(familyLines(text, 'hits_total'), ['hits_total{page="home"} 5']);
    assert.deepEqual(familyLines(text, 'temp'), ['temp{room="a"} 2']);
    assert.deepEqual(typeLines(text).find(([n]) => n === 'temp'), ['temp', 'gauge']);

    // Without a scrape in between: a new series' resolve expires stale ones
    // (and may reuse their slot); the old cached handle must not touch it.
    c.t = T0 + 10_000;
    m.increment('hits_total', 1, { page: 'other' }); // expires {home} and {room:a}
    m.increment('hits_total', 1, { page: 'home' });
    m.increment('hits_total', 1, { page: 'home' });
    text = m.toPrometheusFormat();
    assert.deepEqual(familyLines(text, 'hits_total'), [
      'hits_total{page="home"} 2',
      'hits_total{page="other"} 1',
    ]);
    assert.equal(m.getStats().expired_series, 4);
  });

  it('churn: many generations of expiring label sets stay consistent with a model', () => {
    const c = clock();
    const m = new MetricsCollector({ now: c.now, staleAfterMs: 100 });
    const model = new Map<string, { v: number; t: number }>();
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let step = 0; step < 3000; step++) {
      c.t += rnd(30);
      const k = `k${rnd(40)}`;
      const amount = rnd(5) + 1;
      const prev = model.get(k);
      const alive = prev !== undefined && c.t - prev.t <= 100;
      model.set(k, { v: (alive ? prev.v : 0) + amount, t: c.t });
      // Expiry is lazy (bounded work per call, all of it at a scrape): a
      // stale series updated before anything dropped it just continues. So
      // scrape first whenever this key's series is stale (and at random
      // otherwise): then the update must start a new series at `amount`,
      // through a cached handle that has gone stale.
      if ((prev !== undefined && !alive) || rnd(2) === 0) m.toPrometheusFormat();
      m.increment('churn_total', amount, { k });
      const text = m.toPrometheusFormat();
      for (const [key, e] of model) {
        const got = valueOf(text, `churn_total{k="${key}"}`);
        const want = c.t - e.t <= 100 ? e.v : undefined;
        assert.equal(got, want, `step ${step} key ${key}`);
      }
    }
  });
});

describe('getMemoryStats', () => {
  it('reports metrics_count, a bounded response_times_count and a positive wasm_memory_bytes', () => {
    metricsCollector.reset();
    let s = getMemoryStats();
    for (const k of ['cache_size', 'cache_memory_kb', 'metrics_count', 'response_times_count', 'wasm_memory_bytes'] as const) {
      assert.equal(typeof s[k], 'number', k);
      assert.ok(Number.isFinite(s[k]), k);
    }
    assert.equal(s.metrics_count, metricsCollector.getStats().metrics_count);
    assert.ok(s.metrics_count >= 7);
    assert.equal(s.response_times_count, 0);
    assert.ok(s.wasm_memory_bytes > 0);
    assert.equal(s.wasm_memory_bytes % 65536, 0, 'whole Wasm pages');
    metricsCollector.increment('mem_test_total', 1);
    for (let i = 0; i < 1500; i++) metricsCollector.recordResponseTime(i);
    s = getMemoryStats();
    assert.equal(s.response_times_count, 1000, 'bounded by the window');
    assert.equal(s.metrics_count, metricsCollector.getStats().metrics_count);
    assert.ok(s.metrics_memory_kb > 0);
    metricsCollector.reset();
    assert.equal(getMemoryStats().response_times_count, 0);
  });
});
