// Report stage: reads bench/results/parts.tmp/*.json and writes
// bench/results/latest.json and BENCHMARKS.md.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, readPart, fmtNs, fmtBytes, SUBJECT, type Row } from './lib.js';
import type { WorstRow } from './worst-case.js';
import { families, IMPLS, POLICIES, type HitratioPart } from './hitratio.js';

interface NodePart {
  machine: Record<string, string | number>;
  started: string;
  seconds: number;
  worst: WorstRow[];
  cache: Row[];
  metrics: Row[];
  metrics_skipped?: string;
}
interface MemRow {
  scenario: string;
  kind?: string;
  impl?: string;
  note?: string;
  ops?: number;
  stopped_early?: boolean;
  soak_ms?: number;
  heap_delta?: number;
  heap_after?: number;
  wasm_before?: number;
  wasm_after?: number;
  skipped?: string;
  failed?: string;
}
interface Footprint {
  wasm_bytes: number;
  wasm_gzip_bytes: number;
  wasm_brotli_bytes: number;
  instantiate_cold: { runs: number; total_ns_p50: number; total_ns_min: number; total_ns_max: number; compile_ns_p50: number; instantiate_ns_p50: number };
  instantiate_warm: { p50_ns: number; p99_ns: number };
  package?: { tarball_bytes: number; unpacked_bytes: number; files: number; largest: { path: string; size: number }[] };
}
interface WorkerdPart {
  workerd: string;
  wrangler: string;
  clock_step_ms: number;
  metrics: boolean;
  requests: number;
  rows: { op: string; impl: string; iters: number; reps: number; p50: number; min: number; max: number; outside_p50: number }[];
}

const node = readPart<NodePart>('node');
const memory = readPart<{ rows: MemRow[]; ops: number }>('memory');
const footprint = readPart<Footprint>('footprint');
const workerd = readPart<WorkerdPart>('workerd');
const hitratio = readPart<HitratioPart>('hitratio');
const fleet = readPart<{ rows: Row[]; sizes: Record<string, number> }>('fleet');
const fleetRow = (op: string, impl = SUBJECT): Row | undefined => fleet?.rows.find((r) => r.op === op && r.impl === impl);

/** The policy caches get without a `policy` option (recorded by the hit-ratio stage). */
const DEFAULT_POLICY: string = hitratio?.default_policy ?? 'lru';

/** Per trace and capacity: the best reference policy (Belady aside) and each policy's gap to it, in points. */
function hitGaps(h: HitratioPart): { trace: string; cap: number; best: string; bestRatio: number; gaps: Record<string, number> }[] {
  const out = [];
  for (const tr of h.traces) {
    for (const [c, row] of Object.entries(h.hits[tr] ?? {})) {
      const refs = Object.entries(row).filter(([k]) => k.startsWith('libCacheSim ') && k !== 'libCacheSim Belady');
      if (refs.length === 0) continue;
      const [best, bestHits] = refs.reduce((a, b) => (b[1] > a[1] ? b : a));
      const gaps: Record<string, number> = {};
      for (const p of POLICIES) gaps[p] = (((row[`bounded-services ${p}`] ?? 0) - bestHits) / h.requests) * 100;
      out.push({ trace: tr, cap: Number(c), best: best.slice('libCacheSim '.length), bestRatio: bestHits / h.requests, gaps });
    }
  }
  return out;
}
const command = process.env.BENCH_COMMAND ?? 'npm run bench';
const pkgVersion = (name: string): string => {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
};

const rows: Row[] = [...(node?.cache ?? []), ...(node?.metrics ?? [])];
const byOp = new Map<string, Row[]>();
for (const r of rows) {
  const list = byOp.get(r.op) ?? [];
  list.push(r);
  byOp.set(r.op, list);
}
const find = (op: string, impl: string): Row | undefined => byOp.get(op)?.find((r) => r.impl === impl);
const p50 = (op: string, impl: string): number => find(op, impl)?.p50 ?? NaN;

/** Ratios of every baseline to bounded-services, same op, same process. */
function ratios(op: string): Record<string, number> {
  const ours = p50(op, SUBJECT);
  const out: Record<string, number> = {};
  for (const r of byOp.get(op) ?? []) if (r.impl !== SUBJECT) out[r.impl] = r.p50 / ours;
  return out;
}

function fmtRatio(x: number): string {
  if (!Number.isFinite(x)) return '–';
  if (x >= 100) return `${Math.round(x).toLocaleString('en-US')}×`;
  if (x >= 10) return `${x.toFixed(0)}×`;
  return `${x.toFixed(2)}×`;
}

