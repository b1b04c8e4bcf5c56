// The fleet view: every shard's merged state, merged once more into one
// exposition or snapshot where the scrape is served.
import { DeltaLimit } from '../../pkg/bounded_services_bg.js';
import { FleetAggregator } from './aggregator.js';
import { STATE_PATH } from './shipper.js';
import { describe } from '../describe.js';
import type { FleetAggregatorOptions, FleetSnapshot, NamespaceLike } from './types.js';

const WHO = 'bounded-services/fleet';

/** Options of {@link fleetPrometheusText} and {@link fleetSnapshot}. */
export interface FleetScrapeOptions {
  /** Aggregator shards, as the shippers were given. Default 1. */
  shards?: number;
  /** Shard object names' prefix, as the shippers were given. Default `'bs-fleet'`. */
  name?: string;
  /**
   * The merged view's options (`buckets` must be the aggregators'). Its caps
   * apply to the union of the shards: past them, label sets fold into the
   * overflow series (totals stay right). Default: the default caps, with
   * `maxSeriesPerMetric` times `shards` (as the shards together hold).
   */
  aggregator?: FleetAggregatorOptions;
}

/**
 * The default view's caps: each shard holds up to 1000 label sets per
 * metric, so the union of `shards` may hold `shards` times as many; a view
 * capped lower would fold a different subset into the overflow series at
 * each scrape (totals right, single series jumping). Bounded by the core's
 * slot limit (maxMetrics × (maxSeriesPerMetric + 2) < 2^24).
 */
function viewOptions(shards: number): FleetAggregatorOptions {
  const maxMetrics = 1000;
  const maxSeriesPerMetric = Math.min(1000 * shards, Math.floor((2 ** 24 - 1) / maxMetrics) - 3);
  return { maxMetrics, maxSeriesPerMetric };
}

async function merged(ns: NamespaceLike, options: FleetScrapeOptions): Promise<FleetAggregator> {
  if (ns === null || typeof ns !== 'object' || typeof ns.get !== 'function') {
    throw new TypeError(`${WHO}: expected the aggregators' Durable Object namespace, got ${describe(ns)}`);
  }
  const shards = options.shards ?? 1;
  if (!Number.isInteger(shards) || shards < 1 || shards > DeltaLimit.MaxShards) {
    throw new RangeError(`${WHO}: shards must be an integer from 1 to ${DeltaLimit.MaxShards}, got ${describe(shards)}`);
  }
  const name = options.name ?? 'bs-fleet';
  // Every shard or none: a view missing one would make counters jump back.
  const states = await Promise.all(
    Array.from({ length: shards }, async (_, shard) => {
      const res = await ns.get(ns.idFromName(`${name}:${shard}`) as never).fetch(STATE_PATH);
      if (res.status !== 200) throw new Error(`${WHO}: shard ${shard} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      return new Uint8Array(await res.arrayBuffer());
    }),
  );
  const view = new FleetAggregator(options.aggregator ?? viewOptions(shards));
  try {
    for (const s of states) view.load(s);
  } catch (err) {
    view.dispose();
    throw err;
  }
  return view;
}

/** Runs `read` on the merged view of every shard, then frees the view. */
async function withView<R>(ns: NamespaceLike, options: FleetScrapeOptions, read: (view: FleetAggregator) => R): Promise<R> {
  const view = await merged(ns, options);
  try {
    return read(view);
  } finally {
    view.dispose();
  }
}

/**
 * The fleet's Prometheus exposition (serve it with
 * `PROMETHEUS_CONTENT_TYPE`): the states of every shard, merged. Rejects
 * when a shard cannot be read (answer 503: Prometheus records a failed
 * scrape, where a partial one would make counters jump).
 */
export function fleetPrometheusText(ns: NamespaceLike, options: FleetScrapeOptions = {}): Promise<string> {
  return withView(ns, options, (view) => view.toPrometheusFormat());
}

/** The fleet's figures (a collector's snapshot fields, merged, and the fleet's own). */
export function fleetSnapshot(ns: NamespaceLike, options: FleetScrapeOptions = {}): Promise<FleetSnapshot> {
  return withView(ns, options, (view) => view.getSnapshot());
}
