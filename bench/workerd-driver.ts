// Drives the bench worker (bench/workerd) that scripts/bench.sh serves with
// `wrangler dev` on 127.0.0.1, with a bounded number of requests.
//   node --import tsx bench/workerd-driver.ts --prepare   (before wrangler starts)
//   node --import tsx bench/workerd-driver.ts <base-url>
import { writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, PARTS, QUICK, SUBJECT, hasMetrics, writePart } from './lib.js';

/** The worker imports this generated module: the metrics facade, or nothing. */
function prepare(): void {
  mkdirSync(PARTS, { recursive: true });
  const src = hasMetrics()
    ? "export * from 'bounded-services/metrics';\nexport const available = true;\n"
    : 'export const available = false;\n';
  writeFileSync(join(PARTS, 'workerd-metrics.js'), src);
}

/** One row of the workerd part: ns per iteration over the repetitions. */
interface WorkerdRow {
  op: string;
  impl: string;
  iters: number;
  reps: number;
  p50: number;
  min: number;
  max: number;
  outside_p50: number;
}

interface RunResult {
  ms: number;
  iters: number;
  date_ms: number;
}

const REPS = QUICK ? 3 : 7;
const TARGET_MS = QUICK ? 60 : 150;
let requests = 0;
const MAX_REQUESTS = 400;

async function get<T>(url: string): Promise<{ body: T; wall_ms: number }> {
  if (++requests > MAX_REQUESTS) throw new Error('request budget exhausted');
  const t0 = performance.now();
  const res = await fetch(url);
  const body = (await res.json()) as T;
  const wall = performance.now() - t0;
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
  return { body, wall_ms: wall };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1] as number;
}

async function main(base: string): Promise<void> {
  const info = (await get<{ ops: Record<string, string[]>; metrics: boolean; clock_step_ms: number }>(`${base}/info`)).body;
  let workerdVersion = '';
  try {
    workerdVersion = (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'workerd', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // unknown
  }
  let wranglerVersion = '';
  try {
    wranglerVersion = (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'wrangler', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // unknown
  }
  process.stderr.write(`workerd ${workerdVersion}: clock step ${info.clock_step_ms} ms, metrics ${info.metrics}\n`);
  const rows: WorkerdRow[] = [];
  for (const [op, impls] of Object.entries(info.ops)) {
    for (const impl of impls) {
      const u = (iters: number): string =>
        `${base}/run?op=${encodeURIComponent(op)}&impl=${encodeURIComponent(impl)}&iters=${iters}`;
      // Warm-up (discarded: cold JIT), then calibration: grow until one
      // loop lasts TARGET_MS.
      let iters = 10_000;
      await get<RunResult>(u(iters));
      let r = (await get<RunResult>(u(iters))).body;
      while (r.ms < TARGET_MS && iters < 5e7) {
        iters = r.ms < 5 ? iters * 10 : Math.min(5e7, Math.ceil((iters * TARGET_MS * 1.2) / r.ms));
        r = (await get<RunResult>(u(iters))).body;
      }
      const inside: number[] = [];
      const outside: number[] = [];
      for (let k = 0; k < REPS; k++) {
        const { body, wall_ms } = await get<RunResult>(u(iters));
        inside.push((body.ms * 1e6) / iters);
        outside.push((wall_ms * 1e6) / iters);
      }
      const row: WorkerdRow = {
        op,
        impl,
        iters,
        reps: REPS,
        p50: median(inside),
        min: Math.min(...inside),
        max: Math.max(...inside),
        outside_p50: median(outside),
      };
      process.stderr.write(`  workerd ${op.padEnd(30)} ${impl.padEnd(26)} ${row.p50.toFixed(1)} ns/op (${iters} iters)\n`);
      rows.push(row);
    }
  }
  // The scrape target is a difference of two rows measured a minute apart,
  // and the records-only row moved between runs by more than the reads
  // cost. So the reads are also measured as pairs of requests with the same
  // iterations, the cycle then the same cycle without its reads, and
  // reported as the median of the pairs' differences.
  const [withReads, recordsOnly] = ['metrics.scrape.1000', 'metrics.scrape.1000.records'];
  const calibrated = rows.find((r) => r.op === withReads && r.impl === SUBJECT);
  if (calibrated && info.ops[recordsOnly]?.includes(SUBJECT)) {
    const u = (op: string): string =>
      `${base}/run?op=${encodeURIComponent(op)}&impl=${encodeURIComponent(SUBJECT)}&iters=${calibrated.iters}`;
    const inside: number[] = [];
    const outside: number[] = [];
    for (let k = 0; k < REPS + 2; k++) {
      const a = await get<RunResult>(u(withReads));
      const b = await get<RunResult>(u(recordsOnly));
      inside.push(((a.body.ms - b.body.ms) * 1e6) / calibrated.iters);
      outside.push(((a.wall_ms - b.wall_ms) * 1e6) / calibrated.iters);
    }
    const row: WorkerdRow = {
      op: 'metrics.scrape.1000.reads',
      impl: SUBJECT,
      iters: calibrated.iters,
      reps: REPS + 2,
      p50: median(inside),
      min: Math.min(...inside),
      max: Math.max(...inside),
      outside_p50: median(outside),
    };
    process.stderr.write(`  workerd ${row.op.padEnd(30)} ${SUBJECT.padEnd(26)} ${row.p50.toFixed(1)} ns/cycle (paired)\n`);
    rows.push(row);
  }
  writePart('workerd', {
    workerd: workerdVersion,
    wrangler: wranglerVersion,
    clock_step_ms: info.clock_step_ms,
    metrics: info.metrics,
    requests,
    rows,
  });
}

if (process.argv[2] === '--prepare') prepare();
else await main(process.argv[2] ?? 'http://127.0.0.1:8799');