// ---------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------
interface Target {
  target: string;
  measured: string;
  met: boolean | null;
}
const targets: Target[] = [];
const t = (target: string, measured: string, met: boolean | null): void => void targets.push({ target, measured, met });

{
  const ours = p50('cache.get.hit.1000', SUBJECT);
  const lru = p50('cache.get.hit.1000', 'lru-cache');
  const fixed = p50('cache.get.hit.1000', 'fixed original');
  t('get hit (1000 entries) no slower than lru-cache', `${fmtNs(ours)} vs ${fmtNs(lru)} (${fmtRatio(lru / ours)} lru/ours)`, ours <= lru);
  const lruExact = p50('cache.get.hit.1000', 'lru-cache (ttlResolution: 0)');
  t(
    'get hit, default clock (Node): ≤ 0.9× lru-cache with ttlResolution: 0 (both read the clock per call)',
    `${fmtNs(ours)} vs ${fmtNs(lruExact)} (${fmtRatio(ours / lruExact)} ours/lru)`,
    ours <= 0.9 * lruExact,
  );
  const turn = p50('cache.get.hit.1000', `${SUBJECT} (per-turn clock)`);
  t(
    "get hit, per-turn clock (Node, clock: 'turn'): ≤ 1.0× lru-cache default",
    `${fmtNs(turn)} vs ${fmtNs(lru)} (${fmtRatio(turn / lru)} ours/lru)`,
    turn <= lru,
  );
  t('get hit (1000 entries) ≥ 100× faster than the fixed original', `${fmtRatio(fixed / ours)} (${fmtNs(fixed)} vs ${fmtNs(ours)})`, fixed / ours >= 100);
  const s = p50('cache.set.evict.1000', SUBJECT);
  const sl = p50('cache.set.evict.1000', 'lru-cache');
  t('set of new keys at capacity (1000) no slower than lru-cache', `${fmtNs(s)} vs ${fmtNs(sl)} (${fmtRatio(sl / s)})`, s <= sl);
  if (node?.metrics_skipped) {
    t('recordResponseTime no slower than hdr-histogram-js (JS)', node.metrics_skipped, null);
    t('exact getPercentile(99) under 1 µs', node.metrics_skipped, null);
    t('exact p50, p95, p99 of the last 1000 under 1 µs each, with a scrape every 1000 records', node.metrics_skipped, null);
  } else {
    const r = p50('metrics.recordResponseTime', SUBJECT);
    const h = p50('metrics.recordResponseTime', 'hdr-histogram-js');
    t('recordResponseTime no slower than hdr-histogram-js (JS)', `${fmtNs(r)} vs ${fmtNs(h)} (${fmtRatio(h / r)})`, r <= h);
    const p = p50('metrics.getPercentile99', SUBJECT);
    const pr = p50('metrics.record+getPercentile99', SUBJECT);
    t('exact getPercentile(99) under 1 µs', `${fmtNs(p)} (window unchanged); ${fmtNs(pr)} recordResponseTime + getPercentile(99)`, p < 1000 && pr < 1000);
    // The reads' share of a cycle of 1000 records and a scrape: what the
    // cycle costs beyond its records, per percentile.
    const cycle = p50('metrics.scrape.1000', SUBJECT);
    const records = p50('metrics.scrape.1000.records', SUBJECT);
    const each = (cycle - records) / 3;
    t(
      'exact p50, p95, p99 of the last 1000 under 1 µs each, with a scrape every 1000 records ((cycle − the same 1000 records without the reads) ÷ 3); durations whole ms of 1–500',
      `${fmtNs(each)} each (cycle ${fmtNs(cycle)}, its records alone ${fmtNs(records)}; 1000 × recordResponseTime: ${fmtNs(1000 * r)})`,
      each < 1000,
    );
  }
  const wo = workerd?.rows.find((r) => r.op === 'cache.get.hit.1000' && r.impl === SUBJECT)?.p50;
  const wl = workerd?.rows.find((r) => r.op === 'cache.get.hit.1000' && r.impl === 'lru-cache')?.p50;
  t(
    'get hit in workerd, default clock (per turn: exact there): ≤ 1.0× lru-cache default in the same worker',
    wo !== undefined && wl !== undefined ? `${fmtNs(wo)} vs ${fmtNs(wl)} (${fmtRatio(wo / wl)} ours/lru)` : 'not run',
    wo !== undefined && wl !== undefined ? wo <= wl : null,
  );
  const inWorkerd = (op: string, impl: string): number | undefined =>
    workerd?.rows.find((r) => r.op === op && r.impl === impl)?.p50;
  const ratioRow = (target: string, a: number | undefined, b: number | undefined, limit: number, names: string): void =>
    t(
      target,
      a !== undefined && b !== undefined && !Number.isNaN(a) && !Number.isNaN(b)
        ? `${fmtNs(a)} vs ${fmtNs(b)} (${fmtRatio(a / b)} ${names})`
        : 'not run',
      a !== undefined && b !== undefined && !Number.isNaN(a) && !Number.isNaN(b) ? a <= limit * b : null,
    );
  ratioRow(
    'set of a new key at capacity in workerd: ≤ 0.9× lru-cache',
    inWorkerd('cache.set.evict.1000', SUBJECT),
    inWorkerd('cache.set.evict.1000', 'lru-cache'),
    0.9,
    'ours/lru',
  );
  ratioRow(
    'recordResponseTime in workerd: ≤ 1.0× hdr-histogram-js (exact windowed percentiles kept)',
    inWorkerd('metrics.recordResponseTime', SUBJECT),
    inWorkerd('metrics.recordResponseTime', 'hdr-histogram-js'),
    1.0,
    'ours/hdr',
  );
  {
    // As the Node row: what a cycle of 1000 records and a scrape costs
    // beyond its records, per percentile, inside workerd.
    // Measured as alternated pairs of requests (workerd-driver.ts); the
    // difference of the two rows' medians is shown beside it.
    const cycle = inWorkerd('metrics.scrape.1000', SUBJECT);
    const records = inWorkerd('metrics.scrape.1000.records', SUBJECT);
    const paired = inWorkerd('metrics.scrape.1000.reads', SUBJECT);
    const each = paired !== undefined ? paired / 3 : undefined;
    t(
      'exact p50, p95, p99 of the last 1000 in workerd under 1 µs each, with a scrape every 1000 records ((cycle − the same 1000 records without the reads) ÷ 3, over alternated pairs of requests); durations whole ms of 1–500',
      each !== undefined && cycle !== undefined && records !== undefined
        ? `${fmtNs(each)} each (median of the pairs' differences; the rows' medians: cycle ${fmtNs(cycle)}, its records alone ${fmtNs(records)})`
        : 'not run',
      each !== undefined && !Number.isNaN(each) ? each < 1000 : null,
    );
  }
  ratioRow(
    'labelled increment (Node): ≤ 0.5× prom-client',
    p50('metrics.increment.labelled', SUBJECT),
    p50('metrics.increment.labelled', 'prom-client'),
    0.5,
    'ours/prom-client',
  );
  ratioRow(
    'labelled increment in workerd: ≤ 0.5× prom-client',
    inWorkerd('metrics.increment.labelled', SUBJECT),
    inWorkerd('metrics.increment.labelled', 'prom-client'),
    0.5,
    'ours/prom-client',
  );
  const w = node?.worst.find((x) => x.impl === SUBJECT);
  t(
    'worst single call under 50 µs while 100k entries expire at once',
    w ? `max ${fmtNs(w.max_ns)}, p99.9 ${fmtNs(w.p999_ns)}, p99 ${fmtNs(w.p99_ns)}; ${w.over_50us} of ${w.count} calls over 50 µs` : 'not run',
    w ? w.max_ns < 50_000 : null,
  );
  // The hot-path issue's form of it: p99.99 ≤ 50 µs allows one call in
  // 10,000 over 50 µs.
  const allowed = w ? Math.floor(w.count / 10_000) : 0;
  t(
    'worst single call at 100k entries expiring: max ≤ 1 ms and p99.99 ≤ 50 µs',
    w ? `max ${fmtNs(w.max_ns)}; ${w.over_50us} of ${w.count} calls over 50 µs (p99.99 allows ${allowed})` : 'not run',
    w ? w.max_ns <= 1_000_000 && (w.over_50us ?? Infinity) <= allowed : null,
  );
  const mem = (impl: string, kind = 'cache'): MemRow | undefined => memory?.rows.find((r) => r.kind === kind && r.impl === impl);
  const mb = mem(SUBJECT);
  const ml = mem('lru-cache');
  if (mb?.heap_delta !== undefined && ml?.heap_delta !== undefined) {
    const wasmGrowth = (mb.wasm_after ?? 0) - (mb.wasm_before ?? 0);
    const ours = mb.heap_delta + wasmGrowth;
    t(
      'memory after 1M sets (1000 entries): ≤ lru-cache + 1 MB of Wasm memory',
      `heap +${fmtBytes(mb.heap_delta)} + Wasm growth ${fmtBytes(wasmGrowth)} (linear memory ${fmtBytes(mb.wasm_after ?? 0)} in all) vs lru-cache heap +${fmtBytes(ml.heap_delta)}`,
      mb.heap_delta <= ml.heap_delta + 64 * 1024 && wasmGrowth <= 1024 * 1024 && ours <= ml.heap_delta + 1024 * 1024,
    );
  }
  if (hitratio) {
    const gaps = hitGaps(hitratio);
    const worst = gaps.reduce((a, g) => ((g.gaps[DEFAULT_POLICY] ?? 0) < (a.gaps[DEFAULT_POLICY] ?? 0) ? g : a), gaps[0]!);
    const misses = gaps.filter((g) => (g.gaps[DEFAULT_POLICY] ?? 0) < -1);
    t(
      `default policy ('${DEFAULT_POLICY}') within 1 point of the best reference policy (libCacheSim, Belady aside) on every trace and capacity`,
      `${gaps.length - misses.length} of ${gaps.length} cells within 1 point; worst ${(worst.gaps[DEFAULT_POLICY] ?? 0).toFixed(2)} points (${worst.trace} at ${worst.cap.toLocaleString('en-US')}, vs ${worst.best})`,
      misses.length === 0,
    );
    const mem = (impl: string): MemRow | undefined => memory?.rows.find((r) => r.kind === 'cache' && r.impl === impl);
    const total = (r: MemRow | undefined): number => (r?.heap_delta ?? NaN) + (r?.wasm_after ?? 0);
    const dm = mem(`${SUBJECT} (policy: '${DEFAULT_POLICY}')`);
    const lm = mem(`${SUBJECT} (policy: 'lru')`);
    for (const op of ['cache.get.hit.1000', 'cache.set.evict.1000']) {
      const ours = p50(op, SUBJECT);
      const lru = DEFAULT_POLICY === 'lru' ? ours : p50(op, `${SUBJECT} (policy: 'lru')`);
      t(
        `${op === 'cache.get.hit.1000' ? 'get hit' : 'set at capacity'} (1000), default policy within 10 % of the LRU policy's`,
        `${fmtNs(ours)} vs ${fmtNs(lru)} (${fmtRatio(ours / lru)})`,
        ours <= 1.1 * lru,
      );
    }
    t(
      "memory after 1M sets (1000 entries), default policy within 10 % of the LRU policy's (heap growth + Wasm memory)",
      dm && lm ? `${fmtBytes(total(dm))} vs ${fmtBytes(total(lm))}` : 'not run',
      dm && lm ? total(dm) <= 1.1 * total(lm) : null,
    );
  }
  if (fleet) {
    const off = fleetRow('fleet.request.cpu', 'without fleet')?.p50 ?? NaN;
    const on = fleetRow('fleet.request.cpu', 'with fleet')?.p50 ?? NaN;
    t(
      'per-request cost with the fleet option on within 10 % of without (metricsMiddleware, flushes included)',
      `${fmtNs(on)} vs ${fmtNs(off)} of main-thread time (${fmtRatio(on / off)})`,
      on <= 1.1 * off,
    );
  }
  if (footprint) {
    t('.wasm under 40 KB gzip', `${fmtBytes(footprint.wasm_gzip_bytes)} gzip (${fmtBytes(footprint.wasm_bytes)} raw)`, footprint.wasm_gzip_bytes < 40 * 1024);
    t('.wasm at most 50 KB gzip (the one-door issue)', `${fmtBytes(footprint.wasm_gzip_bytes)} gzip`, footprint.wasm_gzip_bytes <= 50 * 1024);
  }
}

