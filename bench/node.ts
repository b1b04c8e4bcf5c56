// Node stage of the suite: cache and metrics operations (mitata) and the
// worst single call during a mass expiry, all in this one process so the
// ratios compare figures measured side by side.
//   node --expose-gc --import tsx bench/node.ts
import { cacheBenches } from './cache.js';
import { metricsBenches } from './metrics.js';
import { worstCase } from './worst-case.js';
import { machine, writePart } from './lib.js';

const only = process.argv[2]; // optional: cache | metrics | worst
const started = Date.now();
const out: Record<string, unknown> = { machine: machine(), started: new Date(started).toISOString() };
if (!only || only === 'worst') out.worst = await worstCase();
if (!only || only === 'cache') out.cache = await cacheBenches();
if (!only || only === 'metrics') {
  const m = await metricsBenches();
  out.metrics = m.rows;
  if (m.skipped) out.metrics_skipped = m.skipped;
}
out.seconds = Math.round((Date.now() - started) / 1000);
writePart(only ? `node-${only}` : 'node', out);
process.stderr.write(`node stage done in ${out.seconds as number} s\n`);
