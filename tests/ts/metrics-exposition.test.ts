// Validity of the Prometheus text exposition (format 0.0.4) of
// bounded-services/metrics under hostile input, checked with two
// independent parsers: Python's prometheus_client (its parser, fed on stdin;
// the parsed samples are compared with what was recorded) and promtool
// (`promtool check metrics`: exit 0, or 3 with lint remarks only; 1 would be
// a parse error). Plus the structural rules stated in src/exposition.rs.
// Both tools come from scripts/setup.sh; a test that needs a missing tool is
// skipped with the reason printed, never passed silently.
// Run: node --expose-gc --import tsx --test tests/ts/metrics-exposition.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

import { MetricsCollector, OVERFLOW_LABEL, PROMETHEUS_CONTENT_TYPE } from 'bounded-services/metrics';

const T0 = 1_700_000_000_000;

import {
  LINT_REMARK,
  NO_PROMTOOL,
  NO_PYTHON,
  promtoolCheck,
  pyNumber,
  pyParse,
  pySamples,
  sampleKey,
  type ParsedFamily,
} from './support/prometheus.js';

describe('promtool lint', () => {
  it('flags only the names that come from the original module', { skip: NO_PROMTOOL ?? false }, () => {
    const m = new MetricsCollector();
    for (const ms of [3, 40, 900]) m.recordResponseTime(ms);
    m.increment('http_requests_total', 1, { method: 'GET', path: '/api/moods/:id' });
    m.observe('payload_bytes', 10);
    const r = spawnSync('promtool', ['check', 'metrics'], { input: Buffer.from(m.toPrometheusFormat(), 'utf8') });
    const remarks = `${r.stdout.toString()}${r.stderr.toString()}`.split('\n').filter((l) => l.trim() !== '');
    // payload_bytes has no HELP text of its own (none was set).
    assert.deepEqual(remarks.sort(), [
      'payload_bytes no help text',
      'response_time_ms metric names should not contain abbreviated units',
    ]);
  });
});

// ----- helpers -------------------------------------------------------------

/** What a JS string becomes once encoded to UTF-8 (lone surrogates -> U+FFFD). */
function wellFormed(s: string): string {
  // ignoreBOM: keep a leading U+FEFF (the default decoder would strip it).
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(new TextEncoder().encode(s));
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

/** The structural rules of src/exposition.rs, checked line by line. */
function checkStructure(text: string): void {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  assert.ok(!text.endsWith('\n\n'), 'no empty line at the end');
  const lines = text.slice(0, -1).split('\n');
  const typed = new Map<string, string>();
  let current: { name: string; type: string } | undefined;
  let hist: { le: number[]; counts: number[]; after: string[] } | undefined;
  const finishHist = () => {
    if (hist === undefined) return;
    assert.ok(hist.le.length >= 1);
    assert.equal(hist.le[hist.le.length - 1], Infinity, 'buckets end with +Inf');
    for (let i = 1; i < hist.le.length; i++) {
      assert.ok(hist.le[i]! > hist.le[i - 1]!, 'bucket bounds strictly ascending');
      assert.ok(hist.counts[i]! >= hist.counts[i - 1]!, 'cumulative counts');
    }
    assert.deepEqual(hist.after, ['_sum', '_count'], '_sum then _count after the buckets');
    hist = undefined;
  };
  for (const line of lines) {
    assert.notEqual(line, '', 'no empty lines');
    if (line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      finishHist();
      const [, , name, type, ...rest] = line.split(' ');
      assert.deepEqual(rest, []);
      assert.ok(!typed.has(name!), `one TYPE line per family (${name})`);
      assert.match(type!, /^(counter|gauge|histogram)$/);
      typed.set(name!, type!);
      current = { name: name!, type: type! };
      continue;
    }
    assert.ok(!line.startsWith('#'), `unexpected comment ${line}`);
    assert.ok(current !== undefined, 'a sample before any TYPE line');
    // Sample name: every sample belongs to the family of the last TYPE line.
    const sampleName = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0];
    if (current.type === 'histogram') {
      const suffix = sampleName.slice(current.name.length);
      assert.ok(sampleName.startsWith(current.name) && ['_bucket', '_sum', '_count'].includes(suffix), line);
      // New series of the histogram: a _bucket line after a _count line.
      if (suffix === '_bucket') {
        if (hist !== undefined && hist.after.length === 2) finishHist();
        hist ??= { le: [], counts: [], after: [] };
        assert.deepEqual(hist.after, [], 'no bucket after _sum/_count of the same series');
        const le = /le="([^"]*)"\} (\S+)$/.exec(line);
        assert.ok(le, `bucket line with le last: ${line}`);
        hist.le.push(le[1] === '+Inf' ? Infinity : Number(le[1]));
        hist.counts.push(Number(le[2]));
      } else {
        assert.ok(hist !== undefined, `${suffix} without buckets`);
        hist.after.push(suffix);
        if (suffix === '_count') {
          const n = Number(line.slice(line.lastIndexOf(' ') + 1));
          assert.equal(n, hist.counts[hist.counts.length - 1], '_count equals the +Inf bucket');
        }
      }
    } else {
      assert.equal(sampleName, current.name, `sample of another family: ${line}`);
    }
  }
  finishHist();
}