// ---------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------
const opsJson: Record<string, unknown> = {};
for (const [op, list] of byOp) {
  opsJson[op] = {
    unit: 'ns/op',
    results: list,
    ratio_baseline_over_subject: find(op, SUBJECT) ? ratios(op) : undefined,
  };
}
const latest = {
  generated: new Date().toISOString(),
  command,
  machine: node?.machine,
  versions: {
    node: process.version,
    workerd: workerd?.workerd,
    wrangler: workerd?.wrangler,
    mitata: pkgVersion('mitata'),
    'lru-cache': pkgVersion('lru-cache'),
    '@isaacs/ttlcache': pkgVersion('@isaacs/ttlcache'),
    'prom-client': pkgVersion('prom-client'),
    'hdr-histogram-js': pkgVersion('hdr-histogram-js'),
  },
  targets,
  operations: opsJson,
  metrics_skipped: node?.metrics_skipped,
  worst_case: node?.worst,
  memory,
  footprint,
  workerd,
  hitratio,
  fleet,
};
writeFileSync(join(ROOT, 'bench', 'results', 'latest.json'), JSON.stringify(latest, null, 2) + '\n');

// ---------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------
const md: string[] = [];
const p = (s = ''): void => void md.push(s);
const OP_TITLES: Record<string, string> = {
  'cache.get.hit.1000': 'get, hit, 1,000 entries',
  'cache.get.hit.zipf.1000': 'get, hit, 1,000 entries, keys drawn with Zipf(0.99) popularity (the row above cycles through every key)',
  'cache.get.miss.1000': 'get, miss, 1,000 entries',
  'cache.set.evict.1000': 'set of a new key at capacity (evicts), 1,000 entries',
  'cache.get.hit.100000': 'get, hit, 100,000 entries',
  'cache.get.miss.100000': 'get, miss, 100,000 entries',
  'cache.set.evict.100000': 'set of a new key at capacity (evicts), 100,000 entries',
  'cache.getOrLoad.hit.1000': 'getOrLoad, hit (awaited), 1,000 entries',
  'cache.delPattern.10k': 'delPattern over 10,000 keys',
  'metrics.recordResponseTime': 'recordResponseTime, full window (1,000)',
  'metrics.getPercentile99': 'getPercentile(99), full window',
  'metrics.record+getPercentile99': 'recordResponseTime then getPercentile(99)',
  'metrics.scrape.1000': 'a scrape every 1000 samples: 1000 recordResponseTime, then the p50, p95 and p99 (per cycle)',
  'metrics.scrape.1000.records': 'the same cycle without its reads: 1000 recordResponseTime (per cycle)',
  'metrics.scrape.1000.reads': "the cycle's three reads: the cycle less the same cycle without its reads, over alternated pairs of requests (per cycle)",
  'metrics.increment.labelled': 'labelled increment',
  'metrics.toPrometheusFormat.1k': 'toPrometheusFormat() with 1,000 series',
  'metrics.getSnapshot': 'getSnapshot(), full window',
};
const yes = (m: boolean | null): string => (m === null ? '–' : m ? '**met**' : '**missed**');
const m = node?.machine ?? {};

