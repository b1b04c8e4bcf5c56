// Differential test of bounded-services/metrics against the model of
// MoodMash's original src/services/metrics.ts (tests/oracles/), for
// UNLABELLED use, where the two must agree: random sequences of set /
// increment / recordResponseTime / getPercentile / getSnapshot / reset /
// toPrometheusFormat, run on both with the same fake clock.
//
// Domain (where the original's behaviour is not deliberately changed):
// - set: types counter and gauge only (a histogram `set` observes one value
//   in ours; the original printed an invalid `histogram` line); counters
//   set to integers >= 0 (ours rejects negative counter values); gauges to
//   any integer.
// - increment: no labels, amount omitted (default 1) or a positive integer.
// - recordResponseTime: integers >= 0 (ours rejects NaN, negatives and
//   infinities); bursts of up to 1300 samples so the 1000-sample window
//   slides. This is the buffered hot path against the reference model:
//   ours stages up to 256 samples in JavaScript and records them in one
//   engine call, and every read below must see all of them; a read after a
//   burst rebuilds the window's index (counts when every sample is a whole
//   ms below 4096, else a sorted mirror).
// - getPercentile: p in [0, 100] (ours rejects the rest).
// - names: the seven built-ins and a few custom ones; never
//   `http_request_duration_seconds` (ours registers it as a histogram) nor the
//   reserved `http_response_time_p95/p99`.
// Integers keep every sum exact, so the original's `reduce` mean and the
// core's running mean are the same double.
//
// Run: node --expose-gc --import tsx --test tests/ts/metrics-differential.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { MetricsCollector, type MetricsSnapshot } from 'bounded-services/metrics';
import { createOriginalMetrics, type OriginalMetricsCollector } from '../oracles/index.js';

const T0 = 1_700_000_000_000;

const NAMES = [
  'http_requests_total',
  'http_errors_total',
  'database_queries_total',
  'auth_attempts_total',
  'auth_failures_total',
  'active_users',
  'response_time_ms',
  'custom_a',
  'custom_b_total',
  'jobs',
] as const;

type Cmd =
  | { op: 'set'; name: string; type: 'counter' | 'gauge'; value: number }
  | { op: 'increment'; name: string; amount: number | undefined }
  | { op: 'record'; samples: number[] }
  | { op: 'percentile'; p: number }
  | { op: 'snapshot' }
  | { op: 'expose' }
  | { op: 'reset' }
  | { op: 'tick'; ms: number };

const name = fc.constantFrom(...NAMES);
const ms = fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 100_000 }));
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    arbitrary: fc.oneof(
      fc.record({ op: fc.constant('set' as const), name, type: fc.constant('counter' as const), value: fc.nat({ max: 1_000_000 }) }),
      fc.record({ op: fc.constant('set' as const), name, type: fc.constant('gauge' as const), value: fc.integer({ min: -1_000_000, max: 1_000_000 }) }),
    ),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('increment' as const),
      name,
      amount: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('record' as const),
      samples: fc.oneof(
        { arbitrary: fc.array(ms, { minLength: 1, maxLength: 3 }), weight: 8 },
        { arbitrary: fc.array(ms, { minLength: 900, maxLength: 1300 }), weight: 1 },
        // Whole ms below 4096 only: the window is read from its counts.
        { arbitrary: fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 900, maxLength: 1300 }), weight: 1 },
      ),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('percentile' as const),
      p: fc.oneof(fc.constantFrom(0, 50, 95, 99, 100), fc.double({ min: 0, max: 100, noNaN: true })),
    }),
    weight: 3,
  },
  { arbitrary: fc.constant({ op: 'snapshot' as const }), weight: 2 },
  { arbitrary: fc.constant({ op: 'expose' as const }), weight: 2 },
  { arbitrary: fc.constant({ op: 'reset' as const }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.nat({ max: 10_000_000 }) }), weight: 1 },
);

/**
 * Our exposition restricted to the original's lines. Ours differs from the
 * original's exactly by (all documented in ts-bindings/metrics.ts and
 * src/exposition.rs):
 * 1. one `# HELP` line before each `# TYPE` line (the seven built-ins, the
 *    histogram and the two percentile gauges have HELP text; families
 *    created by `set`/`increment` have none);
 * 2. the added `http_request_duration_seconds` histogram family (its HELP and
 *    TYPE lines, 12 `_bucket` lines, `_sum` and `_count`), right after
 *    `response_time_ms` (registered after the seven built-ins);
 * 3. a trailing newline (the 0.0.4 format ends every line with `\n`; the
 *    original joined its lines with `\n` and ended without one).
 * Everything else (family order, TYPE lines, sample lines and value
 * spelling, the p95/p99 gauges at the end) must be byte-identical.
 */
