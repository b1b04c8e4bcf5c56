// Worst single call while 100k entries expire at once: what a Worker's CPU
// limit cares about. Every cache is filled with 100k entries (ttl 60 s) on
// an injected clock, the clock jumps 301 s (past every expiry and past the
// fixed original's 5-minute full-clean interval), then a request-like mix
// of calls runs (get of an expired key, set of a new key, get of the new
// key), each call timed alone with process.hrtime.bigint().
import { BoundedCache } from 'bounded-services/cache';
import { LRUCache } from 'lru-cache';
import { createFixedCache } from '../tests/oracles/index.js';
import { PerformanceObserver } from 'node:perf_hooks';
import { pct, SUBJECT } from './lib.js';

const N = 100_000;
const CALLS = 300_000; // after the jump: 100k rounds of get-expired, set-new, get-new
/** An O(n)-per-call cache would take minutes: stop its rounds after 3 s. */
const TIME_LIMIT_NS = 3_000_000_000n;

export interface WorstRow {
  impl: string;
  /** What the timed calls were. */
  calls: string;
  count: number;
  max_ns: number;
  p99_ns: number;
  p999_ns: number;
  p50_ns: number;
  /** Sum of all timed calls after the jump. */
  total_ms: number;
  /** Entries left stored at the end (expired ones not yet reclaimed included). */
  left: number;
  /** Calls that took more than 50 µs. */
  over_50us?: number;
  /** GC pauses during the timed calls, and the longest (ns). */
  gc_pauses?: number;
  gc_max_ns?: number;
  note?: string;
}

interface Target {
  get(k: string): unknown;
  set(k: string, v: unknown): void;
  size(): number;
}

async function run(impl: string, make: (clock: () => number) => Target, note?: string): Promise<WorstRow> {
  let t = 1_700_000_000_000;
  const clock = (): number => t;
  const c = make(clock);
  const keys = Array.from({ length: N }, (_, i) => `mood:stats:${i}`);
  const fresh = Array.from({ length: N }, (_, i) => `mood:list:${i}:all`);
  const v = { v: 1 };
  for (const k of keys) c.set(k, v);
  globalThis.gc?.();
  const pauses: number[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push(e.duration * 1e6);
  });
  obs.observe({ entryTypes: ['gc'] });
  t += 301_000;
  const times = new Float64Array(CALLS);
  let j = 0;
  const deadline = process.hrtime.bigint() + TIME_LIMIT_NS;
  for (let i = 0; i < N; i++) {
    if ((i & 63) === 0 && process.hrtime.bigint() > deadline) break;
    let t0 = process.hrtime.bigint();
    c.get(keys[(i * 7919) % N] as string);
    let t1 = process.hrtime.bigint();
    times[j++] = Number(t1 - t0);
    t0 = process.hrtime.bigint();
    c.set(fresh[i] as string, v);
    t1 = process.hrtime.bigint();
    times[j++] = Number(t1 - t0);
    t0 = process.hrtime.bigint();
    c.get(fresh[i] as string);
    t1 = process.hrtime.bigint();
    times[j++] = Number(t1 - t0);
  }
  await new Promise((r) => setTimeout(r, 50)); // let the gc entries arrive
  obs.disconnect();
  let total = 0;
  let over = 0;
  for (let k = 0; k < j; k++) {
    total += times[k] as number;
    if ((times[k] as number) > 50_000) over++;
  }
  const sorted = times.slice(0, j).sort();
  const row: WorstRow = {
    impl,
    calls: `get(expired) + set(new) + get(new), ${j / 3} rounds${j < CALLS ? ' (stopped at the 3 s limit)' : ''}`,
    count: j,
    over_50us: over,
    gc_pauses: pauses.length,
    gc_max_ns: pauses.length ? Math.max(...pauses) : 0,
    max_ns: sorted[sorted.length - 1] as number,
    p99_ns: pct(sorted, 99),
    p999_ns: pct(sorted, 99.9),
    p50_ns: pct(sorted, 50),
    total_ms: total / 1e6,
    left: c.size(),
  };
  if (note) row.note = note;
  process.stderr.write(
    `  worst ${impl.padEnd(28)} max ${(row.max_ns / 1e3).toFixed(1)} µs  p99 ${(row.p99_ns / 1e3).toFixed(2)} µs  >50µs ${over}  gc ${pauses.length} (max ${(row.gc_max_ns! / 1e3).toFixed(0)} µs)\n`,
  );
  return row;
}