p('# Benchmarks');
p();
p(`Generated by \`${command}\` (\`scripts/bench.sh\`) on ${latest.generated.slice(0, 10)}; machine-readable: \`bench/results/latest.json\`.`);
p('Benchmarks report; they do not fail the build. Re-run to get figures for your machine.');
p();
p(`- Machine: ${m.cpu ?? '?'} (${m.cpu_mhz ?? '?'} MHz), ${m.cores ?? '?'} cores, ${m.memory_gb ?? '?'} GB, clocksource \`${m.clocksource ?? '?'}\`, ${m.platform ?? ''}; 1-minute load average at start: ${m.loadavg_1m_at_start ?? '?'} (other processes on the machine add noise)`);
p(`- Node ${m.node ?? process.version} (V8 ${m.v8 ?? '?'}); workerd ${workerd?.workerd ?? 'not run'} via wrangler ${workerd?.wrangler ?? '–'}`);
p(`- mitata ${latest.versions.mitata}, lru-cache ${latest.versions['lru-cache']}, @isaacs/ttlcache ${latest.versions['@isaacs/ttlcache']}, prom-client ${latest.versions['prom-client']}, hdr-histogram-js ${latest.versions['hdr-histogram-js']} (pure-JS build: \`build({ useWebAssembly: false })\`)`);
p('- Method: every operation of one table is measured in one Node process (`node --expose-gc`), one implementation after another, with mitata `measure()` (warm-up, batches of 4,096 calls, ≥ 12 samples and ≥ 300 ms CPU each, GC before each). Figures are ns per call: median (p50) of the batch samples, with p75, p99 and min–max of those samples. **Ratio = baseline p50 ÷ bounded-services p50**: above 1, bounded-services is that many times faster; below 1, slower.');
p('- bounded-services is imported by its name (`bounded-services/cache`, `bounded-services/metrics`), i.e. the built `dist/` and `pkg/` users get, with its default clock (`Date.now`) unless the row says otherwise.');
p();

