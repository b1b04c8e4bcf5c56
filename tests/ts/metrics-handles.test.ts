// The labelled-update hot path against a model: `increment(name, n, labels)`
// finds its series handle in a cache walked with the caller's strings (a
// trie whose nodes expect one label name first, and whose last edges hold
// the handle itself). Random updates of label sets that extend each other,
// come in any key order, start with different names and repeat, with
// resets and retypes, must add to the same series as a plain map keyed by
// the sorted label pairs.
// Run: node --import tsx --test tests/ts/metrics-handles.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { MetricsCollector } from 'bounded-services/metrics';

const NAMES = ['jobs_total', 'hits_total'] as const;
const LABELS = ['method', 'path', 'code'] as const;
const VALUES = ['GET', '/a', '/b', '200', ''] as const;

type Cmd =
  | { op: 'inc'; name: string; pairs: [string, string][]; amount: number }
  | { op: 'reset' }
  | { op: 'retype'; name: string };

const pairs = fc
  .uniqueArray(fc.constantFrom(...LABELS), { maxLength: 3 })
  .chain((keys) =>
    fc.tuple(...keys.map((k) => fc.tuple(fc.constant(k), fc.constantFrom(...VALUES)))),
  ) as fc.Arbitrary<[string, string][]>;

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('inc' as const), name: fc.constantFrom(...NAMES), pairs, amount: fc.integer({ min: 1, max: 9 }) }), weight: 20 },
  { arbitrary: fc.constant({ op: 'reset' as const }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('retype' as const), name: fc.constantFrom(...NAMES) }), weight: 1 },
);

/** `name{k="v",...}` with the labels sorted by name, as the exposition prints them. */
function seriesKey(name: string, pairs: [string, string][]): string {
  if (pairs.length === 0) return name;
  const sorted = [...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${name}{${sorted.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
}

/** Sample lines of the families in NAMES, as key -> value. */
function exposed(m: MetricsCollector): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of m.toPrometheusFormat().split('\n')) {
    if (!NAMES.some((n) => line.startsWith(`${n} `) || line.startsWith(`${n}{`))) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('labelled updates find their series (model-based)', () => {
  it('agrees with a map keyed by the sorted label pairs (fast-check, 300 runs)', () => {
    fc.assert(
      fc.property(fc.array(cmd, { minLength: 1, maxLength: 80 }), (cmds) => {
        const m = new MetricsCollector({ now: () => 1_700_000_000_000 });
        const model = new Map<string, number>();
        for (const c of cmds) {
          if (c.op === 'reset') {
            m.reset();
            model.clear();
          } else if (c.op === 'retype') {
            // A retype drops the family's series (and every cached handle).
            m.set(c.name, 'gauge', 0);
            m.set(c.name, 'counter', 0);
            for (const k of [...model.keys()]) if (k === c.name || k.startsWith(`${c.name}{`)) model.delete(k);
            model.set(c.name, 0);
          } else {
            m.increment(c.name, c.amount, Object.fromEntries(c.pairs));
            const key = seriesKey(c.name, c.pairs);
            model.set(key, (model.get(key) ?? 0) + c.amount);
          }
        }
        const got = exposed(m);
        assert.deepEqual(new Map([...got].sort()), new Map([...model].sort()));
        m.dispose();
      }),
      { numRuns: 300 },
    );
  });

  it('a label set, the sets it extends and the ones extending it, in both orders', () => {
    const m = new MetricsCollector({ now: () => 1_700_000_000_000 });
    const sets = [{ method: 'GET' }, { method: 'GET', path: '/a' }, { method: 'GET', path: '/a', code: '200' }];
    for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0]]) {
      for (const i of order) m.increment('jobs_total', 1, sets[i]);
      for (const i of order) m.increment('jobs_total', 1, sets[i]);
    }
    // Other key orders of the same sets, and a set starting with another name.
    m.increment('jobs_total', 1, { path: '/a', method: 'GET' });
    m.increment('jobs_total', 1, { code: '200', path: '/a', method: 'GET' });
    m.increment('jobs_total', 1, { path: '/a' });
    const got = exposed(m);
    assert.equal(got.get('jobs_total{method="GET"}'), 6);
    assert.equal(got.get('jobs_total{method="GET",path="/a"}'), 7);
    assert.equal(got.get('jobs_total{code="200",method="GET",path="/a"}'), 7);
    assert.equal(got.get('jobs_total{path="/a"}'), 1);
    m.dispose();
  });
});
