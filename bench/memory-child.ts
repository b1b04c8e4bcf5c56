// One memory scenario in its own process (so heaps do not mix):
//   node --expose-gc --import tsx bench/memory-child.ts <scenario>
// Prints one JSON line: heap after a forced GC before and after the soak,
// and the Wasm linear memory where the package is used.
import { LRUCache } from 'lru-cache';
import { TTLCache } from '@isaacs/ttlcache';
import promClient from 'prom-client';
import { createOriginalCache, createFixedCache, createOriginalMetrics, createFixedMetrics } from '../tests/oracles/index.js';
import { hasMetrics } from './lib.js';

const SETS = Number(process.env.BENCH_MEM_OPS ?? 1_000_000);
const INCREMENTS = Number(process.env.BENCH_MEM_OPS ?? 1_000_000);
const CAP = 1000;
/** Stop an unbounded soak early once its heap passes this (bytes). */
const HEAP_STOP = Number(process.env.BENCH_MEM_STOP ?? 3 * 1024 ** 3);

const scenario = process.argv[2] ?? '';
const gc = globalThis.gc;
if (!gc) throw new Error('run with --expose-gc');

function settle(): NodeJS.MemoryUsage {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage();
}

// ~2 KB value: an object holding a distinct, flat 2,000-character string.
const FILLER = 'x'.repeat(2000);
function value(i: number): { id: number; body: string } {
  const body = FILLER.slice(String(i).length) + i; // a cons string ...
  body.charCodeAt(body.length >> 1); // ... flattened into its own 2 KB
  return { id: i, body };
}

type Soak = () => Promise<{ done: number; stopped?: boolean; keep: unknown; wasm?: () => number }>;

async function wasmBytes(): Promise<() => number> {
  const engine = (await import('../dist/engine.js')) as { engine(): { memory: { buffer: ArrayBuffer } } };
  return () => engine.engine().memory.buffer.byteLength;
}

function cacheSoak(make: () => { set(k: string, v: unknown): void }): Soak {
  return async () => {
    const c = make();
    for (let i = 0; i < SETS; i++) {
      c.set(`mood:stats:${i}`, value(i));
      if ((i & 0x3fff) === 0 && process.memoryUsage().heapUsed > HEAP_STOP) {
        return { done: i + 1, stopped: true, keep: c };
      }
    }
    return { done: SETS, keep: c };
  };
}

function incrementSoak(make: () => Promise<(path: string) => void>, wasm = false): Soak {
  return async () => {
    const inc = await make();
    for (let i = 0; i < INCREMENTS; i++) {
      inc(`/api/moods/${i}`);
      if ((i & 0x3fff) === 0 && process.memoryUsage().heapUsed > HEAP_STOP) {
        return { done: i + 1, stopped: true, keep: inc, wasm: wasm ? await wasmBytes() : undefined };
      }
    }
    return { done: INCREMENTS, keep: inc, wasm: wasm ? await wasmBytes() : undefined };
  };
}

