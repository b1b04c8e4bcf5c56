// One fleet aggregator: the merged registry of many isolates' deltas, in
// the fleet build's instance. The Durable Object holds one per shard; a
// scrape makes one to merge every shard's state.
import { DeltaOutcome, FleetOption, Status } from '../../pkg-fleet/bounded_services_bg.js';
import { describe } from '../describe.js';
import { byLabel } from '../metrics/records.js';
import { dropFleetEngine, fleetEngine, fleetError, fleetGeneration, fleetGlue as glue, fleetOut } from './engine.js';
import type { DeltaResult, FleetAggregatorOptions, FleetSnapshot } from './types.js';

const WHO = 'bounded-services/fleet';

/** A refused delta's reason and the HTTP status that says it. */
const REFUSALS = {
  [DeltaOutcome.Malformed]: ['malformed', 400],
  [DeltaOutcome.Version]: ['version', 400],
  [DeltaOutcome.TooLarge]: ['too-large', 413],
  [DeltaOutcome.Stale]: ['stale', 410],
  [DeltaOutcome.Mismatch]: ['mismatch', 422],
} as const;

/** Each numeric option and its place in `engineFleetNew`'s array. */
const OPTION_INDEX = [
  ['maxSeriesPerMetric', FleetOption.MaxSeriesPerMetric],
  ['maxMetrics', FleetOption.MaxMetrics],
  ['staleAfterMs', FleetOption.StaleAfterMs],
  ['maxLabelValueLength', FleetOption.MaxLabelValueLength],
  ['maxLabels', FleetOption.MaxLabels],
  ['maxIsolates', FleetOption.MaxIsolates],
  ['isolateTtlMs', FleetOption.IsolateTtlMs],
  ['sketchSlotMs', FleetOption.SketchSlotMs],
  ['sketchSlots', FleetOption.SketchSlots],
  ['maxDeltaBytes', FleetOption.MaxDeltaBytes],
] as const;

/** Checks types (the core checks ranges); returns a copy. */
function kept(options: FleetAggregatorOptions): FleetAggregatorOptions {
  if (options === null || typeof options !== 'object') throw new TypeError(`${WHO}: options must be an object`);
  for (const [name] of OPTION_INDEX) {
    const v = options[name];
    if (v !== undefined && typeof v !== 'number') {
      throw new TypeError(`${WHO}: option ${name} must be a number, got ${describe(v)}`);
    }
    // NaN means "the default" to the engine: refuse it here.
    if (Number.isNaN(v)) throw new RangeError(`${WHO}: option ${name} must be a number, got NaN`);
  }
  const b = options.buckets;
  if (b !== undefined && (!Array.isArray(b) || b.some((x) => typeof x !== 'number'))) {
    throw new TypeError(`${WHO}: buckets must be an array of numbers`);
  }
  return { ...options, ...(b === undefined ? {} : { buckets: [...b] }) };
}

function bytesOf(data: unknown, what: string): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(`${WHO}: ${what} must be a Uint8Array or an ArrayBuffer, got ${describe(data)}`);
}

const finalizer =
  typeof FinalizationRegistry === 'undefined'
    ? undefined
    : new FinalizationRegistry<{ h: number; gen: number }>(({ h, gen }) => {
        try {
          if (gen === fleetGeneration()) glue.engineFleetFree(h);
        } catch {
          // a trapped instance frees nothing
        }
      });

/**
 * The merged metrics of many isolates. Deltas are applied exactly once per
 * (isolate, sequence number); counters and histograms add, gauges keep the
 * latest write, response times merge in a relative-error sketch (1 %).
 * Bounded like a collector (`maxMetrics`, `maxSeriesPerMetric` with the
 * overflow series, `staleAfterMs`), plus `maxIsolates`.
 */
export class FleetAggregator {
  #h: number;
  #gen: number;
  readonly #options: FleetAggregatorOptions;
  /** Resolved by the core: the largest delta accepted, the sketch window (ms). */
  readonly #maxDeltaBytes: number;
  readonly #windowMs: number;