function restrictToOriginal(ours: string): string {
  assert.ok(ours.endsWith('\n'), 'ours ends with a newline');
  return ours
    .slice(0, -1)
    .split('\n')
    .filter(
      (l) =>
        !l.startsWith('# HELP ') &&
        l !== '# TYPE http_request_duration_seconds histogram' &&
        !l.startsWith('http_request_duration_seconds_'),
    )
    .join('\n');
}

function comparableSnapshot(s: MetricsSnapshot): Omit<MetricsSnapshot, 'requests_by_endpoint' | 'errors_by_type' | 'timestamp'> {
  const { requests_by_endpoint: _r, errors_by_type: _e, timestamp: _t, ...rest } = s;
  return rest;
}

/** Every metric's value in the original, and the same read from ours. */
function assertSameValues(ours: MetricsCollector, orig: OriginalMetricsCollector, where: string): void {
  const text = ours.toPrometheusFormat();
  const lines = new Map<string, string>();
  for (const l of text.split('\n')) {
    if (l === '' || l.startsWith('#')) continue;
    const i = l.lastIndexOf(' ');
    lines.set(l.slice(0, i), l.slice(i + 1));
  }
  const typeOf = new Map<string, string>();
  for (const l of text.split('\n')) {
    if (l.startsWith('# TYPE ')) {
      const [, , n, t] = l.split(' ');
      typeOf.set(n!, t!);
    }
  }
  for (const m of orig.metrics.values()) {
    assert.equal(Number(lines.get(m.name)), m.value, `${where}: value of ${m.name}`);
    assert.equal(typeOf.get(m.name), m.type, `${where}: type of ${m.name}`);
  }
  // No other counter/gauge family in ours (the histogram and the two
  // percentile gauges are the documented additions).
  const extra = [...typeOf.keys()].filter(
    (n) => !orig.metrics.has(n) && !['http_request_duration_seconds', 'http_response_time_p95', 'http_response_time_p99'].includes(n),
  );
  assert.deepEqual(extra, [], `${where}: families only in ours`);
}

function run(cmds: Cmd[], ours: MetricsCollector, orig: OriginalMetricsCollector, c: { t: number }): void {
  cmds.forEach((k, i) => {
    const where = `step ${i} ${JSON.stringify(k).slice(0, 120)}`;
    switch (k.op) {
      case 'set':
        ours.set(k.name, k.type, k.value);
        orig.set(k.name, k.type, k.value);
        break;
      case 'increment':
        if (k.amount === undefined) {
          ours.increment(k.name);
          orig.increment(k.name);
        } else {
          ours.increment(k.name, k.amount);
          orig.increment(k.name, k.amount);
        }
        break;
      case 'record':
        for (const x of k.samples) {
          ours.recordResponseTime(x);
          orig.recordResponseTime(x);
        }
        assert.equal(ours.getStats().response_times_count, orig.responseTimes.length, where);
        break;
      case 'percentile':
        assert.equal(ours.getPercentile(k.p), orig.getPercentile(k.p), where);
        break;
      case 'snapshot': {
        const a = ours.getSnapshot();
        const b = orig.getSnapshot();
        assert.deepEqual(comparableSnapshot(a), comparableSnapshot(b), where);
        // The fields the original never filled: ours has no keys for them
        // either, since no labels were used.
        assert.deepEqual(b.requests_by_endpoint, {});
        assert.deepEqual(b.errors_by_type, {});
        assert.deepEqual(Object.keys(a.requests_by_endpoint), [], where);
        assert.deepEqual(Object.keys(a.errors_by_type), [], where);
        assert.equal(a.timestamp, b.timestamp, `${where}: both read the same fake clock`);
        break;
      }
      case 'expose':
        assert.equal(restrictToOriginal(ours.toPrometheusFormat()), orig.toPrometheusFormat(), where);
        break;
      case 'reset':
        ours.reset();
        orig.reset();
        break;
      case 'tick':
        c.t += k.ms;
        break;
    }
  });
  // Final state: everything compared.
  assertSameValues(ours, orig, 'end');
  assert.equal(restrictToOriginal(ours.toPrometheusFormat()), orig.toPrometheusFormat(), 'end: exposition');
  assert.deepEqual(comparableSnapshot(ours.getSnapshot()), comparableSnapshot(orig.getSnapshot()), 'end: snapshot');
  for (const p of [0, 1, 25, 50, 75, 90, 95, 99, 100]) {
    assert.equal(ours.getPercentile(p), orig.getPercentile(p), `end: p${p}`);
  }
}

