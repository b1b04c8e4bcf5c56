// Hostile input to bounded-services/metrics: every refused call throws the
// typed error the facade documents (TypeError for a wrong shape, RangeError
// for a value out of range), with a message that says what was wrong, and
// changes nothing: the exposition afterwards is byte-identical to before.
// Each case runs both on a cold name (resolved through the string path) and,
// where it applies, on a series whose handle the facade has cached (the
// numeric hot path), since the two paths check input in different places.
// Run: node --expose-gc --import tsx --test tests/ts/metrics-hostile.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { MetricsCollector } from 'bounded-services/metrics';

const T0 = 1_700_000_000_000;

type ErrorClass = typeof TypeError | typeof RangeError;

/** A collector with some state, and its hot (cached) series. */
function seeded(): MetricsCollector {
  const m = new MetricsCollector({ now: () => T0 });
  m.increment('http_requests_total', 1, { method: 'GET', path: '/hot' });
  m.increment('http_requests_total', 1, { method: 'GET', path: '/hot' });
  m.increment('hot_total');
  m.increment('hot_total');
  m.set('hot_gauge', 'gauge', 5, { k: 'v' });
  m.increment('hot_gauge', 1, { k: 'v' });
  m.observe('hot_hist', 3, { k: 'v' });
  m.observe('hot_hist', 4, { k: 'v' });
  for (const x of [5, 1, 9, 7]) m.recordResponseTime(x);
  return m;
}

function state(m: MetricsCollector) {
  const { heap_bytes_estimate: _h, ...stats } = m.getStats();
  const { timestamp: _t, ...snapshot } = m.getSnapshot();
  return {
    text: m.toPrometheusFormat(),
    stats,
    snapshot: JSON.stringify({ ...snapshot, requests_by_endpoint: { ...snapshot.requests_by_endpoint }, errors_by_type: { ...snapshot.errors_by_type } }),
    p50: m.getPercentile(50),
  };
}

/** `call` throws exactly `cls` with a message matching `message`; nothing changes. */
function refused(m: MetricsCollector, what: string, call: () => unknown, cls: ErrorClass, message: RegExp): void {
  const before = state(m);
  let thrown: unknown;
  try {
    call();
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown !== undefined, `${what}: did not throw`);
  assert.equal((thrown as Error).constructor, cls, `${what}: ${String(thrown)}`);
  assert.match((thrown as Error).message, /^bounded-services\/metrics: /, what);
  assert.match((thrown as Error).message, message, what);
  const after = state(m);
  assert.equal(after.text, before.text, `${what}: exposition byte-identical`);
  assert.deepEqual(after.stats, before.stats, `${what}: stats unchanged`);
  assert.equal(after.snapshot, before.snapshot, `${what}: snapshot unchanged`);
  assert.equal(after.p50, before.p50, `${what}: window unchanged`);
}

