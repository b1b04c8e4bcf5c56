// Shared helpers of the benchmark suite: mitata measurement, result records,
// machine description, and the parts directory every stage writes into.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { cpus, totalmem, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure } from 'mitata';
import { BoundedCache, type EvictionPolicy } from 'bounded-services/cache';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const PARTS = join(ROOT, 'bench', 'results', 'parts.tmp');

/** Quick mode (BENCH_QUICK=1): shorter measurements, for trying the suite. */
export const QUICK = process.env.BENCH_QUICK === '1';

/** One measured operation of one implementation. */
export interface Row {
  /** Operation id, e.g. `cache.get.hit.1000`. */
  op: string;
  /** Implementation, e.g. `bounded-services`, `lru-cache`. */
  impl: string;
  /** ns per operation. */
  p50: number;
  p75?: number;
  p99?: number;
  min?: number;
  max?: number;
  /** Iterations measured in all (batches included). */
  ticks?: number;
  note?: string;
}

/**
 * A copy of `factory` compiled anew from its source, so that what it makes
 * has V8 type feedback of its own. Closures made from one function literal
 * share it: one measured loop for every implementation would see several
 * caches at one call site, and measure each polymorphic, depending on which
 * ran before (lru-cache's get hit read 75 ns so against 32 ns alone).
 * `factory` must use nothing but its parameters.
 */
export function ownCopy<F extends (...args: never[]) => unknown>(factory: F): F {
  return new Function(`return (${factory.toString()});`)() as F;
}

export const SUBJECT = 'bounded-services';

/** The policy a cache gets without a `policy` option (asked of the package itself). */
export function defaultPolicy(): EvictionPolicy {
  const probe = new BoundedCache({ maxEntries: 1 });
  const p = probe.getStats().policy;
  probe.dispose();
  return p;
}

/**
 * Measures `fn` with mitata (warm-up, batches of 4096 calls for fast
 * functions, at least 12 samples and `ms` of CPU time) and returns its
 * per-call statistics in ns.
 */
export async function bench(
  op: string,
  impl: string,
  fn: () => unknown,
  opts: { ms?: number; note?: string } = {},
): Promise<Row> {
  const ms = (opts.ms ?? 300) * (QUICK ? 0.3 : 1);
  const s = (await measure(fn, { min_cpu_time: ms * 1e6 })) as unknown as {
    p50: number;
    p75: number;
    p99: number;
    min: number;
    max: number;
    ticks: number;
  };
  const row: Row = { op, impl, p50: s.p50, p75: s.p75, p99: s.p99, min: s.min, max: s.max, ticks: s.ticks };
  if (opts.note) row.note = opts.note;
  process.stderr.write(
    `  ${op.padEnd(34)} ${impl.padEnd(28)} p50 ${fmtNs(s.p50).padStart(9)}  p99 ${fmtNs(s.p99).padStart(9)}\n`,
  );
  return row;
}

export function fmtNs(ns: number): string {
  if (!Number.isFinite(ns)) return String(ns);
  if (ns < 10) return `${ns.toFixed(2)} ns`;
  if (ns < 1000) return `${ns.toFixed(1)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(2)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

export function fmtBytes(b: number): string {
  if (!Number.isFinite(b)) return String(b);
  const a = Math.abs(b);
  if (a < 1024) return `${Math.round(b)} B`;
  if (a < 1024 * 1024) return `${(b / 1024).toFixed(1)} KB`;
  if (a < 1024 * 1024 * 1024) return `${(b / 1024 / 1024).toFixed(1)} MB`;
  return `${(b / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

/** Writes one stage's results as `parts.tmp/<name>.json`. */
export function writePart(name: string, data: unknown): void {
  mkdirSync(PARTS, { recursive: true });
  writeFileSync(join(PARTS, `${name}.json`), JSON.stringify(data, null, 2) + '\n');
}

export function readPart<T>(name: string): T | undefined {
  const f = join(PARTS, `${name}.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as T) : undefined;
}

/** CPU model, cores, memory, Node and V8 versions. */
export function machine(): Record<string, string | number> {
  let model = cpus()[0]?.model ?? 'unknown';
  let mhz = '';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1]?.trim() ?? model;
    mhz = /^cpu MHz\s*:\s*(.*)$/m.exec(info)?.[1]?.trim() ?? '';
  } catch {
    // not Linux
  }
  let clocksource = '';
  try {
    clocksource = readFileSync('/sys/devices/system/clocksource/clocksource0/current_clocksource', 'utf8').trim();
  } catch {
    // not Linux
  }
  return {
    cpu: model,
    cpu_mhz: mhz,
    cores: cpus().length,
    memory_gb: Math.round(totalmem() / 1024 ** 3),
    clocksource,
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform}-${process.arch}`,
    loadavg_1m_at_start: Number(loadavg()[0]?.toFixed(2) ?? 0),
  };
}

/** Nearest-rank percentile of an ascending array. */
export function pct(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export function hasMetrics(): boolean {
  return existsSync(join(ROOT, 'dist', 'metrics.js'));
}

/** Sinks a value so the JIT cannot drop the computation. */
export let sink: unknown;
export function keep(v: unknown): void {
  sink = v;
}