/** Every check at once: structure, prometheus_client, promtool. */
function checkAll(text: string): Map<string, number> | undefined {
  checkStructure(text);
  if (!NO_PROMTOOL) promtoolCheck(text);
  return NO_PYTHON ? undefined : pySamples(text);
}

const HOSTILE_VALUES: string[] = [
  'plain',
  '',
  'q"uote',
  '""',
  'back\\slash',
  '\\',
  'trailing backslash \\',
  '\\"',
  'new\nline',
  '\n',
  'nul\0byte',
  '\0',
  'cr\rret',
  'crlf\r\n',
  'tab\there',
  'emoji 😀🎉 flag 🇫🇷 zwj 👩‍💻',
  'é ü ñ 中文 עברית',
  'lone high \uD800 surrogate',
  'lone low \uDC00 surrogate',
  '\uDBFF',
  'reversed pair \uDC00\uD800',
  '\u2028line sep\u2029para sep',
  '\u0085nel \u000b vt \u000c ff',
  '{} = , # HELP',
  '} 1\n# TYPE evil counter\nevil 1',
  'le="+Inf"',
  '\\n not a newline',
  '\uFEFFbom',
  'x'.repeat(1024),
  'é'.repeat(512),
];

describe('exposition validity with hostile label values', () => {
  it('the content type constant is the 0.0.4 text format', () => {
    assert.equal(PROMETHEUS_CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8');
  });

  it('every hostile value round-trips through prometheus_client and passes promtool', { skip: NO_PYTHON }, () => {
    const m = new MetricsCollector({ now: () => T0 });
    const expected = new Map<string, number>();
    HOSTILE_VALUES.forEach((v, i) => {
      m.increment('hostile_total', i + 1, { v });
      m.set('hostile_gauge', 'gauge', -i - 0.5, { v, other: 'x' });
      expected.set(sampleKey('hostile_total', { v: wellFormed(v) }), i + 1);
      expected.set(sampleKey('hostile_gauge', { v: wellFormed(v), other: 'x' }), -i - 0.5);
    });
    m.setHelp('hostile_total', 'HELP with "quotes", a \\ backslash,\na newline and 😀');
    const text = m.toPrometheusFormat();
    const parsed = checkAll(text)!;
    for (const [k, v] of expected) assert.equal(parsed.get(k), v, k);
    const fams = pyParse(text);
    const hostile = fams.find((f) => f.name === 'hostile');
    assert.equal(hostile?.type, 'counter');
    assert.equal(hostile?.help, 'HELP with "quotes", a \\ backslash,\na newline and 😀');
    assert.equal(hostile?.samples.length, HOSTILE_VALUES.length, 'one sample per value, no injected lines');
    // The injection attempt stayed inside its label value.
    assert.ok(!fams.some((f) => f.name === 'evil'));
  });

  it('promtool accepts the hostile exposition (exit 0 or 3 with lint remarks only)', { skip: NO_PROMTOOL }, () => {
    const m = new MetricsCollector({ now: () => T0 });
    HOSTILE_VALUES.forEach((v, i) => {
      m.increment('hostile_total', i + 1, { v });
      m.observe('hostile_hist', i, { v });
    });
    promtoolCheck(m.toPrometheusFormat());
  });

  it('escapes exactly backslash, double quote and newline; other characters are written as they are', () => {
    const m = new MetricsCollector({ now: () => T0 });
    m.increment('esc_total', 1, { v: 'a"b\\c\nd\re\0f\tg😀' });
    const line = m.toPrometheusFormat().split('\n').find((l) => l.startsWith('esc_total{'));
    assert.equal(line, 'esc_total{v="a\\"b\\\\c\\nd\re\0f\tg😀"} 1');
  });

  it('lone surrogates are encoded as U+FFFD (so such values share a series with U+FFFD itself)', () => {
    const m = new MetricsCollector({ now: () => T0 });
    // JS strings are UTF-16 and may hold unpaired surrogates; crossing into
    // Wasm encodes them to UTF-8 with TextEncoder semantics: each becomes
    // U+FFFD (3 bytes). Distinct JS strings can therefore land on one series.
    m.increment('sur_total', 1, { v: 'x\uD800' });
    m.increment('sur_total', 2, { v: 'x\uDFFF' });
    m.increment('sur_total', 4, { v: 'x\uFFFD' });
    m.increment('sur_total', 8, { v: 'x\uD83D\uDE00' }); // a proper pair: 😀
    const text = m.toPrometheusFormat();
    assert.deepEqual(
      text.split('\n').filter((l) => l.startsWith('sur_total')),
      ['sur_total{v="x\uFFFD"} 7', 'sur_total{v="x😀"} 8'],
    );
    const parsed = checkAll(text);
    if (parsed) {
      assert.equal(parsed.get(sampleKey('sur_total', { v: 'x\uFFFD' })), 7);
      assert.equal(parsed.get(sampleKey('sur_total', { v: 'x😀' })), 8);
    }
    assert.deepEqual({ ...m.getSnapshot().requests_by_endpoint }, {});
    // The length limit counts the encoded bytes: 341 lone surrogates = 1023
    // bytes is fine, 342 = 1026 bytes is not.
    m.increment('sur_total', 1, { v: '\uD800'.repeat(341) });
    assert.throws(() => m.increment('sur_total', 1, { v: '\uD800'.repeat(342) }), RangeError);
  });

  it('a 64 KB label value is a RangeError (limit 1024 UTF-8 bytes) and leaves the state intact', () => {
    const c = { t: T0 };
    const m = new MetricsCollector({ now: () => c.t });
    m.increment('big_total', 1, { v: 'ok' });
    m.recordResponseTime(12);
    const before = m.toPrometheusFormat();
    const statsBefore = m.getStats();
    const huge = 'x'.repeat(64 * 1024);
    for (const call of [
      () => m.increment('big_total', 1, { v: huge }),
      () => m.increment('big_total', 1, { v: 'ok', w: huge }),
      () => m.increment('new_family_total', 1, { v: huge }),
      () => m.set('big_gauge', 'gauge', 1, { v: huge }),
      () => m.observe('big_hist', 1, { v: huge }),
      () => m.increment('http_requests_total', 1, { method: 'GET', path: huge }),
    ]) {
      assert.throws(call, (e: unknown) => {
        assert.ok(e instanceof RangeError, String(e));
        assert.match(e.message, /65536 UTF-8 bytes long, the maximum is 1024/);
        assert.match(e.message, /label "(v|w|path)"/);
        return true;
      });
      c.t += 1;
    }
    assert.equal(m.toPrometheusFormat(), before, 'byte-identical after the refused calls');
    const statsAfter = m.getStats();
    assert.equal(statsAfter.metrics_count, statsBefore.metrics_count, 'no family created');
    assert.equal(statsAfter.series_count, statsBefore.series_count, 'no series created');
    // Exactly at the limit is accepted; multi-byte characters count as bytes.
    m.increment('big_total', 1, { v: 'y'.repeat(1024) });
    m.increment('big_total', 1, { v: 'é'.repeat(512) });
    m.increment('big_total', 1, { v: '😀'.repeat(256) });
    assert.throws(() => m.increment('big_total', 1, { v: 'y'.repeat(1025) }), /1025 UTF-8 bytes/);
    assert.throws(() => m.increment('big_total', 1, { v: 'é'.repeat(513) }), /1026 UTF-8 bytes/);
    assert.equal(utf8Length('😀'.repeat(256)), 1024);
    // And the limit is an option.
    const small = new MetricsCollector({ now: () => T0, maxLabelValueLength: 4 });
    small.increment('s_total', 1, { v: 'abcd' });
    assert.throws(() => small.increment('s_total', 1, { v: 'abcde' }), RangeError);
  });

  it('a few thousand series: both parsers read back exactly what was recorded', () => {
    const m = new MetricsCollector({ now: () => T0, maxSeriesPerMetric: 2000 });
    const expected = new Map<string, number>();
    for (let i = 0; i < 2500; i++) {
      const path = `/api/${i % 3 === 0 ? 'q"' : i % 3 === 1 ? 'b\\' : 'n\n'}${i}`;
      const amount = (i % 7) + 1;
      m.increment('http_requests_total', amount, { method: i % 2 ? 'GET' : 'POST', path });
      if (i < 2000) expected.set(sampleKey('http_requests_total', { method: i % 2 ? 'GET' : 'POST', path }), amount);
    }
    // Past the cap of 2000 labelled series, the overflow series.
    let overflow = 0;
    for (let i = 2000; i < 2500; i++) overflow += (i % 7) + 1;
    expected.set(sampleKey('http_requests_total', { [OVERFLOW_LABEL]: 'true' }), overflow);
    expected.set(sampleKey('http_requests_total', {}), 0);
    for (let i = 0; i < 1000; i++) {
      m.set('queue_depth', 'gauge', i * 1.5 - 300, { queue: `q${i}`, region: ['eu', 'us', 'ap'][i % 3]! });
      expected.set(sampleKey('queue_depth', { queue: `q${i}`, region: ['eu', 'us', 'ap'][i % 3]! }), i * 1.5 - 300);
    }
    const text = m.toPrometheusFormat();
    assert.ok(text.split('\n').length > 3000);
    const parsed = checkAll(text);
    if (parsed === undefined) {
      console.log('prometheus_client missing: sample comparison skipped (structure and promtool checked)');
      return;
    }
    for (const [k, v] of expected) assert.equal(parsed.get(k), v, k);
    const ours = [...parsed.keys()].filter((k) => k.startsWith('["http_requests_total"') || k.startsWith('["queue_depth"'));
    assert.equal(ours.length, expected.size, 'nothing more than what was recorded');
  });
});

describe('exposition structure', () => {
  it('trailing newline, one TYPE line per family, histogram buckets ascending to +Inf then _sum and _count', () => {
    const m = new MetricsCollector({ now: () => T0, buckets: [0.5, 1, 2.5, 100] });
    for (const x of [0, 0.5, 0.7, 1, 3, 99.5, 100, 100.5, 1e6]) m.recordResponseTime(x * 1000); // ms; the histogram is in seconds
    for (const x of [-5, 0, 2, 7e10]) m.observe('payload_bytes', x, { route: '/a' });
    m.observe('payload_bytes', 1, { route: '/b' });
    m.observe('payload_bytes', 1);
    m.set('payload_bytes_like', 'histogram', 3, { k: 'v' });
    m.increment('http_requests_total', 1, { method: 'GET', path: '/x' });
    m.increment('http_requests_total', 1, { method: 'GET', path: '/y' });
    const text = m.toPrometheusFormat();
    checkStructure(text);
    const lines = text.split('\n');
    assert.deepEqual(lines.filter((l) => l.startsWith('http_request_duration_seconds')), [
      'http_request_duration_seconds_bucket{le="0.5"} 2',
      'http_request_duration_seconds_bucket{le="1"} 4',
      'http_request_duration_seconds_bucket{le="2.5"} 4',
      'http_request_duration_seconds_bucket{le="100"} 7',
      'http_request_duration_seconds_bucket{le="+Inf"} 9',
      'http_request_duration_seconds_sum 1000305.2',
      'http_request_duration_seconds_count 9',
    ]);
    // Custom histogram: the core gives every histogram the configured
    // buckets (src/metrics/options.rs: "and of every histogram created
    // through the registry"); labelled series in label order, le last.
    const payload = lines.filter((l) => l.startsWith('payload_bytes_') && !l.startsWith('payload_bytes_like'));
    assert.equal(payload.length, 3 * (4 + 1 + 2), 'three series of 5 buckets, _sum, _count');
    assert.deepEqual(payload.slice(0, 7), [
      'payload_bytes_bucket{le="0.5"} 0',
      'payload_bytes_bucket{le="1"} 1',
      'payload_bytes_bucket{le="2.5"} 1',
      'payload_bytes_bucket{le="100"} 1',
      'payload_bytes_bucket{le="+Inf"} 1',
      'payload_bytes_sum 1',
      'payload_bytes_count 1',
    ]);
    assert.deepEqual(payload.slice(7, 14), [
      'payload_bytes_bucket{route="/a",le="0.5"} 2',
      'payload_bytes_bucket{route="/a",le="1"} 2',
      'payload_bytes_bucket{route="/a",le="2.5"} 3',
      'payload_bytes_bucket{route="/a",le="100"} 3',
      'payload_bytes_bucket{route="/a",le="+Inf"} 4',
      `payload_bytes_sum{route="/a"} ${-5 + 0 + 2 + 7e10}`,
      'payload_bytes_count{route="/a"} 4',
    ]);
    assert.equal(payload[13], 'payload_bytes_count{route="/a"} 4');
    // Default buckets: 11 bounds and +Inf.
    const d = new MetricsCollector({ now: () => T0 });
    d.observe('sizes', 7);
    const dl = d.toPrometheusFormat().split('\n').filter((l) => l.startsWith('sizes_bucket'));
    assert.deepEqual(
      dl.map((l) => /le="([^"]+)"/.exec(l)![1]),
      ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'],
    );
    checkStructure(d.toPrometheusFormat());
    if (!NO_PROMTOOL) promtoolCheck(text);
    if (!NO_PYTHON) {
      const fams = pyParse(text);
      const h = fams.find((f) => f.name === 'http_request_duration_seconds');
      assert.equal(h?.type, 'histogram');
      assert.deepEqual(
        h?.samples.map(([n, l, v]) => [n, l.le ?? '', pyNumber(v)]),
        [
          ['http_request_duration_seconds_bucket', '0.5', 2],
          ['http_request_duration_seconds_bucket', '1', 4],
          ['http_request_duration_seconds_bucket', '2.5', 4],
          ['http_request_duration_seconds_bucket', '100', 7],
          ['http_request_duration_seconds_bucket', '+Inf', 9],
          ['http_request_duration_seconds_sum', '', 1000305.2],
          ['http_request_duration_seconds_count', '', 9],
        ],
      );
    }
  });

  it('special values are spelled as the format wants and parse back', () => {
    const m = new MetricsCollector({ now: () => T0 });
    const values: Array<[string, number]> = [
      ['g_nan', NaN],
      ['g_pinf', Infinity],
      ['g_ninf', -Infinity],
      ['g_big', 1e300],
      ['g_tiny', 2.5e-7],
      ['g_third', 1 / 3],
      ['g_neg', -12],
      ['g_max', Number.MAX_VALUE],
      ['g_min', Number.MIN_VALUE],
      ['g_2p53', 2 ** 53 + 2],
    ];
    for (const [n, v] of values) m.set(n, 'gauge', v);
    const text = m.toPrometheusFormat();
    const line = (n: string) => text.split('\n').find((l) => l.startsWith(`${n} `));
    assert.equal(line('g_nan'), 'g_nan NaN');
    assert.equal(line('g_pinf'), 'g_pinf +Inf');
    assert.equal(line('g_ninf'), 'g_ninf -Inf');
    assert.equal(line('g_neg'), 'g_neg -12');
    const parsed = checkAll(text);
    if (parsed) {
      for (const [n, v] of values) {
        const got = parsed.get(sampleKey(n, {}));
        assert.ok(Object.is(got, v) || (Number.isNaN(v) && Number.isNaN(got)), `${n}: ${got} vs ${v}`);
      }
    }
  });

  it('the checks are not vacuous: the original unescaped exposition fails both tools', () => {
    // The original wrote label values as they were: a newline or a quote in
    // one (an error message, say) broke the whole exposition.
    const broken = '# TYPE http_errors_total counter\nhttp_errors_total{error="bad "quote" \nand newline"} 1\n';
    assert.throws(() => checkStructure(broken));
    if (!NO_PROMTOOL) {
      const r = spawnSync('promtool', ['check', 'metrics'], { input: broken });
      assert.equal(r.status, 1, 'promtool: parse error');
      assert.throws(() => promtoolCheck(broken));
    }
    if (!NO_PYTHON) assert.throws(() => pyParse(broken));
    // Two TYPE lines for one family.
    assert.throws(() => checkStructure('# TYPE a counter\na 1\n# TYPE a counter\na 2\n'), /one TYPE line per family/);
    // A histogram without +Inf.
    assert.throws(() => checkStructure('# TYPE h histogram\nh_bucket{le="1"} 0\nh_sum 0\nh_count 0\n'), /\+Inf/);
  });

  it('a fresh collector and one after reset are valid too', () => {
    const m = new MetricsCollector({ now: () => T0 });
    checkAll(m.toPrometheusFormat());
    m.increment('x_total', 1, { a: 'b' });
    m.reset();
    checkAll(m.toPrometheusFormat());
  });
});