p('## Targets');
p();
p('| target | measured | |');
p('| --- | --- | --- |');
for (const x of targets) p(`| ${x.target} | ${x.measured} | ${yes(x.met)} |`);
p();

const ANALYSIS = join(ROOT, 'bench', 'results', 'analysis.md');
if (existsSync(ANALYSIS)) {
  p(readFileSync(ANALYSIS, 'utf8').trim());
  p();
}

function opTable(op: string): void {
  const list = byOp.get(op);
  if (!list) return;
  const ours = find(op, SUBJECT)?.p50;
  p(`### ${OP_TITLES[op] ?? op}`);
  p();
  p('| implementation | p50 | p75 | p99 | min – max | ratio | note |');
  p('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of list) {
    const ratio = r.impl === SUBJECT || ours === undefined ? '1' : fmtRatio(r.p50 / ours);
    p(`| ${r.impl === SUBJECT ? `**${r.impl}**` : r.impl} | ${fmtNs(r.p50)} | ${fmtNs(r.p75 ?? NaN)} | ${fmtNs(r.p99 ?? NaN)} | ${fmtNs(r.min ?? NaN)} – ${fmtNs(r.max ?? NaN)} | ${ratio} | ${r.note ?? ''} |`);
  }
  p();
}

p('## Cache operations (Node)');
p();
for (const op of byOp.keys()) if (op.startsWith('cache.')) opTable(op);