  constructor(options: FleetAggregatorOptions = {}) {
    this.#options = kept(options);
    this.#gen = fleetGeneration();
    this.#h = this.#create();
    [this.#maxDeltaBytes, this.#windowMs] = fleetOut(glue.engineFleetSettings(this.#h), 2) as [number, number];
    finalizer?.register(this, { h: this.#h, gen: this.#gen }, this);
  }

  /** The largest delta {@link apply} accepts (`maxDeltaBytes`, resolved). */
  get maxDeltaBytes(): number {
    return this.#maxDeltaBytes;
  }

  #create(): number {
    const o = this.#options;
    fleetEngine();
    const numbers = new Float64Array(FleetOption.Count).fill(NaN);
    for (const [name, index] of OPTION_INDEX) {
      const v = o[name];
      if (v !== undefined) numbers[index] = v;
    }
    const h = glue.engineFleetNew(numbers, o.buckets === undefined ? undefined : new Float64Array(o.buckets));
    if (h < 0) throw fleetError(WHO);
    return h;
  }

  /** Runs `fn` on the live handle; a trap drops the instance and says the state is gone. */
  #call<R>(fn: (h: number) => R): R {
    if (this.#h < 0) throw new Error(`${WHO}: this aggregator was disposed`);
    if (this.#gen !== fleetGeneration()) throw lost();
    try {
      return fn(this.#h);
    } catch (err) {
      if (err instanceof WebAssembly.RuntimeError) {
        dropFleetEngine();
        throw lost(err);
      }
      throw err;
    }
  }

  /**
   * Merges one delta (as a collector's shipper sent it). A retry of a delta
   * already merged is `duplicate` and changes nothing; a refused one
   * (malformed, another format version, too large, too old, other bucket
   * bounds) changes nothing and says why, with the HTTP status to answer.
   */
  apply(delta: Uint8Array | ArrayBuffer, now: number = Date.now()): DeltaResult {
    const bytes = bytesOf(delta, 'a delta');
    return this.#call((h) => {
      const r = glue.engineFleetApply(h, bytes, now);
      if (r === DeltaOutcome.Applied) return { outcome: 'applied' };
      if (r === DeltaOutcome.Duplicate) return { outcome: 'duplicate' };
      const refusal = REFUSALS[r as keyof typeof REFUSALS];
      const message = `${WHO}: ${glue.engineTakeErrorMessage()}`;
      if (refusal === undefined) throw new Error(message);
      return { outcome: 'refused', reason: refusal[0], status: refusal[1], message };
    });
  }

  /** The whole state, to persist; {@link load} restores it. */
  save(): Uint8Array {
    return this.#call((h) => glue.engineFleetSave(h));
  }

  /**
   * Merges a saved state: into a new aggregator it restores it exactly;
   * into another it adds (a scrape merging shards). A malformed state, or
   * one with other bucket bounds, throws a `RangeError` and changes nothing.
   */
  load(state: Uint8Array | ArrayBuffer): void {
    const bytes = bytesOf(state, 'a state');
    this.#call((h) => {
      if (glue.engineFleetLoad(h, bytes) !== Status.Ok) throw fleetError(WHO);
    });
  }

  /**
   * The fleet's Prometheus text exposition (format 0.0.4): every merged
   * metric, `http_response_time_p95`/`_p99` and the
   * `bs_fleet_response_time_ms` summary from the sketch window, and the
   * aggregator's own `bs_fleet_isolates` and `bs_fleet_deltas_total`.
   */
  toPrometheusFormat(now: number = Date.now()): string {
    return this.#call((h) => glue.engineFleetEncode(h, now));
  }

  /** The fleet's figures, in the shape of a collector's `getSnapshot()` plus the fleet's own. */
  getSnapshot(now: number = Date.now()): FleetSnapshot {
    return this.#call((h) => {
      const n = fleetOut(glue.engineFleetSnapshot(h, now), 16);
      return {
        requests_total: n[0]!,
        requests_by_endpoint: byLabel(glue.engineFleetSumByLabel(h, 'http_requests_total', 'path')),
        errors_total: n[1]!,
        errors_by_type: byLabel(glue.engineFleetSumByLabel(h, 'http_errors_total', 'error')),
        response_time_avg: n[2]!,
        response_time_p50: n[3]!,
        response_time_p95: n[4]!,
        response_time_p99: n[5]!,
        response_time_count: n[6]!,
        response_time_window_ms: this.#windowMs,
        active_users: n[7]!,
        database_queries: n[8]!,
        isolates: n[9]!,
        series: n[10]!,
        metrics: n[11]!,
        deltas: { applied: n[12]!, duplicate: n[13]!, refused: n[14]!, skipped: n[15]! },
        timestamp: now,
      };
    });
  }

  /** Frees the aggregator now (the garbage collector would later). */
  dispose(): void {
    if (this.#h < 0) return;
    finalizer?.unregister(this);
    try {
      if (this.#gen === fleetGeneration()) glue.engineFleetFree(this.#h);
    } catch {
      // a trapped instance frees nothing
    }
    this.#h = -1;
  }
}

/** The error of a call on an aggregator whose instance trapped. */
class AggregatorLost extends Error {}

function lost(cause?: unknown): Error {
  return new AggregatorLost(`${WHO}: the aggregator's WebAssembly instance trapped and was replaced; its state is lost (load the saved state into a new aggregator)`, { cause });
}

/** True for {@link lost}'s error. */
export function isLost(err: unknown): boolean {
  return err instanceof AggregatorLost;
}
