// Memory stage: runs every scenario of bench/memory-child.ts in its own
// `node --expose-gc` process (so heaps do not mix) and collects the results.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, writePart, fmtBytes } from './lib.js';

const SCENARIOS = [
  'cache:bounded-services',
  "cache:bounded-services (policy: 'lru')",
  "cache:bounded-services (policy: 's3-fifo')",
  "cache:bounded-services (policy: 'w-tinylfu')",
  "cache:bounded-services (policy: 'adaptive')",
  'cache:original',
  'cache:fixed original',
  'cache:Map',
  'cache:lru-cache',
  'cache:@isaacs/ttlcache',
  'metrics:bounded-services',
  'metrics:original',
  'metrics:fixed original',
  'metrics:prom-client',
];

const rows: unknown[] = [];
for (const s of SCENARIOS) {
  try {
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', '--max-old-space-size=4096', '--import', 'tsx', join(ROOT, 'bench', 'memory-child.ts'), s],
      { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: process.env },
    );
    const r = JSON.parse(out.trim().split('\n').pop() as string) as Record<string, number | string | boolean>;
    rows.push(r);
    if (r.skipped) process.stderr.write(`  memory ${s}: ${r.skipped as string}\n`);
    else
      process.stderr.write(
        `  memory ${s.padEnd(28)} heap +${fmtBytes(r.heap_delta as number)}${r.wasm_after ? `, wasm ${fmtBytes(r.wasm_after as number)}` : ''} (${r.soak_ms as number} ms)\n`,
      );
  } catch (e) {
    process.stderr.write(`  memory ${s}: failed: ${(e as Error).message.split('\n')[0]}\n`);
    rows.push({ scenario: s, failed: (e as Error).message.split('\n')[0] });
  }
}
writePart('memory', { rows, ops: Number(process.env.BENCH_MEM_OPS ?? 1_000_000) });
