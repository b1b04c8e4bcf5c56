// The fleet's public types: the aggregator's options and answers, and the
// few parts of the Workers runtime the shipper and the scrape use (typed
// structurally, so no Workers or DOM types are needed to compile).
import type { MetricsSnapshot } from '../metrics/types.js';

/** Options of a {@link FleetAggregator} (and of the Durable Object's). */
export interface FleetAggregatorOptions {
  /** Label sets per metric before new ones fold into the overflow series. Default 1000. */
  maxSeriesPerMetric?: number;
  /** Metric names, built-ins included. Default 1000. */
  maxMetrics?: number;
  /** A labelled series no isolate updated for this long (ms) expires. Default one hour. */
  staleAfterMs?: number;
  /** Longest label value (UTF-8 bytes). Default 1024. */
  maxLabelValueLength?: number;
  /** Most labels per series. Default 16. */
  maxLabels?: number;
  /**
   * Histogram bucket bounds; every collector that ships here must use the
   * same (a delta with others is refused, 422). Default the collector's.
   */
  buckets?: number[];
  /**
   * Isolates (per shard) whose sequence numbers are kept. Default 10 000;
   * past it the quietest is forgotten, and a delta of an unknown isolate
   * taken before that isolate was last heard from (+1 min of clock skew) is
   * refused (410): it may be the forgotten one's retry.
   */
  maxIsolates?: number;
  /**
   * An isolate not heard from for this long (ms) is forgotten, and a delta
   * taken longer ago is refused (410), so a forgotten isolate's retry
   * cannot count twice. Default one day.
   */
  isolateTtlMs?: number;
  /** Width of one response-time sketch slot (ms). Default 60 000. */
  sketchSlotMs?: number;
  /** Slots kept: fleet percentiles cover the last `sketchSlots × sketchSlotMs`. Default 5. */
  sketchSlots?: number;
  /** Largest delta accepted (bytes). Default 1 MiB. */
  maxDeltaBytes?: number;
}

/** What {@link FleetAggregator.apply} did with a delta. */
export type DeltaResult =
  | { outcome: 'applied' | 'duplicate' }
  | {
      outcome: 'refused';
      /** Why: not a delta, another format version, too large, too old, other bucket bounds. */
      reason: 'malformed' | 'version' | 'too-large' | 'stale' | 'mismatch';
      /** The HTTP status that says it (400, 413, 410, 422). */
      status: 400 | 410 | 413 | 422;
      message: string;
    };

/**
 * The fleet's figures: a collector's `getSnapshot()` fields, merged
 * (`response_time_avg`, `_p95`, `_p99` over the sketch window, within 1 %),
 * plus the fleet's own.
 */
export interface FleetSnapshot extends MetricsSnapshot {
  /** Nearest-rank median of the sketch window, within 1 % (ms). */
  response_time_p50: number;
  /** Durations in the sketch window. */
  response_time_count: number;
  /** Length of the sketch window (ms). */
  response_time_window_ms: number;
  /** Isolates whose sequence numbers are kept. */
  isolates: number;
  /** Merged series and metric names. */
  series: number;
  metrics: number;
  /** Deltas merged, acknowledged as retries, refused; families or series skipped (type conflicts, caps). */
  deltas: { applied: number; duplicate: number; refused: number; skipped: number };
}

/** The response parts the fleet reads (a `Response`). */
export interface ResponseLike {
  readonly status: number;
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
}

/** A Durable Object stub (what `namespace.get(id)` returns). */
export interface StubLike {
  fetch(url: string, init?: { method?: string; body?: Uint8Array; headers?: Record<string, string> }): Promise<ResponseLike>;
}

/** A Durable Object namespace binding (`env.FLEET_METRICS`). */
export interface NamespaceLike {
  idFromName(name: string): unknown;
  get(id: never): StubLike;
}

/** Where background work goes on Workers: the middleware's type, one for both. */
export type { WaitUntilLike } from '../metrics/middleware.js';
