// Trap recovery of bounded-services/cache: a Wasm trap must cost the cached
// data, never the service. Uses the test-trap build (pkg-test/, made by
// `BS_FEATURES=test-trap bash scripts/build.sh`), whose .wasm also exports
// `engineTestTrap()`, which executes `unreachable`.
//
// Two kinds of trap are exercised:
//   - a real trap raised while a cache operation runs (the injected clock
//     calls `engineTestTrap()`, so the RuntimeError surfaces inside the
//     facade's engine call);
//   - a *poisoned* instance, where every export traps, as after a Rust panic
//     that left a RefCell borrowed: WebAssembly.Instance is wrapped so that,
//     once poisoned, each export first calls the real `engineTestTrap()`.
// Run: node --expose-gc --import tsx --test tests/ts/trap-recovery.test.ts

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';

import {
  BoundedCache,
  configure,
  get,
  getDefaultCache,
  getStats,
  set,
  trapStats,
} from 'bounded-services/cache';
import { MetricsCollector } from 'bounded-services/metrics';
import * as engine from '../../dist/engine.js';

const TRAP_WASM = new URL('../../pkg-test/bounded_services_bg.wasm', import.meta.url);

// ---------------------------------------------------------------------------
// A WebAssembly.Instance whose exports can be poisoned (every call traps).

interface PoisonSwitch {
  poisoned: boolean;
}
let current: PoisonSwitch | undefined;
const RealInstance = WebAssembly.Instance;

class PoisonableInstance extends RealInstance {
  constructor(module: WebAssembly.Module, imports?: WebAssembly.Imports) {
    super(module, imports);
    const getter = Object.getOwnPropertyDescriptor(RealInstance.prototype, 'exports')!.get!;
    const real = getter.call(this) as Record<string, unknown>;
    const trap = real.engineTestTrap as () => void;
    const sw: PoisonSwitch = { poisoned: false };
    current = sw;
    const wrapped: Record<string, unknown> = {};
    for (const [name, v] of Object.entries(real)) {
      wrapped[name] =
        typeof v === 'function'
          ? (...args: unknown[]) => {
              if (sw.poisoned) trap(); // a genuine RuntimeError from Wasm
              return (v as (...a: unknown[]) => unknown)(...args);
            }
          : v;
    }
    Object.defineProperty(this, 'exports', { value: Object.freeze(wrapped) });
  }
}

/** Poisons the current instance: from now on every engine call traps. */
function poison(): void {
  assert.ok(current, 'an instance exists');
  current.poisoned = true;
}

function clock(start = 1_700_000_000_000) {
  const c = {
    t: start,
    armed: false,
    /** Traps (once) from inside the next engine call that reads the time. */
    now: () => {
      if (c.armed) {
        c.armed = false;
        engine.ex.engineTestTrap!();
      }
      return c.t;
    },
  };
  return c;
}

function filled(n = 5, now?: () => number): BoundedCache {
  const c = new BoundedCache(now ? { now } : {});
  for (let i = 0; i < n; i++) c.set(`k${i}`, { i });
  c.get('k0');
  return c;
}

const traps = () => trapStats().traps;

before(() => {
  assert.ok(
    existsSync(TRAP_WASM),
    `${TRAP_WASM.pathname} is missing: run BS_FEATURES=test-trap bash scripts/build.sh`,
  );
  (WebAssembly as { Instance: typeof WebAssembly.Instance }).Instance = PoisonableInstance;
  assert.equal(WebAssembly.Instance, PoisonableInstance, 'WebAssembly.Instance can be wrapped');
  const compiled = new WebAssembly.Module(readFileSync(TRAP_WASM));
  engine.useModuleForTesting(() => compiled);
  new BoundedCache(); // instantiate
  assert.equal(typeof engine.ex.engineTestTrap, 'function', 'the test-trap module is in use');
});

describe('setup', () => {
  it('the package and ../../dist/engine.js are one module instance', () => {
    assert.equal(trapStats, engine.trapStats);
    assert.equal(new URL('./engine.js', import.meta.resolve('bounded-services/cache')).href, new URL('../../dist/engine.js', import.meta.url).href);
  });
});

