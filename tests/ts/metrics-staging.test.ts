// recordResponseTime stages samples in JavaScript and records them in
// batches; every read and every write of what they record sees them all,
// in order. Checked against a collector fed one sample at a time through
// the core's own path (a NaN-free stream, so nothing is refused).
// Run: node --import tsx --test tests/ts/metrics-staging.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { MetricsCollector } from 'bounded-services/metrics';

/** Reads that must not see a difference. */
function view(m: MetricsCollector) {
  return {
    p: [0, 50, 95, 99, 100].map((p) => m.getPercentile(p)),
    text: m.toPrometheusFormat(),
    stats: m.getStats().response_times_count,
  };
}

describe('staged response times', () => {
  it('every read is exact, whatever the batch boundaries', () => {
    const staged = new MetricsCollector({ windowSize: 100, now: () => 1 });
    const oneByOne = new MetricsCollector({ windowSize: 100, now: () => 1 });
    let x = 7;
    for (let round = 0; round < 40; round++) {
      const n = (round * 37) % 300; // crosses the 256-sample stage
      for (let i = 0; i < n; i++) {
        x = (x * 1103515245 + 12345) % 2147483648;
        const ms = (x % 5000) / 7;
        staged.recordResponseTime(ms);
        oneByOne.recordResponseTime(ms);
        oneByOne.getPercentile(50); // forces its record through at once
      }
      assert.deepEqual(view(staged), view(oneByOne), `round ${round}`);
    }
  });

  it('keeps the order of updates to the families it writes', () => {
    const m = new MetricsCollector();
    m.recordResponseTime(10);
    m.set('response_time_ms', 'gauge', 999); // after the record: the set wins
    assert.ok(m.toPrometheusFormat().includes('\nresponse_time_ms 999\n'));
    m.recordResponseTime(30);
    m.increment('response_time_ms', 1); // after it: mean 20, then + 1
    assert.ok(m.toPrometheusFormat().includes('\nresponse_time_ms 21\n'));
  });

  it('an invalid duration is refused at its own call, in order, with the core message', () => {
    const m = new MetricsCollector();
    m.recordResponseTime(5);
    assert.throws(() => m.recordResponseTime(NaN), /response time must be a finite number/);
    assert.throws(() => m.recordResponseTime(-1), /response time must not be negative/);
    assert.throws(() => m.recordResponseTime('5' as unknown as number), TypeError);
    assert.equal(m.getStats().response_times_count, 1, 'the valid one was recorded');
  });

  it('reset, configure and dispose drop what they drop, staged samples included', () => {
    const m = new MetricsCollector();
    m.recordResponseTime(5);
    m.reset();
    assert.equal(m.getStats().response_times_count, 0);
    m.recordResponseTime(5);
    m.configure({ windowSize: 10 });
    assert.equal(m.getStats().response_times_count, 0);
    m.recordResponseTime(5);
    m.dispose();
    assert.throws(() => m.recordResponseTime(5), /disposed/);
  });
});
