// Hit-ratio stage: every eviction policy of the package (through the
// package itself: BoundedCache, string keys), lru-cache, and libCacheSim's
// reference policies (LRU, S3-FIFO, W-TinyLFU, ARC, SIEVE, Belady's
// optimal) on the seeded traces of bench/hitratio/traces.py, at 1,000 /
// 10,000 / 100,000 entries. Writes parts.tmp/hitratio.json and one SVG
// chart per trace into bench/charts/.
//
// libCacheSim's figures are kept in bench/results/hitratio-reference.json
// with the trace parameters they were computed for (they take ~10 minutes);
// they are recomputed when those change or with BENCH_HITRATIO_REFRESH=1.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { BoundedCache, type EvictionPolicy } from 'bounded-services/cache';
import { defaultPolicy, QUICK, ROOT, writePart } from './lib.js';

export const CAPACITIES = [1000, 10_000, 100_000];
export const POLICIES: EvictionPolicy[] = ['lru', 's3-fifo', 'w-tinylfu', 'adaptive'];
export const REFERENCES = ['LRU', 'S3-FIFO', 'W-TinyLFU', 'ARC', 'SIEVE', 'Belady'];
const REQUESTS = QUICK ? 200_000 : 1_000_000;
const DIR = join(ROOT, 'bench', 'results', `traces-${REQUESTS}.tmp`);
const REFERENCE = join(ROOT, 'bench', 'results', 'hitratio-reference.json');
const CHARTS = join(ROOT, 'bench', 'charts');
const SCRIPTS = join(ROOT, 'bench', 'hitratio');

/** hits[trace][capacity][implementation] */
export type Hits = Record<string, Record<string, Record<string, number>>>;
export interface HitratioPart {
  requests: number;
  capacities: number[];
  traces: string[];
  hits: Hits;
  libcachesim: string;
  /** The policy of a cache made without the option. */
  default_policy: EvictionPolicy;
  seconds: number;
}

const log = (s: string): void => void process.stderr.write(`  ${s}\n`);