describe('invalid metric names', () => {
  const cases: Array<[unknown, ErrorClass, RegExp]> = [
    ['', TypeError, /invalid metric name "": must not be empty/],
    ['1abc', TypeError, /invalid metric name "1abc": must start with a letter, '_' or ':'/],
    ['a-b', TypeError, /invalid metric name "a-b": may only contain letters, digits, '_' and ':'/],
    ['a b', TypeError, /invalid metric name "a b": may only contain/],
    ['métrique', TypeError, /invalid metric name "métrique": may only contain/],
    // Names are quoted as they are in messages (a newline stays a newline).
    ['a\nb', TypeError, /invalid metric name "a\nb": may only contain/],
    ['x'.repeat(257), TypeError, /longer than 256 bytes/],
    [42, TypeError, /metric name must be a string, got 42/],
    [undefined, TypeError, /metric name must be a string, got undefined/],
    [null, TypeError, /metric name must be a string, got null/],
    [{ toString: () => 'ok_name' }, TypeError, /metric name must be a string, got object/],
    [Symbol('s'), TypeError, /metric name must be a string, got symbol/],
  ];
  for (const [name, cls, msg] of cases) {
    const label = typeof name === 'symbol' ? 'Symbol(s)' : typeof name === 'string' ? JSON.stringify(name.slice(0, 20)) : String(name);
    it(`${label}: increment, set, observe refuse it`, () => {
      const m = seeded();
      const n = name as string;
      refused(m, `increment ${label}`, () => m.increment(n), cls, msg);
      refused(m, `increment ${label} labelled`, () => m.increment(n, 1, { a: 'b' }), cls, msg);
      refused(m, `set ${label}`, () => m.set(n, 'gauge', 1), cls, msg);
      refused(m, `observe ${label}`, () => m.observe(n, 1), cls, msg);
    });
  }

  it('reserved names: the percentile gauges, histogram _bucket/_sum/_count clashes', () => {
    const m = seeded();
    refused(m, 'p95', () => m.increment('http_response_time_p95'), TypeError, /reserved for the response-time percentile gauges/);
    refused(m, 'p99 set', () => m.set('http_response_time_p99', 'gauge', 1), TypeError, /reserved/);
    refused(m, '_count of a histogram', () => m.increment('http_request_duration_seconds_count'), TypeError, /clashes with the _bucket\/_sum\/_count series/);
    refused(m, '_sum of a custom histogram', () => m.set('hot_hist_sum', 'gauge', 1), TypeError, /clashes/);
    m.increment('plain_bucket');
    refused(m, 'histogram whose _bucket exists', () => m.observe('plain', 1), TypeError, /would clash with an existing metric/);
  });
});

describe('invalid label names', () => {
  it('__x, a-b, empty, leading digit, the overflow label: refused on every metric type', () => {
    const m = seeded();
    const cases: Array<[string, RegExp]> = [
      ['__x', /invalid label name "__x" for metric "[a-z_]+": names starting with '__' are reserved/],
      ['__name__', /reserved by Prometheus/],
      ['a-b', /invalid label name "a-b" .*may only contain letters, digits and '_'/],
      ['a b', /invalid label name "a b"/],
      ['', /invalid label name "" .*must not be empty/],
      ['1a', /invalid label name "1a" .*must start with a letter or '_'/],
      ['é', /invalid label name "é"/],
      ['bs_overflow', /reserved for the series that absorbs label sets past the cardinality cap/],
      ['x'.repeat(257), /longer than 256 bytes/],
    ];
    for (const [label, msg] of cases) {
      refused(m, `increment cold ${label}`, () => m.increment('cold_total', 1, { [label]: 'v' }), TypeError, msg);
      // Hot name, the label added to a cached label set.
      refused(m, `increment hot ${label}`, () => m.increment('http_requests_total', 1, { method: 'GET', path: '/hot', [label]: 'v' }), TypeError, msg);
      refused(m, `set ${label}`, () => m.set('hot_gauge', 'gauge', 1, { [label]: 'v' }), TypeError, msg);
      refused(m, `observe ${label}`, () => m.observe('hot_hist', 1, { [label]: 'v' }), TypeError, msg);
    }
  });

  it("'le' is refused on a histogram only", () => {
    const m = seeded();
    const msg = /invalid label name "le" for metric "[a-z_0-9]+": 'le' is reserved on histograms/;
    refused(m, 'observe le', () => m.observe('hot_hist', 1, { le: '5' }), TypeError, msg);
    refused(m, 'observe le new', () => m.observe('new_hist', 1, { le: '5' }), TypeError, msg);
    refused(m, 'set histogram le', () => m.set('new_hist2', 'histogram', 1, { le: '5' }), TypeError, msg);
    refused(m, 'set retype to histogram le', () => m.set('hot_gauge', 'histogram', 1, { le: '5' }), TypeError, msg);
    // On a counter or gauge it is an ordinary label.
    m.increment('le_ok_total', 1, { le: 'x' });
    m.set('le_ok_gauge', 'gauge', 2, { le: 'y' });
    const text = m.toPrometheusFormat();
    assert.ok(text.includes('le_ok_total{le="x"} 1\n'));
    assert.ok(text.includes('le_ok_gauge{le="y"} 2\n'));
  });
});