describe('a trap raised inside a cache operation', () => {
  it('is recovered: the call succeeds, the data is gone, the trap is counted', () => {
    const ck = clock();
    const c = filled(5, ck.now);
    const other = filled(3);
    const gen = engine.engineGeneration();
    const n = traps();
    ck.armed = true;
    assert.equal(c.get('k1'), null, 'the get does not throw; its entry was lost with the instance');
    assert.equal(traps(), n + 1);
    assert.match(String(trapStats().last_trap), /unreachable/);
    assert.equal(engine.engineGeneration(), gen + 1, 'a fresh instance');
    // every live cache was rebuilt, empty
    assert.equal(c.size, 0);
    assert.equal(other.size, 0);
    assert.deepEqual([...other.keys()], []);
    assert.equal(other.get('k1'), null);
    const s = c.getStats();
    assert.equal(s.total_entries, 0);
    assert.equal(s.hits, 0);
    assert.equal(s.misses, 1, 'the retried get counted one miss on the fresh instance');
    // and both keep serving
    const v = { fresh: true };
    c.set('k1', v);
    other.set('o', 1);
    assert.equal(c.get('k1'), v);
    assert.equal(other.get('o'), 1);
    assert.equal(traps(), n + 1);
  });

  it('inside set: the new value is stored on the fresh instance', () => {
    const ck = clock();
    const c = filled(5, ck.now);
    const n = traps();
    ck.armed = true;
    const v = { after: 'trap' };
    c.set('new', v);
    assert.equal(traps(), n + 1);
    assert.equal(c.get('new'), v);
    assert.equal(c.get('k0'), null);
    assert.equal(c.size, 1);
    assert.equal(c.getStats().total_entries, 1);
  });

  it('inside has / getRemainingTTL / cleanExpired / getOrLoad', async () => {
    const ck = clock();
    const ops: Array<[string, (c: BoundedCache) => unknown, unknown]> = [
      ['has', (c) => c.has('k1'), false],
      ['peek', (c) => c.peek('k1'), null],
      ['getRemainingTTL', (c) => c.getRemainingTTL('k1'), 0],
      ['cleanExpired', (c) => c.cleanExpired(), 0],
    ];
    for (const [name, op, expected] of ops) {
      const c = filled(5, ck.now);
      const n = traps();
      ck.armed = true;
      assert.equal(op(c), expected, name);
      assert.equal(traps(), n + 1, `${name} counted the trap`);
      assert.equal(c.size, 0);
      c.set('after', name);
      assert.equal(c.get('after'), name);
    }
    const c = filled(5, ck.now);
    const n = traps();
    ck.armed = true;
    assert.equal(await c.getOrLoad('k1', async () => 'loaded'), 'loaded');
    assert.equal(traps(), n + 1);
    assert.equal(c.get('k1'), 'loaded');
  });
});

describe('a raw trap outside any cache operation', () => {
  it('poisons the instance like a panic; the next cache call recovers', () => {
    const c = filled(3);
    const n = traps();
    // engineTestTrap() traps while holding the cores' RefCell borrow, as a
    // Rust panic mid-call would: the borrow is never released, so every
    // later engine call traps too (a poisoned instance).
    assert.throws(() => engine.ex.engineTestTrap!(), WebAssembly.RuntimeError);
    assert.throws(() => engine.ex.engineCachePeek(0, 0, 0), WebAssembly.RuntimeError, 'poisoned');
    // The facade meets the trap on its next engine call, replaces the
    // instance, counts it, and serves: the old entries are gone.
    assert.doesNotThrow(() => c.get('k1'));
    assert.equal(traps(), n + 1);
    assert.equal(c.get('k1'), null);
    assert.doesNotThrow(() => c.set('x', 1));
    assert.equal(c.get('x'), 1);
  });
});

