// The per-turn clock (`clock: 'turn'`, the default in Cloudflare Workers):
// one Date.now() per turn, exact across every await, test clocks honoured.
// Run: node --import tsx --test tests/ts/clock.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { BoundedCache } from 'bounded-services/cache';
import { MetricsCollector } from 'bounded-services/metrics';
import { withFakeDate } from './support/fake-date.js';

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe("clock: 'turn'", () => {
  it('reuses one reading within a synchronous stretch, reads afresh after an await', async () => {
    const turn = new BoundedCache({ clock: 'turn' });
    const call = new BoundedCache({ clock: 'call' });
    turn.set('k', 'v', 0.001); // 1 ms
    call.set('k', 'v', 0.001);
    busyWait(5);
    assert.equal(turn.get('k'), 'v', 'one time for the whole synchronous stretch');
    assert.equal(call.get('k'), null, 'the per-call clock saw 5 ms pass');
    await Promise.resolve();
    assert.equal(turn.get('k'), null, 'after an await the reading is fresh: expired');
  });

  it('is exact across a timer: an entry is never served after its expiry', async () => {
    const c = new BoundedCache({ clock: 'turn' });
    c.set('k', 1, 0.02); // 20 ms
    assert.equal(c.get('k'), 1);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(c.get('k'), null);
  });

  it('reads at every call while fake timers replace Date or Date.now', () => {
    const c = new BoundedCache({ clock: 'turn' });
    withFakeDate(2_000_000_000_000, (clock) => {
      c.set('k', 1, 60);
      clock.t += 61_000; // vi.advanceTimersByTime(61_000), in the same turn
      assert.equal(c.get('k'), null, 'the advance is seen at once');
    });
    const realNow = Date.now;
    let u = realNow();
    Date.now = () => u;
    try {
      c.set('j', 1, 1);
      u += 1001;
      assert.equal(c.get('j'), null, 'a replaced Date.now is read at every call');
    } finally {
      Date.now = realNow;
    }
  });

  it('is an option of collectors too; anything but call/turn is a TypeError', () => {
    const m = new MetricsCollector({ clock: 'turn' });
    m.increment('x_total', 1, { a: 'b' });
    assert.ok(m.toPrometheusFormat().includes('x_total{a="b"} 1'));
    assert.throws(() => new BoundedCache({ clock: 'wall' as 'call' }), TypeError);
    assert.throws(() => new MetricsCollector({ clock: 5 as unknown as 'call' }), TypeError);
  });

  it('the default in Node is one read per call', () => {
    const c = new BoundedCache();
    c.set('k', 'v', 0.001);
    busyWait(5);
    assert.equal(c.get('k'), null);
  });
});
