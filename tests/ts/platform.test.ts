// Platforms without WeakRef and FinalizationRegistry: Cloudflare Workers
// before compatibility date 2025-05-05 have neither. The package must work
// there (every cache call once failed with "WeakRef is not defined" and
// leaked the cache it had just made in Wasm), freeing only on dispose().
// Run: node --expose-gc --import tsx --test tests/ts/platform.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./support/no-weak-refs.mjs', import.meta.url));

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