describe('a poisoned instance (every call traps)', () => {
  const METHODS: Array<[string, (c: BoundedCache) => unknown]> = [
    ['get', (c) => c.get('k1')],
    ['set', (c) => c.set('k1', 'v')],
    ['del', (c) => c.del('k1')],
    ['delPattern', (c) => c.delPattern('k')],
    ['has', (c) => c.has('k1')],
    ['peek', (c) => c.peek('k1')],
    ['getRemainingTTL', (c) => c.getRemainingTTL('k1')],
    ['clear', (c) => c.clear()],
    ['cleanExpired', (c) => c.cleanExpired()],
    ['getStats', (c) => c.getStats()],
    ['memoryBytes', (c) => c.memoryBytes()],
  ];

  for (const [name, call] of METHODS) {
    it(`${name}() recovers, and every cache serves afterwards`, () => {
      const c = filled(5);
      const other = filled(3);
      const n = traps();
      poison();
      assert.doesNotThrow(() => call(c), `${name} on a poisoned instance`);
      assert.equal(traps(), n + 1, 'one trap counted');
      if (name === 'set') {
        assert.deepEqual([...c.keys()], ['k1'], 'only the new entry: the lost ones are forgotten');
        assert.equal(c.get('k1'), 'v');
      } else {
        assert.equal(c.size, 0, 'the lost entries are forgotten');
      }
      assert.equal(other.size, 0);
      assert.equal(c.get('k2'), null);
      c.set('a', 'A');
      other.set('b', 'B');
      assert.equal(c.get('a'), 'A');
      assert.equal(other.get('b'), 'B');
      assert.equal(traps(), n + 1);
    });
  }

  it('getStats() after recovery reports the fresh, empty state', () => {
    const c = filled(5);
    poison();
    const s = c.getStats();
    assert.equal(s.total_entries, 0);
    assert.equal(s.hits, 0);
    assert.equal(s.misses, 0);
    assert.equal(s.evictions, 0);
    assert.equal(s.bytes, 0);
  });

  it('memoryBytes() after recovery does not count the lost keys', () => {
    const c = filled(5);
    poison();
    const m = c.memoryBytes();
    assert.equal(m.key_bytes, 0, 'key_bytes counted keys that the recovery dropped');
    assert.equal(m.tracked_bytes, 0);
  });

  it('getOrLoad() recovers and stores the loaded value', async () => {
    const c = filled(5);
    const n = traps();
    poison();
    assert.equal(await c.getOrLoad('k1', () => 'L'), 'L');
    assert.equal(traps(), n + 1);
    assert.equal(c.get('k1'), 'L');
  });

  it('module-level get/set/getStats recover', () => {
    configure({});
    set('m', 1);
    const n = traps();
    poison();
    assert.equal(get('m'), null);
    assert.equal(traps(), n + 1);
    set('m', 2);
    assert.equal(get('m'), 2);
    poison();
    assert.equal(getStats().total_entries, 0);
    set('m', 3);
    assert.equal(get('m'), 3);
    assert.equal(traps(), n + 2);
  });

  it('new BoundedCache() recovers', () => {
    const old = filled(3);
    const n = traps();
    poison();
    let c: BoundedCache | undefined;
    assert.doesNotThrow(() => {
      c = new BoundedCache();
    }, 'constructing a cache on a poisoned instance');
    assert.equal(traps(), n + 1);
    c!.set('a', 1);
    assert.equal(c!.get('a'), 1);
    assert.equal(old.size, 0);
  });

  it('configure() recovers', () => {
    const n = traps();
    poison();
    assert.doesNotThrow(() => configure({ maxEntries: 10 }), 'configure on a poisoned instance');
    assert.equal(traps(), n + 1);
    set('a', 1);
    assert.equal(get('a'), 1);
    assert.equal(getDefaultCache().getStats().max_entries, 10);
  });

  it('two traps in a row are both recovered', () => {
    const c = filled(3);
    const n = traps();
    poison();
    c.set('x', 1);
    poison();
    c.set('y', 2);
    assert.equal(traps(), n + 2);
    assert.equal(c.get('x'), null);
    assert.equal(c.get('y'), 2);
  });
});