describe('differential: unlabelled use against the original model', () => {
  it('agrees on values, percentiles, snapshots and exposition (fast-check, 1000 runs)', () => {
    const c = { t: T0 };
    const now = () => c.t;
    // One collector of ours for all runs (reset between runs, which is also
    // under test); a fresh original per run.
    const ours = new MetricsCollector({ now });
    fc.assert(
      fc.property(fc.array(cmd, { minLength: 1, maxLength: 40 }), (cmds) => {
        c.t = T0;
        ours.reset();
        const orig = createOriginalMetrics({ now });
        run(cmds, ours, orig, c);
      }),
      { numRuns: 1000 },
    );
  });

  it('a fresh collector of each agrees before any call', () => {
    const now = () => T0;
    const ours = new MetricsCollector({ now });
    const orig = createOriginalMetrics({ now });
    assert.equal(restrictToOriginal(ours.toPrometheusFormat()), orig.toPrometheusFormat());
    assertSameValues(ours, orig, 'fresh');
    assert.deepEqual(comparableSnapshot(ours.getSnapshot()), comparableSnapshot(orig.getSnapshot()));
  });

  it('gauges set to any double: the exposed values are the same numbers (spelling may differ)', () => {
    // Finite values are spelled as JavaScript does (shortest round trip,
    // `1e+21`, `2.5e-7`), except that the two differ, with the same meaning,
    // on (ours follows the 0.0.4 format):
    //   -0        ours "-0"     original "0"           (JS template literal)
    //   Infinity  ours "+Inf"   original "Infinity"    (the original's is not valid exposition)
    //   -Infinity ours "-Inf"   original "-Infinity"   (idem)
    //   NaN       "NaN" in both
    // So this compares parsed numbers (with -0 == 0), not text. (The
    // snapshot differs too for NaN and -0 gauges: the original model reads
    // `value || 0`, an assumption of tests/oracles/README.md; ours returns
    // the value.)
    const parse = (s: string): number =>
      s === '+Inf' || s === 'Infinity' ? Infinity : s === '-Inf' || s === '-Infinity' ? -Infinity : Number(s);
    const valueLine = (text: string, n: string) => {
      const l = text.split('\n').find((x) => x.startsWith(`${n} `));
      assert.ok(l !== undefined, n);
      return parse(l.slice(n.length + 1));
    };
    const ours = new MetricsCollector({ now: () => T0 });
    fc.assert(
      fc.property(fc.constantFrom('active_users', 'jobs', 'response_time_ms'), fc.double(), (n, v) => {
        ours.reset();
        const orig = createOriginalMetrics({ now: () => T0 });
        ours.set(n, 'gauge', v);
        orig.set(n, 'gauge', v);
        const a = valueLine(ours.toPrometheusFormat(), n);
        const b = valueLine(orig.toPrometheusFormat(), n);
        assert.ok(a === b || (Number.isNaN(a) && Number.isNaN(b)), `${v}: ours ${a}, original ${b}`);
      }),
      { numRuns: 1000 },
    );
  });

  it('a long run sliding the window several times agrees at every step', () => {
    const c = { t: T0 };
    const now = () => c.t;
    const ours = new MetricsCollector({ now });
    const orig = createOriginalMetrics({ now });
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let i = 0; i < 4000; i++) {
      const x = rnd(3) === 0 ? rnd(5000) : rnd(100);
      ours.recordResponseTime(x);
      orig.recordResponseTime(x);
      if (i % 37 === 0) {
        const p = rnd(10001) / 100;
        assert.equal(ours.getPercentile(p), orig.getPercentile(p), `i=${i} p=${p}`);
        assert.deepEqual(comparableSnapshot(ours.getSnapshot()), comparableSnapshot(orig.getSnapshot()), `i=${i}`);
      }
    }
    assert.equal(restrictToOriginal(ours.toPrometheusFormat()), orig.toPrometheusFormat());
  });
});