function traces(): string[] {
  if (!existsSync(DIR) || readdirSync(DIR).filter((f) => f.endsWith('.bin')).length < 10) {
    log(`generating traces (${REQUESTS.toLocaleString('en-US')} requests each) into ${DIR}`);
    execFileSync('python3', [join(SCRIPTS, 'traces.py'), DIR, '--requests', String(REQUESTS), '--capacities', CAPACITIES.join(',')], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.bin'))
    .map((f) => f.slice(0, -4))
    .sort();
}

function read(name: string): Uint32Array {
  const b = readFileSync(join(DIR, `${name}.bin`));
  return new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

/** The capacities a trace is run at: a loop trace only at its own. */
function capacitiesOf(trace: string): number[] {
  const m = /^loop-(\d+)$/.exec(trace);
  return m ? [Number(m[1])] : CAPACITIES;
}

function libcachesimVersion(): string {
  return execFileSync('python3', ['-c', 'import importlib.metadata as m; print(m.version("libcachesim"))'], { encoding: 'utf8' }).trim();
}

function reference(names: string[], version: string): Hits {
  const params = { requests: REQUESTS, capacities: CAPACITIES, traces: names, generator: readFileSync(join(SCRIPTS, 'traces.py'), 'utf8').length, libcachesim: version };
  if (existsSync(REFERENCE) && process.env.BENCH_HITRATIO_REFRESH !== '1') {
    const saved = JSON.parse(readFileSync(REFERENCE, 'utf8')) as { params: typeof params; hits: Hits };
    if (JSON.stringify(saved.params) === JSON.stringify(params)) {
      log('libCacheSim: reusing bench/results/hitratio-reference.json (same traces and version)');
      return saved.hits;
    }
  }
  log('libCacheSim: running the reference policies (takes minutes; progress below)');
  const out = execFileSync('python3', [join(SCRIPTS, 'reference.py'), DIR, CAPACITIES.join(','), REFERENCES.join(',')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 << 20,
  });
  const raw = JSON.parse(out) as Record<string, Record<string, Record<string, number> | number>>;
  const hits: Hits = {};
  for (const [t, row] of Object.entries(raw)) {
    hits[t] = {};
    for (const [c, v] of Object.entries(row)) if (c !== 'requests') hits[t][c] = v as Record<string, number>;
  }
  writeFileSync(REFERENCE, JSON.stringify({ params, hits }, null, 1) + '\n');
  return hits;
}

/** A cache in front of a loader: get, and set on a miss. */
function runOurs(policy: EvictionPolicy, capacity: number, keys: string[]): number {
  const c = new BoundedCache({ maxEntries: capacity, policy, ttl: Infinity });
  let hits = 0;
  for (const k of keys) {
    if (c.get(k) !== null) hits++;
    else c.set(k, 1);
  }
  c.dispose();
  return hits;
}

function runLruCache(capacity: number, keys: string[]): number {
  const c = new LRUCache<string, number>({ max: capacity });
  let hits = 0;
  for (const k of keys) {
    if (c.get(k) !== undefined) hits++;
    else c.set(k, 1);
  }
  return hits;
}

// ---- charts ------------------------------------------------------------------

const COLORS: Record<string, string> = {
  'bounded-services lru': '#1f77b4',
  'bounded-services s3-fifo': '#d62728',
  'bounded-services w-tinylfu': '#2ca02c',
  'bounded-services adaptive': '#9467bd',
  'lru-cache': '#8c564b',
  'libCacheSim LRU': '#1f77b4',
  'libCacheSim S3-FIFO': '#d62728',
  'libCacheSim W-TinyLFU': '#2ca02c',
  'libCacheSim ARC': '#ff7f0e',
  'libCacheSim SIEVE': '#17becf',
  'libCacheSim Belady': '#7f7f7f',
};

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

/** Hit ratio against cache size (log scale), one line per implementation. */
export function chart(title: string, series: { name: string; points: [number, number][] }[]): string {
  const W = 720, H = 380, L = 56, R = 250, T = 36, B = 46;
  const pw = W - L - R, ph = H - T - B;
  const maxY = Math.min(1, Math.ceil(Math.max(0.05, ...series.flatMap((s) => s.points.map((p) => p[1]))) * 10) / 10);
  const lx = (c: number): number => L + ((Math.log10(c) - 3) / 2) * pw;
  const ly = (r: number): number => T + ph - (r / maxY) * ph;
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  o.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  o.push(`<text x="${L}" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const r = (maxY * i) / 5;
    o.push(`<line x1="${L}" x2="${L + pw}" y1="${ly(r)}" y2="${ly(r)}" stroke="#e5e5e5"/>`);
    o.push(`<text x="${L - 6}" y="${ly(r) + 4}" text-anchor="end">${(r * 100).toFixed(0)}%</text>`);
  }
  for (const c of CAPACITIES) {
    o.push(`<line x1="${lx(c)}" x2="${lx(c)}" y1="${T}" y2="${T + ph}" stroke="#e5e5e5"/>`);
    o.push(`<text x="${lx(c)}" y="${T + ph + 16}" text-anchor="middle">${c.toLocaleString('en-US')}</text>`);
  }
  o.push(`<text x="${L + pw / 2}" y="${H - 8}" text-anchor="middle">cache size (entries)</text>`);
  o.push(`<text x="14" y="${T + ph / 2}" transform="rotate(-90 14 ${T + ph / 2})" text-anchor="middle">hit ratio</text>`);
  o.push(`<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  series.forEach((s, i) => {
    const color = COLORS[s.name] ?? '#000';
    const ref = s.name.startsWith('libCacheSim');
    const dash = s.name === 'libCacheSim Belady' ? ' stroke-dasharray="2 3"' : ref ? ' stroke-dasharray="6 4"' : '';
    const pts = s.points.map(([c, r]) => `${lx(c).toFixed(1)},${ly(r).toFixed(1)}`).join(' ');
    if (s.points.length > 1) o.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="${ref ? 1.5 : 2.5}"${dash}/>`);
    for (const [c, r] of s.points) o.push(`<circle cx="${lx(c).toFixed(1)}" cy="${ly(r).toFixed(1)}" r="${ref ? 2.5 : 3.5}" fill="${color}"/>`);
    const y = T + 8 + i * 19;
    o.push(`<line x1="${W - R + 16}" x2="${W - R + 44}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="${ref ? 1.5 : 2.5}"${dash}/>`);
    o.push(`<text x="${W - R + 50}" y="${y + 4}">${esc(s.name)}</text>`);
  });
  o.push('</svg>');
  return o.join('\n') + '\n';
}

/** Trace families as charted: the loop traces (one per capacity) share one chart. */
export function families(names: string[]): { family: string; traces: string[] }[] {
  const loops = names.filter((t) => t.startsWith('loop-'));
  const rest = names.filter((t) => !t.startsWith('loop-'));
  return [...rest.map((t) => ({ family: t, traces: [t] })), ...(loops.length ? [{ family: 'loop', traces: loops }] : [])];
}

export const IMPLS = [
  ...POLICIES.map((p) => `bounded-services ${p}`),
  'lru-cache',
  ...REFERENCES.map((r) => `libCacheSim ${r}`),
];

export function writeCharts(part: HitratioPart): string[] {
  mkdirSync(CHARTS, { recursive: true });
  const files: string[] = [];
  for (const { family, traces: ts } of families(part.traces)) {
    const series = IMPLS.map((name) => ({
      name,
      points: ts.flatMap((t) =>
        capacitiesOf(t)
          .filter((c) => part.hits[t]?.[c]?.[name] !== undefined)
          .map((c) => [c, (part.hits[t]?.[c]?.[name] ?? 0) / part.requests] as [number, number]),
      ),
    })).filter((s) => s.points.length > 0);
    const file = `hitratio-${family}.svg`;
    writeFileSync(join(CHARTS, file), chart(`${family}${family === 'loop' ? ' (a loop over 1.1 x the cache)' : ''}: hit ratio, ${part.requests.toLocaleString('en-US')} requests`, series));
    files.push(file);
  }
  return files;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const names = traces();
  const version = libcachesimVersion();
  const ref = reference(names, version);
  const hits: Hits = {};
  for (const t of names) {
    const ids = read(t);
    const keys = Array.from(ids, (x) => String(x));
    hits[t] = {};
    for (const c of capacitiesOf(t)) {
      const row: Record<string, number> = {};
      for (const p of POLICIES) row[`bounded-services ${p}`] = runOurs(p, c, keys);
      row['lru-cache'] = runLruCache(c, keys);
      for (const [r, h] of Object.entries(ref[t]?.[String(c)] ?? {})) row[`libCacheSim ${r}`] = h;
      hits[t][c] = row;
      log(`${t} @ ${c}: ` + POLICIES.map((p) => `${p} ${((row[`bounded-services ${p}`] ?? 0) / keys.length * 100).toFixed(2)}%`).join(', '));
    }
  }
  const part: HitratioPart = { requests: REQUESTS, capacities: CAPACITIES, traces: names, hits, libcachesim: version, default_policy: defaultPolicy(), seconds: Math.round((Date.now() - t0) / 1000) };
  writePart('hitratio', part);
  const files = writeCharts(part);
  log(`charts: ${files.map((f) => `bench/charts/${f}`).join(', ')}`);
}

if (process.argv[1]?.endsWith('hitratio.ts')) await main();
