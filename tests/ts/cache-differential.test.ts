// Differential test: the module-level functions of bounded-services/cache
// (imported by the package's name) against the model of MoodMash's original
// src/services/cache.ts (tests/oracles/original-cache.ts), over random
// operation sequences with a fake monotonic clock.
//
// Documented differences, and how they are handled here:
//   - ours reclaims expired entries on its own, so `total_entries` is
//     compared only after `cleanExpired()` on both sides;
//   - CacheInvalidation is fixed (anchored, escaped patterns), so it is
//     compared with a model that deletes exactly the keys of that id;
//   - bounds: maxEntries is set to 100,000 so nothing is ever evicted.
// Run: node --expose-gc --import tsx --test tests/ts/cache-differential.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import {
  CacheInvalidation,
  CacheKeys,
  cleanExpired,
  clear,
  configure,
  del,
  delPattern,
  get,
  getStats,
  set,
} from 'bounded-services/cache';
import { createOriginalCache, type OriginalCache } from '../oracles/index.js';

const IDS = [1, 12, '1.2', '1x2'];
const KEYS = [
  'a',
  'b',
  '',
  'x.y',
  'xzy',
  ...IDS.flatMap((u) => [
    CacheKeys.moodStats(u),
    CacheKeys.userMoods(u),
    CacheKeys.socialFeed(u, 5),
    CacheKeys.healthMetrics(u),
    CacheKeys.groupDetails(u),
    CacheKeys.userFriends(u),
  ]),
  CacheKeys.complianceStatus(),
  CacheKeys.securityDashboard(),
];
// unanchored, anchored, matching nothing, matching everything, invalid
const PATTERNS = ['a', '^a$', 'x.y', 'x\\.y', 'mood:stats:1', ':1', '^$', '', 'nomatch', '(', 'stats|feed', '[', '1$'];
const TTLS = [undefined, 0, 0.001, 0.5, 1, 2, 5, 60, 300];

type Op =
  | { op: 'get'; key: string }
  | { op: 'set'; key: string; ttl: number | undefined }
  | { op: 'del'; key: string }
  | { op: 'delPattern'; pattern: string }
  | { op: 'clear' }
  | { op: 'getStats' }
  | { op: 'cleanExpired' }
  | { op: 'advance'; ms: number }
  | { op: 'invalidate'; which: keyof typeof CacheInvalidation; id: number | string };

const key = fc.constantFrom(...KEYS);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constant('get' as const), key }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constant('set' as const), key, ttl: fc.constantFrom(...TTLS) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('del' as const), key }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delPattern' as const), pattern: fc.constantFrom(...PATTERNS) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'getStats' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'cleanExpired' as const }) },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 2_500 }), fc.constant(300_001)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('invalidate' as const),
      which: fc.constantFrom(
        'onMoodChange',
        'onHealthMetricsChange',
        'onGroupChange',
        'onSocialChange',
        'onComplianceChange',
      ) as fc.Arbitrary<keyof typeof CacheInvalidation>,
      id: fc.constantFrom(...IDS),
    }),
  },
);

/** The fixed invalidation, modelled without regular expressions. */
const INVALIDATED_PREFIXES: Record<string, string[]> = {
  onMoodChange: ['mood:stats', 'mood:list', 'social:feed', 'social:shares'],
  onHealthMetricsChange: ['health:metrics'],
  onGroupChange: ['group:details', 'group:members', 'group:sync'],
  onSocialChange: ['social:feed', 'social:friends', 'social:shares'],
};

function modelInvalidate(model: OriginalCache, which: string, id: number | string): void {
  if (which === 'onComplianceChange') {
    model.del('hipaa:status');
    model.del('security:dashboard');
    return;
  }
  for (const prefix of INVALIDATED_PREFIXES[which]) {
    const head = `${prefix}:${id}`;
    for (const k of KEYS) {
      if (k.startsWith(head) && (k.length === head.length || k[head.length] === ':')) model.del(k);
    }
  }
}

