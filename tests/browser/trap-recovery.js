// Trap recovery of bounded-services/cache in the browser: fill the
// module-level cache, poison the Wasm instance with engineTestTrap() (a trap
// holding the cores' RefCell borrow, as a Rust panic would), then show the
// next get/set recover on a fresh instance and the trap is counted once.
// Writes {"ok": ..., "checks": {...}} into #result.
import { configure, get, set, getStats, getMemoryStats, trapStats } from '/dist/cache.js';
import * as engine from '/dist/engine.js';

const out = document.getElementById('result');
const checks = {};
const facts = {};

function check(name, cond, detail) {
  checks[name] = cond ? true : `FAILED${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`;
}

function threw(fn) {
  try {
    fn();
    return null;
  } catch (e) {
    return e;
  }
}

async function main() {
  facts.userAgent = navigator.userAgent;
  const module = await WebAssembly.compileStreaming(fetch('/pkg-test/bounded_services_bg.wasm'));
  check('compiled the test-trap module', WebAssembly.Module.exports(module).some((e) => e.name === 'engineTestTrap'));
  engine.useModuleForTesting(() => module);

  configure({ maxEntries: 100 });
  for (let i = 0; i < 50; i++) set(`k${i}`, { i });
  check('the facade uses the test-trap module', typeof engine.ex.engineTestTrap === 'function');
  check('filled before the trap', getStats().total_entries === 50 && get('k7')?.i === 7, getStats());
  const genBefore = engine.engineGeneration();
  check('no trap yet', trapStats().traps === 0, trapStats());

  const trapErr = threw(() => engine.ex.engineTestTrap());
  facts.trap = trapErr && `${trapErr.name}: ${trapErr.message}`;
  check('engineTestTrap() throws a RuntimeError', trapErr instanceof WebAssembly.RuntimeError, facts.trap);
  const rawErr = threw(() => engine.ex.engineCachePeek(0, 0, 0));
  check('the instance is poisoned (a raw engine call traps)', rawErr instanceof WebAssembly.RuntimeError, String(rawErr));

  // The facade meets the trap on its next engine call and recovers.
  let got;
  const getErr = threw(() => {
    got = get('k1');
  });
  check('get after the trap does not throw', getErr === null, String(getErr));
  check('get after the trap: the entry was lost with the instance', got === null, got);
  check('trapStats().traps === 1', trapStats().traps === 1, trapStats());
  facts.last_trap = trapStats().last_trap;
  check('a fresh instance', engine.engineGeneration() === genBefore + 1, engine.engineGeneration());

  const v = { fresh: true };
  const setErr = threw(() => set('after', v));
  check('set after the trap does not throw', setErr === null, String(setErr));
  check('get returns what set stored after recovery', get('after') === v);
  const stats = getStats();
  facts.statsAfter = stats;
  check('the rebuilt cache holds only the new entry', stats.total_entries === 1 && stats.max_entries === 100, stats);
  const mem = getMemoryStats();
  facts.memoryAfter = mem;
  check('getMemoryStats().traps === 1', mem.traps === 1, mem.traps);
  check('still one trap after more calls', trapStats().traps === 1, trapStats());
}

main()
  .catch((e) => {
    checks.exception = `FAILED: ${e && e.stack ? e.stack : String(e)}`;
  })
  .finally(() => {
    const ok = Object.keys(checks).length > 0 && Object.values(checks).every((c) => c === true);
    out.textContent = JSON.stringify({ ok, checks, facts });
    out.setAttribute('data-done', ok ? 'pass' : 'fail');
  });