describe('metrics collectors across a trap', () => {
  const METHODS: Array<[string, (m: MetricsCollector) => unknown]> = [
    ['increment', (m) => m.increment('a_total', 1, { k: 'v' })],
    ['set', (m) => m.set('g', 'gauge', 2)],
    ['observe', (m) => m.observe('h', 0.5)],
    ['recordResponseTime', (m) => m.recordResponseTime(5)],
    ['getPercentile', (m) => m.getPercentile(99)],
    ['getSnapshot', (m) => m.getSnapshot()],
    ['toPrometheusFormat', (m) => m.toPrometheusFormat()],
    ['setHelp', (m) => m.setHelp('http_requests_total', 'help')],
    ['reset', (m) => m.reset()],
    ['getStats', (m) => m.getStats()],
  ];
  for (const [name, call] of METHODS) {
    it(`${name}() on a poisoned instance recovers; the collector serves afresh`, () => {
      const m = new MetricsCollector();
      m.increment('a_total', 3, { k: 'v' });
      const n = traps();
      poison();
      assert.doesNotThrow(() => call(m), name);
      m.increment('b_total');
      const text = m.toPrometheusFormat();
      // recordResponseTime only stages (no engine call): the trap is met by
      // the next call that reaches the engine. One trap either way.
      assert.equal(traps(), n + 1, 'one trap counted');
      assert.ok(text.includes('\nb_total 1\n'), 'serves afterwards');
      assert.ok(!text.includes('a_total{k="v"} 3'), 'what the lost instance held is gone');
    });
  }

  it('an input that traps every time is retried once, then the trap propagates (no unbounded recursion)', () => {
    const m = new MetricsCollector({
      now: () => {
        engine.ex.engineTestTrap!();
        return 0;
      },
    });
    for (const [name, call] of [
      ['increment', () => m.increment('x_total')],
      ['observe', () => m.observe('h', 1)],
    ] as Array<[string, () => unknown]>) {
      const n = traps();
      assert.throws(call, WebAssembly.RuntimeError, name);
      assert.equal(traps(), n + 1, `${name}: one recovery, then the second trap propagates`);
    }
  });
});

describe('disposed caches across a recovery', () => {
  it('a disposed cache is not re-created on the new instance', () => {
    const d = filled(3);
    d.dispose();
    assert.throws(() => d.set('x', 1), /was disposed/, 'unusable after dispose');
    const n = traps();
    poison();
    filled(1); // recovers
    assert.equal(traps(), n + 1);
    assert.throws(() => d.set('x', 1), /was disposed/, 'still unusable (no core was opened for it)');
    assert.throws(() => d.size, /was disposed/);
  });
});

describe('finalization across a recovery', () => {
  const gc = (globalThis as { gc?: () => void }).gc;

  it(
    "a cache collected before a recovery does not free a live cache's core after it",
    { skip: gc === undefined ? 'needs node --expose-gc' : false },
    async () => {
      const tick = () => new Promise<void>((r) => setImmediate(r));
      let collected = false;
      const watch = new FinalizationRegistry<string>(() => {
        collected = true;
      });
      // Many caches hold handles; then all become garbage.
      (() => {
        for (let i = 0; i < 64; i++) {
          const dead = new BoundedCache();
          dead.set('d', i);
          watch.register(dead, 'dead');
        }
      })();
      await tick(); // WeakRefs keep their targets alive until the job ends
      gc!();
      // Recover now, before the collected caches' finalizers have run.
      const ck = clock();
      const trigger = new BoundedCache({ now: ck.now });
      trigger.set('x', 1);
      const gen = engine.engineGeneration();
      ck.armed = true;
      trigger.get('x'); // reads the clock, which traps
      assert.equal(engine.engineGeneration(), gen + 1, 'recovered');
      // Live caches now occupy the handles the dead ones had on the old instance.
      const live = Array.from({ length: 200 }, (_, i) => {
        const c = new BoundedCache();
        c.set('k', i);
        return c;
      });
      for (let i = 0; i < 20 && !collected; i++) {
        await tick();
        gc!();
      }
      for (let i = 0; i < 5; i++) await tick();
      assert.ok(collected, 'the dead caches were collected and finalized');
      const broken: string[] = [];
      live.forEach((c, i) => {
        try {
          if (c.get('k') !== i) broken.push(`#${i}: get returned ${c.get('k')}`);
          c.set('k2', i);
        } catch (e) {
          broken.push(`#${i}: ${(e as Error).message}`);
        }
      });
      assert.deepEqual(broken, [], 'live caches whose core a stale finalizer freed');
    },
  );
});