p('## Metrics operations (Node)');
p();
if (node?.metrics_skipped) {
  p(node.metrics_skipped);
  p();
} else {
  p('The original and the fixed collector hold 1,000 series only as 1,000 metric *names* (they merge all labels of a name into one object); bounded-services and prom-client hold them as 1,000 label sets of one counter.');
  p();
  for (const op of byOp.keys()) if (op.startsWith('metrics.')) opTable(op);
}

p('## Fleet metrics (Node)');
p();
if (fleet) {
  const z = fleet.sizes;
  const merge = fleetRow('fleet.apply.1000.merge')?.p50 ?? NaN;
  const save = fleetRow('fleet.save.1000')?.p50 ?? NaN;
  p(`The request path with and without \`metricsMiddleware({ fleet })\` (a FleetShipper to 2 shards, answered at once): \`fleet.request\` is the request path alone (mitata never yields to the event loop, so the flushes its calls start wait: ${z.flushes_during_request_bench ?? '?'} started in the run); \`fleet.request.cpu\` is the CPU per request over rounds of 1000 requests, each followed by its flush run to its end (${(z.acknowledged_during_cpu_rounds ?? NaN).toLocaleString('en-US')} deltas acknowledged over ${(z.requests_during_cpu_rounds ?? NaN).toLocaleString('en-US')} requests), which is what the target compares. Then a flush of 1000 changed series (payload ${fmtBytes(z.delta_1000_series_bytes ?? NaN)}), and an aggregator's work per delta: merging 1000 series, saving its state of 1000 series (${fmtBytes(z.state_1000_series_bytes ?? NaN)}; a Durable Object writes it after each merged delta), acknowledging a retry (from the header alone), and a scrape merging two shards. One shard's CPU for 1000-series deltas: ~${Math.round(1e9 / (merge + save)).toLocaleString('en-US')} deltas/s (merge + save); small deltas cost proportionally less.`);
  p();
  p('| operation | p50 | p99 | note |');
  p('| --- | ---: | ---: | --- |');
  for (const r of fleet.rows) p(`| ${r.op} (${r.impl}) | ${fmtNs(r.p50)} | ${fmtNs(r.p99 ?? NaN)} | ${r.note ?? ''} |`);
  p();
} else {
  p('Not run.');
  p();
}

p('## Worst single call while 100,000 entries expire at once (Node)');
p();
p('Each cache holds 100,000 entries (ttl 60 s) on an injected clock; the clock jumps 301 s (past every expiry and past the fixed original\'s 5-minute full-clean interval); then rounds of `get(expired key)`, `set(new key)`, `get(new key)` run, every call timed alone with `process.hrtime.bigint()` (the first row is the timer\'s own floor). GC pauses seen by a `PerformanceObserver` during the calls are listed.');
p();
p('| implementation | calls | max | p99.9 | p99 | p50 | calls > 50 µs | GC pauses (longest) | total | note |');
p('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const w of node?.worst ?? []) {
  p(`| ${w.impl === SUBJECT ? `**${w.impl}**` : w.impl} | ${w.calls} | ${fmtNs(w.max_ns)} | ${fmtNs(w.p999_ns)} | ${fmtNs(w.p99_ns)} | ${fmtNs(w.p50_ns)} | ${w.over_50us ?? '–'} | ${w.gc_pauses !== undefined ? `${w.gc_pauses} (${fmtNs(w.gc_max_ns ?? 0)})` : '–'} | ${w.total_ms ? `${w.total_ms.toFixed(1)} ms` : '–'} | ${w.note ?? ''} |`);
}
p();

