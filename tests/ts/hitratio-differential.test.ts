// A differential test against an implementation nobody here wrote: on a
// seeded trace, `policy: 'lru'` must hit exactly as often as libCacheSim's
// LRU (PyPI libcachesim, installed by scripts/setup.sh), at several sizes.
// The other policies are checked against reference models of their own in
// `cargo test` (src/cache/policy_tests.rs); their hit ratios against
// libCacheSim's are measured in `npm run bench` (BENCHMARKS.md).
// Run: node --import tsx --test tests/ts/hitratio-differential.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BoundedCache, type EvictionPolicy } from 'bounded-services/cache';

const REFERENCE = fileURLToPath(new URL('../../bench/hitratio/reference.py', import.meta.url));

/** 60,000 requests over 5,000 ids, skewed (a hot tenth gets most), with scans. */
function trace(): Uint32Array {
  const ids = new Uint32Array(60_000);
  let x = 2026;
  let scan = 100_000;
  for (let i = 0; i < ids.length; i++) {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
    const r = (x >>> 8) % 1000;
    ids[i] = i % 10_000 > 9_000 ? scan++ : r < 700 ? (x >>> 4) % 500 : (x >>> 4) % 5000;
  }
  return ids;
}

function hitsOf(policy: EvictionPolicy, capacity: number, ids: Uint32Array): number {
  const c = new BoundedCache({ maxEntries: capacity, policy, ttl: Infinity });
  let hits = 0;
  for (const id of ids) {
    const k = String(id);
    if (c.get(k) !== null) hits++;
    else c.set(k, id);
  }
  c.dispose();
  return hits;
}

describe('hit ratio: a differential test against libCacheSim', () => {
  it("policy 'lru' hits exactly as libCacheSim's LRU does", () => {
    const ids = trace();
    const dir = mkdtempSync(join(tmpdir(), 'bs-hitratio-'));
    try {
      writeFileSync(join(dir, 'diff.bin'), Buffer.from(ids.buffer));
      const caps = [10, 100, 500, 2000];
      const out = JSON.parse(
        execFileSync('python3', [REFERENCE, dir, caps.join(','), 'LRU'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 120_000 }),
      ) as Record<string, Record<string, { LRU: number }>>;
      for (const c of caps) {
        const theirs = out.diff?.[String(c)]?.LRU;
        assert.equal(typeof theirs, 'number', `libCacheSim answered for ${c}`);
        assert.equal(hitsOf('lru', c, ids), theirs, `LRU hits at ${c} entries`);
        assert.ok((theirs as number) > 0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the scan-resistant policies beat LRU on this trace (scans and a hot set)', () => {
    const ids = trace();
    const lru = hitsOf('lru', 500, ids);
    for (const p of ['s3-fifo', 'w-tinylfu', 'adaptive'] as const) {
      assert.ok(hitsOf(p, 500, ids) > lru, `${p} beats LRU`);
    }
  });
});