const scenarios: Record<string, { kind: 'cache' | 'metrics'; impl: string; note: string; soak: Soak; wasm?: boolean }> = {
  'cache:bounded-services': {
    kind: 'cache',
    impl: 'bounded-services',
    note: `new BoundedCache({ maxEntries: ${CAP} })`,
    wasm: true,
    soak: async () => {
      const { BoundedCache } = await import('bounded-services/cache');
      const r = await cacheSoak(() => new BoundedCache({ maxEntries: CAP }))();
      return { ...r, wasm: await wasmBytes() };
    },
  },
  ...Object.fromEntries(
    (['lru', 's3-fifo', 'w-tinylfu', 'adaptive'] as const).map((policy) => [
      `cache:bounded-services (policy: '${policy}')`,
      {
        kind: 'cache',
        impl: `bounded-services (policy: '${policy}')`,
        note: `new BoundedCache({ maxEntries: ${CAP}, policy: '${policy}' })`,
        wasm: true,
        soak: async () => {
          const { BoundedCache } = await import('bounded-services/cache');
          const r = await cacheSoak(() => new BoundedCache({ maxEntries: CAP, policy }))();
          return { ...r, wasm: await wasmBytes() };
        },
      },
    ]),
  ),
  'cache:original': { kind: 'cache', impl: 'original', note: 'unbounded Map', soak: cacheSoak(() => createOriginalCache()) },
  'cache:fixed original': { kind: 'cache', impl: 'fixed original', note: `maxSize ${CAP}`, soak: cacheSoak(() => createFixedCache()) },
  'cache:Map': {
    kind: 'cache',
    impl: 'Map',
    note: 'unbounded',
    soak: cacheSoak(() => {
      const m = new Map<string, unknown>();
      return { set: (k, v) => void m.set(k, v) };
    }),
  },
  'cache:lru-cache': {
    kind: 'cache',
    impl: 'lru-cache',
    note: `{ max: ${CAP}, ttl: 300000 }`,
    soak: cacheSoak(() => new LRUCache<string, object>({ max: CAP, ttl: 300_000 }) as unknown as { set(k: string, v: unknown): void }),
  },
  'cache:@isaacs/ttlcache': {
    kind: 'cache',
    impl: '@isaacs/ttlcache',
    note: `{ max: ${CAP}, ttl: 300000 }`,
    soak: cacheSoak(() => new TTLCache<string, unknown>({ max: CAP, ttl: 300_000 })),
  },
  'metrics:bounded-services': {
    kind: 'metrics',
    impl: 'bounded-services',
    note: "metricsCollector.increment('http_requests_total', 1, { method, path })",
    wasm: true,
    soak: incrementSoak(async () => {
      const { metricsCollector } = (await import('bounded-services/metrics' as string)) as {
        metricsCollector: { increment(n: string, a?: number, l?: Record<string, string>): void };
      };
      return (path) => metricsCollector.increment('http_requests_total', 1, { method: 'GET', path });
    }, true),
  },
  'metrics:original': {
    kind: 'metrics',
    impl: 'original',
    note: 'one merged label object per name',
    soak: incrementSoak(async () => {
      const m = createOriginalMetrics();
      return (path) => m.increment('http_requests_total', 1, { method: 'GET', path });
    }),
  },
  'metrics:fixed original': {
    kind: 'metrics',
    impl: 'fixed original',
    note: 'merged label object capped at 50 keys',
    soak: incrementSoak(async () => {
      const m = createFixedMetrics();
      return (path) => m.increment('http_requests_total', 1, { method: 'GET', path });
    }),
  },
  'metrics:prom-client': {
    kind: 'metrics',
    impl: 'prom-client',
    note: "Counter({ labelNames: ['method', 'path'] }): one series per path",
    soak: incrementSoak(async () => {
      const registry = new promClient.Registry();
      const c = new promClient.Counter({
        name: 'http_requests_total',
        help: 'requests',
        labelNames: ['method', 'path'],
        registers: [registry],
      });
      return (path) => c.inc({ method: 'GET', path });
    }),
  },
};

async function main(): Promise<void> {
  const s = scenarios[scenario];
  if (!s) {
    console.log(JSON.stringify({ scenarios: Object.keys(scenarios) }));
    return;
  }
  if (s.kind === 'metrics' && s.impl === 'bounded-services' && !hasMetrics()) {
    console.log(JSON.stringify({ scenario, kind: s.kind, impl: s.impl, skipped: 'bounded-services/metrics not built' }));
    return;
  }
  // Load what the soak needs before the "before" figure.
  if (s.impl === 'bounded-services') {
    if (s.kind === 'cache') await import('bounded-services/cache');
    else await import('bounded-services/metrics' as string);
  }
  const wasmBefore = s.wasm ? (await wasmBytes())() : undefined;
  const before = settle();
  const t0 = process.hrtime.bigint();
  const r = await s.soak();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const after = settle();
  const wasmAfter = r.wasm ? r.wasm() : s.wasm ? (await wasmBytes())() : undefined;
  const out = {
    scenario,
    kind: s.kind,
    impl: s.impl,
    note: s.note,
    ops: r.done,
    stopped_early: r.stopped ?? false,
    soak_ms: Math.round(ms),
    heap_before: before.heapUsed,
    heap_after: after.heapUsed,
    heap_delta: after.heapUsed - before.heapUsed,
    external_delta: after.external - before.external,
    rss_after: after.rss,
    wasm_before: wasmBefore,
    wasm_after: wasmAfter,
  };
  // Keep the soaked structure alive until after the measurement.
  if ((r.keep as object | undefined) === undefined) console.error('nothing kept');
  console.log(JSON.stringify(out));
}

await main();
