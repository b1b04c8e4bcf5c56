// What every platform and entry gets. Platforms without WeakRef and
// FinalizationRegistry (Cloudflare Workers before compatibility date
// 2025-05-05): the package must work there (every cache call once failed
// with "WeakRef is not defined" and leaked the cache it had just made in
// Wasm), freeing only on dispose(). Every entry exports ready().
// Run: node --expose-gc --import tsx --test tests/ts/platform.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./support/no-weak-refs.mjs', import.meta.url));
const MODULE_SCOPE = fileURLToPath(new URL('./support/module-scope-shipper.mjs', import.meta.url));

describe('without WeakRef and FinalizationRegistry', () => {
  it('caches and collectors work, and dispose() frees them', () => {
    const out = JSON.parse(execFileSync(process.execPath, [SCRIPT], { encoding: 'utf8', timeout: 60_000 })) as Record<string, unknown>;
    assert.deepEqual(out, {
      weakRef: 'undefined',
      finalizationRegistry: 'undefined',
      moduleLevel: 'v',
      p50: 12,
      liveCaches: 1, // the module-level cache; the 200 disposed ones are gone
    });
  });
});

describe('every entry', () => {
  it('exports ready(), getMemoryStats() and trapStats(), the same functions everywhere', async () => {
    const entries = ['bounded-services', 'bounded-services/cache', 'bounded-services/metrics', 'bounded-services/tiered', 'bounded-services/fleet'];
    const mods = await Promise.all(entries.map((e) => import(e) as Promise<Record<string, unknown>>));
    for (const name of ['ready', 'getMemoryStats', 'trapStats']) {
      for (const [i, m] of mods.entries()) {
        assert.equal(typeof m[name], 'function', `${entries[i]} exports ${name}`);
        assert.equal(m[name], mods[1]![name], `${entries[i]}'s ${name} is the one function`);
      }
    }
    await (mods[3]!['ready'] as () => Promise<void>)(); // resolves at once in Node
  });
});

describe('a FleetShipper made at module scope', () => {
  it("over the module-level collector instantiates no WebAssembly", () => {
    const out = JSON.parse(execFileSync(process.execPath, [MODULE_SCOPE], { encoding: 'utf8', timeout: 60_000 })) as Record<string, unknown>;
    assert.deepEqual(out, { atImport: 0, afterUse: 1, delta: true });
  });
});