p('## Memory after the soaks');
p();
p(`Each scenario runs in its own \`node --expose-gc\` process: heap used after forced GCs, before and after ${(memory?.ops ?? 1e6).toLocaleString('en-US')} operations, with the structure still alive. Cache: \`set\` of distinct keys, each value an object holding its own flat 2,000-character string (~2 KB). Metrics: \`increment('http_requests_total', 1, { method: 'GET', path: '/api/moods/<i>' })\` with a distinct path each time. Wasm: the package's linear memory (its byte length), before → after. An unbounded soak stops once its heap passes 3 GB.`);
p();
p('| scenario | implementation | ops | heap growth | Wasm memory | soak time | note |');
p('| --- | --- | ---: | ---: | ---: | ---: | --- |');
for (const r of memory?.rows ?? []) {
  if (r.skipped || r.failed) {
    p(`| ${r.kind ?? r.scenario.split(':')[0]} | ${r.impl ?? r.scenario} | – | – | – | – | ${r.skipped ?? `failed: ${r.failed}`} |`);
    continue;
  }
  const wasm = r.wasm_after !== undefined ? `${fmtBytes(r.wasm_before ?? 0)} → ${fmtBytes(r.wasm_after)}` : '–';
  p(`| ${r.kind} | ${r.impl === SUBJECT ? `**${r.impl}**` : r.impl} | ${(r.ops ?? 0).toLocaleString('en-US')}${r.stopped_early ? ' (stopped)' : ''} | ${fmtBytes(r.heap_delta ?? NaN)} | ${wasm} | ${((r.soak_ms ?? 0) / 1000).toFixed(1)} s | ${r.note ?? ''} |`);
}
p();

p('## Footprint');
p();
if (footprint) {
  const f = footprint;
  p('| figure | value |');
  p('| --- | ---: |');
  p(`| \`pkg/bounded_services_bg.wasm\` raw | ${f.wasm_bytes.toLocaleString('en-US')} B (${fmtBytes(f.wasm_bytes)}) |`);
  p(`| gzip -9 | ${f.wasm_gzip_bytes.toLocaleString('en-US')} B (${fmtBytes(f.wasm_gzip_bytes)}) |`);
  p(`| brotli q11 | ${f.wasm_brotli_bytes.toLocaleString('en-US')} B (${fmtBytes(f.wasm_brotli_bytes)}) |`);
  p(`| compile + instantiate, cold (fresh process, median of ${f.instantiate_cold.runs}) | ${fmtNs(f.instantiate_cold.total_ns_p50)} (compile ${fmtNs(f.instantiate_cold.compile_ns_p50)} + instantiate ${fmtNs(f.instantiate_cold.instantiate_ns_p50)}; range ${fmtNs(f.instantiate_cold.total_ns_min)} – ${fmtNs(f.instantiate_cold.total_ns_max)}) |`);
  p(`| compile + instantiate, warm (mitata, same process) | ${fmtNs(f.instantiate_warm.p50_ns)} (p99 ${fmtNs(f.instantiate_warm.p99_ns)}) |`);
  if (f.package) {
    p(`| npm package (\`npm pack --dry-run --json\`) | ${fmtBytes(f.package.tarball_bytes)} tarball, ${fmtBytes(f.package.unpacked_bytes)} unpacked, ${f.package.files} files |`);
    p(`| largest files | ${f.package.largest.map((x) => `${x.path} ${fmtBytes(x.size)}`).join(', ')} |`);
  }
  p();
}