/** A single purge call over 100k expired entries (lru-cache / ttlcache). */
function purge(impl: string, make: (clock: () => number) => Target & { purge(): void }): WorstRow {
  let t = 1_700_000_000_000;
  const c = make(() => t);
  const v = { v: 1 };
  for (let i = 0; i < N; i++) c.set(`mood:stats:${i}`, v);
  globalThis.gc?.();
  t += 301_000;
  const t0 = process.hrtime.bigint();
  c.purge();
  const ns = Number(process.hrtime.bigint() - t0);
  process.stderr.write(`  worst ${impl.padEnd(28)} one purgeStale() ${(ns / 1e3).toFixed(1)} µs\n`);
  return {
    impl,
    calls: 'one purgeStale() after the jump',
    count: 1,
    max_ns: ns,
    p99_ns: ns,
    p999_ns: ns,
    p50_ns: ns,
    total_ms: ns / 1e6,
    left: c.size(),
  };
}

export async function worstCase(): Promise<WorstRow[]> {
  process.stderr.write(`worst case: ${N} entries expire at once\n`);
  const rows: WorstRow[] = [];
  // hrtime.bigint() itself: the floor under every figure below.
  const floor = new Float64Array(100_000);
  for (let i = 0; i < floor.length; i++) {
    const t0 = process.hrtime.bigint();
    const t1 = process.hrtime.bigint();
    floor[i] = Number(t1 - t0);
  }
  floor.sort();
  rows.push({
    impl: 'timer floor (two hrtime.bigint() calls)',
    calls: 'empty',
    count: floor.length,
    max_ns: floor[floor.length - 1] as number,
    p99_ns: pct(floor, 99),
    p999_ns: pct(floor, 99.9),
    p50_ns: pct(floor, 50),
    total_ms: 0,
    left: 0,
  });
  rows.push(
    await run('Map churn (floor: no cache logic)', () => {
      const m = new Map<string, unknown>();
      const queue: string[] = [];
      let head = 0;
      return {
        get: (k) => m.get(k),
        set: (k, v) => {
          if (m.size >= N) m.delete(queue[head++] as string);
          queue.push(k);
          m.set(k, v);
        },
        size: () => m.size,
      };
    }, 'plain Map of 100k keys, delete oldest (from a queue) + set: V8 rehashes the whole table every ~31k deletions'),
  );
  rows.push(
    await run(SUBJECT, (now) => {
      const c = new BoundedCache({ maxEntries: N, now, ttl: 60 });
      return { get: (k) => c.get(k), set: (k, v) => c.set(k, v), size: () => c.size };
    }, 'expireBudget 8 (default)'),
  );
  rows.push(
    await run('fixed original', (now) => {
      const c = createFixedCache({ now, maxSize: N });
      return { get: (k) => c.get(k), set: (k, v) => c.set(k, v, 60), size: () => c.size() };
    }, `maxSize ${N}; the first get after the jump runs the full cleanExpired()`),
  );
  rows.push(
    await run('lru-cache', (now) => {
      const c = new LRUCache<string, object>({ max: N, ttl: 60_000, perf: { now } });
      return { get: (k) => c.get(k), set: (k, v) => void c.set(k, v as object), size: () => c.size };
    }, 'stale entries removed lazily on get; evicted on set'),
  );
  rows.push(
    purge('lru-cache purgeStale()', (now) => {
      const c = new LRUCache<string, object>({ max: N, ttl: 60_000, perf: { now } });
      return { get: (k) => c.get(k), set: (k, v) => void c.set(k, v as object), size: () => c.size, purge: () => c.purgeStale() };
    }),
  );
  return rows;
}