function runSequence(ops: Op[]): void {
  const clock = { t: 1_700_000_000_000 };
  const now = () => clock.t;
  configure({ now, maxEntries: 100_000 });
  const model = createOriginalCache({ now });
  let serial = 0;

  const sameStats = (where: string) => {
    const o = getStats();
    const m = model.getStats();
    assert.equal(o.hits, m.hits, `hits ${where}`);
    assert.equal(o.misses, m.misses, `misses ${where}`);
    assert.equal(o.hit_rate, m.hit_rate, `hit_rate ${where}`);
  };
  const sameEntries = (where: string) => {
    cleanExpired();
    model.cleanExpired();
    assert.equal(getStats().total_entries, model.getStats().total_entries, `total_entries ${where}`);
  };

  ops.forEach((step, i) => {
    const where = `at op ${i} ${JSON.stringify(step)}`;
    switch (step.op) {
      case 'get':
        assert.equal(get(step.key), model.get(step.key), `get ${where}`);
        break;
      case 'set': {
        const value = { serial: serial++ };
        if (step.ttl === undefined) {
          set(step.key, value);
          model.set(step.key, value);
        } else {
          set(step.key, value, step.ttl);
          model.set(step.key, value, step.ttl);
        }
        break;
      }
      case 'del':
        del(step.key);
        model.del(step.key);
        break;
      case 'delPattern': {
        let oursErr: unknown;
        let modelErr: unknown;
        try {
          delPattern(step.pattern);
        } catch (e) {
          oursErr = e;
        }
        try {
          model.delPattern(step.pattern);
        } catch (e) {
          modelErr = e;
        }
        assert.equal(oursErr?.constructor, modelErr?.constructor, `delPattern error ${where}`);
        break;
      }
      case 'clear':
        clear();
        model.clear();
        break;
      case 'getStats':
        sameStats(where);
        break;
      case 'cleanExpired':
        sameEntries(where);
        break;
      case 'advance':
        clock.t += step.ms;
        break;
      case 'invalidate':
        if (step.which === 'onComplianceChange') CacheInvalidation.onComplianceChange();
        else CacheInvalidation[step.which](step.id);
        modelInvalidate(model, step.which, step.id);
        break;
    }
  });

  // final state: every key reads the same, stats and entry counts agree
  sameStats('at the end');
  sameEntries('at the end');
  for (const k of KEYS) assert.equal(get(k), model.get(k), `final get(${JSON.stringify(k)})`);
  sameStats('after the final reads');
  sameEntries('after the final reads');
}

describe('module-level functions vs the original cache model', () => {
  it('identical results over 2500 random operation sequences', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 80 }), (ops) => {
        runSequence(ops);
      }),
      { numRuns: 2500, seed: 0x5eed },
    );
  });

  it('identical results over 300 long sequences (many expiries per key)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 200, maxLength: 600 }), (ops) => {
        runSequence(ops);
      }),
      { numRuns: 300, seed: 0xcafe },
    );
  });

  it('a hand-written sequence around expiry boundaries', () => {
    runSequence([
      { op: 'set', key: 'a', ttl: 1 },
      { op: 'set', key: 'b', ttl: 0 },
      { op: 'get', key: 'b' },
      { op: 'advance', ms: 1 },
      { op: 'get', key: 'b' },
      { op: 'advance', ms: 999 },
      { op: 'get', key: 'a' },
      { op: 'advance', ms: 1 },
      { op: 'getStats' },
      { op: 'cleanExpired' },
      { op: 'get', key: 'a' },
      { op: 'set', key: 'a', ttl: undefined },
      { op: 'advance', ms: 300_000 },
      { op: 'get', key: 'a' },
      { op: 'advance', ms: 1 },
      { op: 'get', key: 'a' },
      { op: 'getStats' },
    ]);
  });
});