p('## Inside workerd');
p();
if (workerd) {
  p(`A bench worker (\`bench/workerd/\`, built by wrangler ${workerd.wrangler}, which resolves \`bounded-services/cache\` through the package's \`workerd\` condition and loads the .wasm as a module) served by \`wrangler dev\` on 127.0.0.1 (workerd ${workerd.workerd}). Each request runs one loop and times it with \`performance.now()\`; measured clock step inside the worker: **${workerd.clock_step_ms} ms**, so loops are sized to last ≥ 150 ms (error ≤ ~1 %) and repeated; figures are the median, min and max of the repetitions, plus the median timed from Node around the request (includes HTTP). ${workerd.requests} requests in all. Not measured here: the worst single call (with a clock that steps by ${workerd.clock_step_ms} ms a single call cannot be timed) and memory (a Worker sees no heap statistics); the Node rows stand for them.`);
  p();
  p('| operation | implementation | iterations | p50 | min – max | ratio | timed from Node |');
  p('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of workerd.rows) {
    const ours = workerd.rows.find((x) => x.op === r.op && x.impl === SUBJECT)?.p50;
    const ratio = r.impl === SUBJECT || ours === undefined ? '1' : fmtRatio(r.p50 / ours);
    p(`| ${OP_TITLES[r.op] ?? r.op} | ${r.impl === SUBJECT ? `**${r.impl}**` : r.impl} | ${r.iters.toLocaleString('en-US')} × ${r.reps} | ${fmtNs(r.p50)} | ${fmtNs(r.min)} – ${fmtNs(r.max)} | ${ratio} | ${fmtNs(r.outside_p50)} |`);
  }
  p();
} else {
  p('Not run (BENCH_SKIP_WORKERD, or wrangler unavailable).');
  p();
}
p('## Hit ratios by eviction policy');
p();
if (hitratio) {
  const h = hitratio;
  p(`Every eviction policy of the package (a \`BoundedCache\` with that \`policy\`, string keys, a \`get\` then a \`set\` on a miss, as a cache in front of a loader does), lru-cache ${latest.versions['lru-cache']} (its LRU), and libCacheSim ${h.libcachesim}'s reference implementations (PyPI \`libcachesim\`: LRU, S3-FIFO, W-TinyLFU, ARC, SIEVE, and Belady's optimal, which knows the future), on the seeded traces of \`bench/hitratio/traces.py\` (${h.requests.toLocaleString('en-US')} requests each, no downloads): Zipf popularity at skews 0.6 to 1.2 over a universe of 1M ids; Zipf 0.8 with a one-pass scan of 20k new ids every 100k requests (\`zipf-scan\`); Zipf 1.0 whose popular set moves every 100k requests (\`shifting\`); Zipf 0.9 interleaved with a loop and a scan (\`mix\`); and a loop over 1.1 × the cache size (\`loop\`, one trace per size). Figures are hits ÷ requests, cold start included; the default policy is **\`${DEFAULT_POLICY}\`**. Charts: hit ratio against cache size, one line per policy (solid: this package; dashed: libCacheSim; dotted: Belady).`);
  p();
  const gaps = hitGaps(h);
  p('**Gap to the best reference policy** (points of hit ratio; Belady aside; ≥ −1 counts as within one point):');
  p();
  p(`| trace | size | best reference | ${POLICIES.map((x) => `\`${x}\``).join(' | ')} |`);
  p(`| --- | ---: | --- | ${POLICIES.map(() => '---:').join(' | ')} |`);
  for (const g of gaps) {
    p(`| ${g.trace} | ${g.cap.toLocaleString('en-US')} | ${g.best} ${(g.bestRatio * 100).toFixed(2)}% | ${POLICIES.map((x) => { const v = g.gaps[x] ?? NaN; const s = `${v >= 0 ? '+' : ''}${v.toFixed(2)}`; return v < -1 ? s : `**${s}**`; }).join(' | ')} |`);
  }
  p();
  const worstOf = (x: string): number => Math.min(...gaps.map((g) => g.gaps[x] ?? 0));
  const within = (x: string): number => gaps.filter((g) => (g.gaps[x] ?? 0) >= -1).length;
  p(`| policy | cells within 1 point | worst gap | mean gap |`);
  p(`| --- | ---: | ---: | ---: |`);
  for (const x of POLICIES) p(`| \`${x}\`${x === DEFAULT_POLICY ? ' (default)' : ''} | ${within(x)} of ${gaps.length} | ${worstOf(x).toFixed(2)} | ${(gaps.reduce((a, g) => a + (g.gaps[x] ?? 0), 0) / gaps.length).toFixed(2)} |`);
  p();
  for (const { family, traces: ts } of families(h.traces)) {
    p(`### ${family}`);
    p();
    p(`![${family}: hit ratio against cache size](bench/charts/hitratio-${family}.svg)`);
    p();
    const cells = ts.flatMap((tr) => Object.keys(h.hits[tr] ?? {}).map((c) => ({ tr, c })));
    p(`| implementation | ${cells.map((x) => (ts.length > 1 ? `${x.tr} @ ${Number(x.c).toLocaleString('en-US')}` : Number(x.c).toLocaleString('en-US'))).join(' | ')} |`);
    p(`| --- | ${cells.map(() => '---:').join(' | ')} |`);
    for (const impl of IMPLS) {
      const vals = cells.map((x) => h.hits[x.tr]?.[x.c]?.[impl]);
      if (vals.every((v) => v === undefined)) continue;
      const name = impl.startsWith(SUBJECT) ? `**${impl}**${impl === `${SUBJECT} ${DEFAULT_POLICY}` ? ' (default)' : ''}` : impl;
      p(`| ${name} | ${vals.map((v) => (v === undefined ? '–' : `${((v / h.requests) * 100).toFixed(2)}%`)).join(' | ')} |`);
    }
    p();
  }
  p(`Hit-ratio stage: ${h.seconds} s (libCacheSim's figures are reused from \`bench/results/hitratio-reference.json\` while the traces and its version are unchanged).`);
  p();
} else {
  p('Not run (BENCH_SKIP_HITRATIO).');
  p();
}
p(`Node stage: ${node?.seconds ?? '?'} s.`);
writeFileSync(join(ROOT, 'BENCHMARKS.md'), md.join('\n') + '\n');
process.stderr.write(`wrote BENCHMARKS.md and bench/results/latest.json (${targets.filter((x) => x.met).length}/${targets.length} targets met)\n`);