describe('invalid label values and label sets', () => {
  it('non-string values (number, undefined, object, null, boolean, symbol, bigint, function) are TypeErrors', () => {
    const m = seeded();
    const cases: Array<[unknown, RegExp]> = [
      [5, /label "path" must be a string, got 5/],
      [undefined, /label "path" must be a string, got undefined/],
      [{ toString: () => '/x' }, /label "path" must be a string, got object/],
      [null, /label "path" must be a string, got null/],
      [true, /label "path" must be a string, got true/],
      [Symbol('s'), /label "path" must be a string, got symbol/],
      [10n, /label "path" must be a string, got bigint/],
      [() => '/x', /label "path" must be a string, got function/],
      [new String('/hot'), /label "path" must be a string, got object/],
    ];
    for (const [v, msg] of cases) {
      const labels = { method: 'GET', path: v } as unknown as Record<string, string>;
      refused(m, `hot ${String(typeof v)}`, () => m.increment('http_requests_total', 1, labels), TypeError, msg);
      refused(m, `cold ${String(typeof v)}`, () => m.increment('cold_total', 1, labels), TypeError, msg);
      refused(m, `set ${String(typeof v)}`, () => m.set('hot_gauge', 'gauge', 1, labels), TypeError, msg);
      refused(m, `observe ${String(typeof v)}`, () => m.observe('hot_hist', 1, labels), TypeError, msg);
      // First label bad, before any cached prefix could match.
      refused(m, `first ${String(typeof v)}`, () => m.increment('http_requests_total', 1, { path: v, method: 'GET' } as unknown as Record<string, string>), TypeError, msg);
    }
  });

  it('a labels argument that is not an object is a TypeError', () => {
    const m = seeded();
    for (const labels of ['method=GET', 5, null, true]) {
      const l = labels as unknown as Record<string, string>;
      refused(m, `labels ${String(labels)}`, () => m.increment('http_requests_total', 1, l), TypeError, /labels must be an object, got/);
      refused(m, `labels cold ${String(labels)}`, () => m.increment('cold_total', 1, l), TypeError, /labels must be an object/);
      refused(m, `labels set ${String(labels)}`, () => m.set('hot_gauge', 'gauge', 1, l), TypeError, /labels must be an object/);
    }
  });

  it('only own enumerable string keys are labels (inherited properties are ignored)', () => {
    const m = new MetricsCollector({ now: () => T0 });
    const labels = Object.create({ inherited: 'nope' }) as Record<string, string>;
    labels.own = 'yes';
    Object.defineProperty(labels, 'hidden', { value: 'x', enumerable: false });
    (labels as Record<symbol, string>)[Symbol('s')] = 'x';
    m.increment('own_total', 1, labels);
    assert.ok(m.toPrometheusFormat().includes('own_total{own="yes"} 1\n'));
  });

  it('more than 16 labels is a RangeError; exactly 16 is fine; the limit is an option', () => {
    const m = seeded();
    const make = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}`, `v${i}`]));
    refused(m, '17 cold', () => m.increment('many_total', 1, make(17)), RangeError, /17 labels given, the maximum is 16 per series/);
    refused(m, '100 set', () => m.set('hot_gauge', 'gauge', 1, make(100)), RangeError, /100 labels given, the maximum is 16/);
    refused(m, '17 observe', () => m.observe('hot_hist', 1, make(17)), RangeError, /17 labels given/);
    m.increment('many_total', 1, make(16));
    m.increment('many_total', 1, make(16)); // now through the cached handle
    refused(m, '17 after a cached 16', () => m.increment('many_total', 1, make(17)), RangeError, /17 labels given/);
    // Labels are written sorted by name (byte order): l0, l1, l10, ..., l9.
    assert.ok(m.toPrometheusFormat().includes(',l8="v8",l9="v9"} 2\n'));
    const few = new MetricsCollector({ now: () => T0, maxLabels: 2 });
    few.increment('f_total', 1, make(2));
    refused(few, '3 of 2', () => few.increment('f_total', 1, make(3)), RangeError, /3 labels given, the maximum is 2/);
  });

  it('a value over the length limit is a RangeError naming the label and the sizes', () => {
    const m = seeded();
    refused(m, 'long hot', () => m.increment('http_requests_total', 1, { method: 'GET', path: 'p'.repeat(2000) }), RangeError, /value of label "path" is 2000 UTF-8 bytes long, the maximum is 1024/);
    refused(m, 'long multibyte', () => m.increment('cold_total', 1, { v: '€'.repeat(400) }), RangeError, /value of label "v" is 1200 UTF-8 bytes long/);
  });
});

describe('response times', () => {
  it('NaN, negative and infinite durations are RangeErrors; non-numbers TypeErrors; the window is unchanged', () => {
    const m = seeded();
    const cases: Array<[unknown, ErrorClass, RegExp]> = [
      [NaN, RangeError, /response time must be a finite number, got NaN/],
      [-1, RangeError, /response time must not be negative, got -1/],
      [-1e-300, RangeError, /response time must not be negative/],
      [Infinity, RangeError, /response time must be a finite number, got inf/i],
      [-Infinity, RangeError, /response time must be a finite number/],
      ['5', TypeError, /response time must be a number of ms, got "5"/],
      [undefined, TypeError, /response time must be a number of ms, got undefined/],
      [null, TypeError, /got null/],
      [{ valueOf: () => 5 }, TypeError, /got object/],
      [5n, TypeError, /got bigint/],
    ];
    for (const [v, cls, msg] of cases) {
      refused(m, `duration ${String(v)}`, () => m.recordResponseTime(v as number), cls, msg);
    }
    assert.equal(m.getStats().response_times_count, 4);
    // -0 is accepted and stored as 0.
    m.recordResponseTime(-0);
    assert.equal(m.getStats().response_times_count, 5);
    assert.ok(Object.is(m.getPercentile(1), 0));
  });

  it('percentiles NaN, out of [0, 100] are RangeErrors; non-numbers TypeErrors', () => {
    const m = seeded();
    const cases: Array<[unknown, ErrorClass, RegExp]> = [
      [NaN, RangeError, /percentile must be a number in \[0, 100\], got NaN/],
      [-1, RangeError, /percentile must be a number in \[0, 100\], got -1/],
      [101, RangeError, /got 101/],
      [100.00000000001, RangeError, /percentile must be a number in \[0, 100\]/],
      [-1e-300, RangeError, /percentile must be a number in \[0, 100\]/],
      [Infinity, RangeError, /percentile must be a number in \[0, 100\]/],
      ['50', TypeError, /percentile must be a number, got "50"/],
      [undefined, TypeError, /percentile must be a number, got undefined/],
      [null, TypeError, /got null/],
    ];
    for (const [p, cls, msg] of cases) {
      refused(m, `p ${String(p)}`, () => m.getPercentile(p as number), cls, msg);
    }
    // The bounds themselves are fine, and so is -0.
    assert.equal(m.getPercentile(0), 0);
    assert.equal(m.getPercentile(-0), 0);
    assert.equal(m.getPercentile(100), 9);
  });
});

describe('values', () => {
  it('counter increments: negative, NaN and infinite amounts are RangeErrors; non-numbers TypeErrors', () => {
    const m = seeded();
    const cases: Array<[unknown, ErrorClass, RegExp]> = [
      [-1, RangeError, /counter increment must not be negative, got -1/],
      [-0.5, RangeError, /must not be negative, got -0.5/],
      [NaN, RangeError, /counter increment must be a finite number, got NaN/],
      [Infinity, RangeError, /counter increment must be a finite number/],
      [-Infinity, RangeError, /counter increment must be a finite number/],
      ['1', TypeError, /amount must be a number, got "1"/],
      [null, TypeError, /amount must be a number, got null/],
      [1n, TypeError, /amount must be a number, got bigint/],
    ];
    for (const [a, cls, msg] of cases) {
      const amount = a as number;
      refused(m, `hot unlabelled ${String(a)}`, () => m.increment('hot_total', amount), cls, msg);
      refused(m, `hot labelled ${String(a)}`, () => m.increment('http_requests_total', amount, { method: 'GET', path: '/hot' }), cls, msg);
      refused(m, `built-in ${String(a)}`, () => m.increment('http_errors_total', amount), cls, msg);
      refused(m, `cold ${String(a)}`, () => m.increment('brand_new_total', amount, { k: 'v' }), cls, msg);
    }
    // A refused first increment of a new name created nothing.
    assert.ok(!m.toPrometheusFormat().includes('brand_new_total'));
  });

  it('gauges: NaN increments refused, infinities allowed; counters cannot be set negative or non-finite', () => {
    const m = seeded();
    refused(m, 'gauge += NaN', () => m.increment('hot_gauge', NaN, { k: 'v' }), RangeError, /gauge increment must be a finite number, got NaN/);
    refused(m, 'counter = -1', () => m.set('hot_total', 'counter', -1), RangeError, /counter value must not be negative, got -1/);
    refused(m, 'counter = NaN', () => m.set('hot_total', 'counter', NaN), RangeError, /counter value must be a finite number/);
    refused(m, 'retype to counter = -1', () => m.set('hot_gauge', 'counter', -1, { k: 'v' }), RangeError, /counter value must not be negative/);
    refused(m, 'set value "1"', () => m.set('hot_gauge', 'gauge', '1' as unknown as number), TypeError, /value must be a number, got "1"/);
    refused(m, 'set type summary', () => m.set('hot_gauge', 'summary' as 'gauge', 1), TypeError, /type must be 'counter', 'gauge' or 'histogram', got "summary"/);
    // Names of Object.prototype members are not types either.
    for (const t of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      refused(m, `set type ${t}`, () => m.set('hot_gauge', t as 'gauge', 1), TypeError, /type must be 'counter', 'gauge' or 'histogram'/);
      refused(m, `set type ${t} new`, () => m.set('brand_new', t as 'gauge', 1), TypeError, /type must be/);
    }
    refused(m, 'set type undefined', () => m.set('hot_gauge', undefined as unknown as 'gauge', 1), TypeError, /type must be/);
    refused(m, 'set type Counter', () => m.set('hot_gauge', 'Counter' as 'gauge', 1), TypeError, /got "Counter"/);
    refused(m, 'histogram set NaN', () => m.set('hot_hist', 'histogram', NaN, { k: 'v' }), RangeError, /observation must be a finite number/);
    refused(m, 'observe Infinity', () => m.observe('hot_hist', Infinity, { k: 'v' }), RangeError, /observation must be a finite number/);
    refused(m, 'observe "1"', () => m.observe('hot_hist', '1' as unknown as number), TypeError, /value must be a number, got "1"/);
    m.increment('hot_gauge', Infinity, { k: 'v' });
    assert.ok(m.toPrometheusFormat().includes('hot_gauge{k="v"} +Inf\n'));
  });

  it('operations that do not fit the metric type are TypeErrors', () => {
    const m = seeded();
    refused(m, 'increment a histogram', () => m.increment('hot_hist', 1, { k: 'v' }), TypeError, /cannot (increment|add to) metric "hot_hist": it is a histogram/);
    refused(m, 'increment the built-in histogram', () => m.increment('http_request_duration_seconds'), TypeError, /it is a histogram/);
    refused(m, 'observe a counter', () => m.observe('hot_total', 1), TypeError, /cannot observe metric "hot_total": it is a counter/);
    refused(m, 'observe a gauge (hot)', () => m.observe('hot_gauge', 1, { k: 'v' }), TypeError, /cannot observe metric "hot_gauge": it is a gauge/);
    // With a label set the metric does not have yet: no empty series is
    // created for the refused call.
    refused(m, 'observe a counter, new labels', () => m.observe('hot_total', 1, { k: 'new' }), TypeError, /cannot observe metric "hot_total": it is a counter/);
    refused(m, 'observe a built-in counter, new labels', () => m.observe('http_requests_total', 1, { method: 'PUT', path: '/n' }), TypeError, /it is a counter/);
    refused(m, 'increment a histogram, new labels', () => m.increment('hot_hist', 1, { k: 'new' }), TypeError, /cannot add to metric "hot_hist": it is a histogram/);
    refused(m, 'increment the built-in histogram, new labels', () => m.increment('http_request_duration_seconds', 1, { k: 'new' }), TypeError, /it is a histogram/);
    refused(m, 'observe NaN, new histogram', () => m.observe('new_hist', NaN), RangeError, /observation must be a finite number, got NaN/);
    refused(m, 'observe -Infinity, new labels', () => m.observe('hot_hist', -Infinity, { k: 'new' }), RangeError, /observation must be a finite number, got -Infinity/);
    refused(m, 'gauge += NaN, new labels', () => m.increment('hot_gauge', NaN, { k: 'new' }), RangeError, /gauge increment must be a finite number/);
  });
});

describe('options', () => {
  it('invalid numeric options are RangeErrors at construction', () => {
    for (const [opts, msg] of [
      [{ maxSeriesPerMetric: 0 }, /maxSeriesPerMetric must be a positive integer, got 0/],
      [{ maxSeriesPerMetric: 1.5 }, /maxSeriesPerMetric must be a positive integer, got 1.5/],
      [{ maxMetrics: -1 }, /maxMetrics/],
      [{ windowSize: NaN }, /windowSize must be a positive integer, got NaN/],
      [{ maxLabelValueLength: '10' }, /maxLabelValueLength must be a positive integer, got "10"/],
      [{ maxLabels: Infinity }, /maxLabels/],
      [{ staleAfterMs: 0 }, /staleAfterMs must be a positive number or Infinity, got 0/],
      [{ staleAfterMs: NaN }, /staleAfterMs/],
    ] as Array<[Record<string, unknown>, RegExp]>) {
      assert.throws(() => new MetricsCollector(opts as never), (e: unknown) => e instanceof RangeError && msg.test(e.message), JSON.stringify(opts));
    }
    assert.throws(() => new MetricsCollector({ now: 5 as unknown as () => number }), TypeError);
    assert.throws(() => new MetricsCollector({ buckets: ['1'] as unknown as number[] }), TypeError);
    assert.throws(() => new MetricsCollector(null as never), TypeError);
  });

  it('invalid bucket bounds are a RangeError at construction, checked by the core', () => {
    for (const buckets of [[2, 1], [1, 1], [NaN], [1, Infinity]]) {
      assert.throws(
        () => new MetricsCollector({ buckets }),
        (e: unknown) => e instanceof RangeError && /buckets/.test(e.message),
        JSON.stringify(buckets),
      );
    }
  });

  it('an empty bucket list means the +Inf bucket alone', () => {
    const m = new MetricsCollector({ buckets: [] });
    m.recordResponseTime(5);
    const lines = m.toPrometheusFormat().split('\n').filter((l) => l.startsWith('http_request_duration_seconds_bucket'));
    assert.deepEqual(lines, ['http_request_duration_seconds_bucket{le="+Inf"} 1']);
  });
});

describe('after all of it', () => {
  it('a collector that refused every kind of hostile call still works and exposes what it accepted', () => {
    const m = seeded();
    const tries: Array<() => unknown> = [
      () => m.increment(''),
      () => m.increment('x', NaN),
      () => m.increment('x', 1, { __x: 'a' }),
      () => m.increment('x', 1, { a: 5 as unknown as string }),
      () => m.recordResponseTime(NaN),
      () => m.getPercentile(101),
      () => m.observe('hot_hist', 1, { le: '1' }),
      () => m.set('http_response_time_p95', 'gauge', 1),
    ];
    for (let i = 0; i < 100; i++) for (const t of tries) assert.throws(t);
    m.increment('http_requests_total', 1, { method: 'GET', path: '/hot' });
    m.recordResponseTime(11);
    const text = m.toPrometheusFormat();
    assert.ok(text.includes('http_requests_total{method="GET",path="/hot"} 3\n'));
    assert.ok(text.includes('hot_total 2\n'));
    assert.ok(text.includes('hot_gauge{k="v"} 6\n'));
    assert.ok(text.includes('hot_hist_count{k="v"} 2\n'));
    assert.equal(m.getStats().response_times_count, 5);
    assert.equal(m.getPercentile(100), 11);
  });
});
