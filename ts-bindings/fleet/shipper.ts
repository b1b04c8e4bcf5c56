// Shipping an isolate's metrics to the fleet's aggregators: deltas taken
// from a collector, one request per shard, in the background
// (`ctx.waitUntil`), exactly once per (isolate, shard, sequence number).
import { DeltaFlags, DeltaLimit } from '../../pkg/bounded_services_bg.js';
import type { MetricsCollector } from '../metrics/collector.js';
import { metricsCollector } from '../metrics/default-collector.js';
import { describe } from '../describe.js';
import type { NamespaceLike, WaitUntilLike } from './types.js';

const WHO = 'bounded-services/fleet';
/** Requests to one shard in one flush, at most (each at most `maxBytes`). */
const MAX_REQUESTS_PER_SHARD = 8;
/** Statuses that refuse a delta for good (sending it again changes nothing). */
const FINAL_REFUSALS = new Set([400, 410, 413, 422]);
/** The aggregator's delta route (only reachable through the binding). */
export const DELTA_PATH = 'https://bounded-services.fleet/delta';
/** The aggregator's state route (read by the scrape). */
export const STATE_PATH = 'https://bounded-services.fleet/state';

/** Options of {@link FleetShipper}. */
export interface FleetShipperOptions {
  /**
   * The aggregators' Durable Object namespace: the binding's name in `env`
   * (e.g. `'FLEET_METRICS'`, read at each flush from the `env` given to
   * {@link FleetShipper.maybeFlush}), or the namespace itself.
   */
  namespace: string | NamespaceLike;
  /** Aggregator shards (Durable Object instances), 1 to 256. Default 1. Every shipper and the scrape must agree. */
  shards?: number;
  /** Names of the shard objects: `<name>:<shard>`. Default `'bs-fleet'`. */
  name?: string;
  /** Flush at most this often (ms). Default 10 000. */
  intervalMs?: number;
  /** …or sooner, once this many updates were noted. Default 1000. */
  maxUpdates?: number;
  /** Largest request body (bytes), ≥ 1024. Default 262 144; a delta past it is cut, the rest goes next time. */
  maxBytes?: number;
  /**
   * The collector shipped (its durations are tracked from now on; a
   * disposed one throws here). Default the module-level `metricsCollector`.
   */
  collector?: MetricsCollector;
  /**
   * This isolate's id in deltas (1 to 128 bytes of UTF-8), unique per isolate: the
   * aggregator acknowledges a delta whose (id, shard, sequence number) it
   * has seen as a retry. Default a random UUID per shipper.
   */
  isolateId?: string;
  /** A request to an aggregator taking longer fails (and is retried next flush), ms. Default 15 000. */
  requestTimeoutMs?: number;
  /** The clock (ms). Default `Date.now`. */
  now?: () => number;
}

/** What a shipper did so far. */
export interface FleetShipperStats {
  /** Flushes started. */
  flushes: number;
  /** Deltas acknowledged (merged, or retries found merged). */
  acknowledged: number;
  /** Requests that failed (network, 5xx, a throwing binding): their delta is sent again next flush. */
  failures: number;
  /** Deltas the aggregator refused (4xx): dropped, with the last reason in `lastError`. */
  refused: number;
  /** Bytes of the deltas sent (retries included). */
  bytes: number;
  /** Deltas waiting for an acknowledgement (at most one per shard). */
  pending: number;
  /** The last failure or refusal, if any. */
  lastError?: string;
}

interface Pending {
  seq: number;
  bytes: Uint8Array;
  takenAt: number;
}

function positive(v: unknown, name: string, dflt: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${WHO}: ${name} must be an integer from ${min} to ${max}, got ${describe(v)}`);
  }
  return v;
}

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  return `iso-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/**
 * Ships a collector's changes to the fleet aggregators. Each flush sends,
 * per shard, the delta still waiting for an acknowledgement (unchanged,
 * same sequence number) or else a new one: everything that changed since
 * the previous take. The aggregator applies each (isolate, shard, seq)
 * once, so a retry after a lost response never counts twice. A failed
 * request keeps its delta for the next flush; meanwhile new changes
 * accumulate in the collector itself (one number per series), so nothing
 * grows without bound. What an isolate killed between flushes loses is
 * what changed since its last acknowledged flush (at most `intervalMs` of
 * updates, plus a delta in flight).
 *
 * The request path only counts ({@link noteUpdate}) and compares the time
 * ({@link maybeFlush}); taking and sending run in `ctx.waitUntil`.
 */
export class FleetShipper {
  readonly #ns: string | NamespaceLike;
  readonly #shards: number;
  readonly #name: string;
  readonly #interval: number;
  readonly #maxUpdates: number;
  readonly #maxBytes: number;
  readonly #collector: MetricsCollector | undefined;
  readonly #now: () => number;
  /** `now` was given: it, not the caller's reading, is the clock. */
  readonly #clockGiven: boolean;
  #id: string | undefined;
  #seq: number[];
  #pending: (Pending | undefined)[];
  #updates = 0;
  #last = -Infinity;
  #running: Promise<void> | undefined;
  #runningSince = 0;
  /** +1 per flush started: a flush given up on stops at its next step. */
  #epoch = 0;
  readonly #timeout: number;
  /** The counts; `pending` is counted when asked (`stats()`). */
  #stats: Omit<FleetShipperStats, 'pending'> = { flushes: 0, acknowledged: 0, failures: 0, refused: 0, bytes: 0 };

  constructor(options: FleetShipperOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${WHO}: options must be an object`);
    const ns = options.namespace;
    if (typeof ns !== 'string' && (ns === null || typeof ns !== 'object' || typeof (ns as NamespaceLike).get !== 'function')) {
      throw new TypeError(`${WHO}: namespace must be a binding name or a Durable Object namespace, got ${describe(ns)}`);
    }
    this.#ns = ns;
    this.#shards = positive(options.shards, 'shards', 1, 1, DeltaLimit.MaxShards);
    this.#name = options.name ?? 'bs-fleet';
    if (typeof this.#name !== 'string' || this.#name === '') throw new TypeError(`${WHO}: name must be a non-empty string`);
    this.#interval = positive(options.intervalMs, 'intervalMs', 10_000, 0);
    this.#maxUpdates = positive(options.maxUpdates, 'maxUpdates', 1000);
    this.#maxBytes = positive(options.maxBytes, 'maxBytes', 262_144, DeltaLimit.MinTakeBytes, 64 << 20);
    this.#timeout = positive(options.requestTimeoutMs, 'requestTimeoutMs', 15_000, 1, 600_000);
    this.#collector = options.collector;
    if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError(`${WHO}: now must be a function`);
    this.#now = options.now ?? Date.now;
    this.#clockGiven = options.now !== undefined;
    const id = options.isolateId;
    const idBytes = typeof id === 'string' ? new TextEncoder().encode(id).length : -1;
    if (id !== undefined && (idBytes < 1 || idBytes > DeltaLimit.MaxIsolateIdBytes)) {
      throw new RangeError(`${WHO}: isolateId must be 1 to ${DeltaLimit.MaxIsolateIdBytes} bytes of UTF-8`);
    }
    // Made on first use: Workers forbid random values at global scope,
    // where shippers are made.
    this.#id = id;
    this.#seq = new Array<number>(this.#shards).fill(0);
    this.#pending = new Array<Pending | undefined>(this.#shards).fill(undefined);
    // From now on: every duration recorded after this shipper exists is in
    // the sketch its first delta carries, whatever reads the collector
    // before that first flush (the histogram counts them all).
    this.#source().trackDeltas();
  }

  /** This isolate's id in its deltas (a random UUID unless given; made on first use). */
  get isolateId(): string {
    this.#id ??= randomId();
    return this.#id;
  }

  /** The collector shipped. */
  #source(): MetricsCollector {
    return this.#collector ?? metricsCollector;
  }

  /** Call once per update batch (the middleware: once per request). O(1). */
  noteUpdate(): void {
    this.#updates++;
  }

  /**
   * Starts a flush in `ctx.waitUntil` when one is due (`intervalMs` since
   * the last, or `maxUpdates` noted) and none is running. `env` gives the
   * binding when `namespace` is its name; `now`, a clock reading the caller
   * already has (else the shipper reads its clock). Never throws.
   */
  maybeFlush(env?: unknown, ctx?: WaitUntilLike, now?: number): void {
    // One clock reading: the caller's when it has one (the middleware's).
    const t = this.#clockGiven || now === undefined ? this.#now() : now;
    if (this.#running !== undefined && !this.#abandoned(t)) return;
    if (this.#updates < this.#maxUpdates && t - this.#last < this.#interval) return;
    try {
      const p = this.flush(env);
      ctx?.waitUntil(p);
    } catch {
      // flush() reports its failures in stats; it does not throw synchronously
    }
  }

  /**
   * Flushes now: per shard, the delta waiting for an acknowledgement, then
   * everything that changed since (several requests when a delta is cut at
   * `maxBytes`, at most 8 per shard). Resolves when done: with
   * `stats().pending` 0, everything noted before the call is acknowledged.
   * Never rejects: a failure stops that shard's requests, is counted in
   * {@link stats}, and is retried next time. While a flush runs, another
   * waits for it and then flushes what changed since (flushes never overlap).
   */
  flush(env?: unknown): Promise<void> {
    const running = this.#running;
    if (running !== undefined && !this.#abandoned()) {
      // After it, or once it counts as abandoned if it never settles.
      const left = Math.max(1, this.#runningSince + this.#abandonMs() - this.#now());
      let timer: ReturnType<typeof setTimeout> | undefined;
      const givenUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, left)));
      return Promise.race([running, givenUp])
        .finally(() => clearTimeout(timer))
        .then(() => this.flush(env));
    }
    this.#last = this.#now();
    this.#runningSince = this.#last;
    this.#updates = 0;
    this.#stats.flushes++;
    const epoch = ++this.#epoch;
    const run = this.#flushAll(env, epoch).finally(() => {
      if (this.#running === run) this.#running = undefined;
    });
    this.#running = run;
    return run;
  }

  /**
   * A flush still running long after its requests timed out: its request's
   * context was cancelled (a Worker's waitUntil ends), and its promises
   * will never settle. Given up on, so shipping goes on.
   */
  #abandoned(now: number = this.#now()): boolean {
    return now - this.#runningSince > this.#abandonMs();
  }

  #abandonMs(): number {
    return this.#timeout * (MAX_REQUESTS_PER_SHARD + 2);
  }

  async #flushAll(env: unknown, epoch: number): Promise<void> {
    // Off the request: the takes run after the current turn (the response).
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    let ns: NamespaceLike;
    try {
      ns = this.#namespace(env);
    } catch (err) {
      this.#fail(err);
      return;
    }
    const shards = Array.from({ length: this.#shards }, (_, shard) => this.#flushShard(ns, shard, epoch));
    await Promise.all(shards);
  }

  /**
   * One shard: the delta waiting for an acknowledgement first, then new
   * ones until one holds all that changed (a delta cut at maxBytes is
   * followed by the rest), at most MAX_REQUESTS_PER_SHARD; stops at the
   * first failure. What changes while a complete delta is on its way waits
   * for the next flush.
   */
  async #flushShard(ns: NamespaceLike, shard: number, epoch: number): Promise<void> {
    for (let i = 0; i < MAX_REQUESTS_PER_SHARD && epoch === this.#epoch; i++) {
      let p = this.#pending[shard];
      const resent = p !== undefined;
      if (p === undefined) {
        let bytes: Uint8Array;
        try {
          bytes = this.#source().takeDelta(this.isolateId, this.#seq[shard]! + 1, shard, this.#shards, this.#maxBytes);
        } catch (err) {
          this.#fail(err);
          return;
        }
        if (bytes.length === 0) return;
        this.#seq[shard]!++;
        p = { seq: this.#seq[shard]!, bytes, takenAt: this.#now() };
        this.#pending[shard] = p;
      }
      if (!(await this.#send(ns, shard, p))) return;
      if (!resent && ((p.bytes[DeltaFlags.At] ?? 0) & DeltaFlags.Truncated) === 0) return;
    }
  }

  #namespace(env: unknown): NamespaceLike {
    if (typeof this.#ns !== 'string') return this.#ns;
    const ns = (env as Record<string, unknown> | undefined)?.[this.#ns] as NamespaceLike | undefined;
    if (ns === undefined || typeof ns.get !== 'function') {
      throw new TypeError(`${WHO}: env.${this.#ns} is not a Durable Object namespace (add the binding to wrangler.toml, and pass env to maybeFlush/flush)`);
    }
    return ns;
  }

  /** Sends `p`; true when it is settled (acknowledged or refused for good). */
  async #send(ns: NamespaceLike, shard: number, p: Pending): Promise<boolean> {
    this.#stats.bytes += p.bytes.length;
    try {
      const stub = ns.get(ns.idFromName(`${this.#name}:${shard}`) as never);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`shard ${shard}: no answer within ${this.#timeout} ms`)), this.#timeout);
      });
      const res = await Promise.race([
        stub.fetch(DELTA_PATH, { method: 'POST', body: p.bytes, headers: { 'content-type': 'application/octet-stream' } }),
        timedOut,
      ]).finally(() => clearTimeout(timer));
      if (res.status === 200) {
        this.#stats.acknowledged++;
        if (this.#pending[shard] === p) this.#pending[shard] = undefined;
        return true;
      }
      if (FINAL_REFUSALS.has(res.status)) {
        // Refused for good (malformed, too old, other buckets, too large):
        // sending it again would be refused again. Other statuses (a 404
        // or 429 of something in between) are retried.
        this.#stats.refused++;
        this.#stats.lastError = `shard ${shard}: ${res.status} ${(await res.text()).slice(0, 500)}`;
        if (this.#pending[shard] === p) this.#pending[shard] = undefined;
        return true;
      }
      this.#fail(new Error(`shard ${shard}: HTTP ${res.status}`));
    } catch (err) {
      this.#fail(err);
    }
    return false;
  }

  #fail(err: unknown): void {
    this.#stats.failures++;
    this.#stats.lastError = err instanceof Error ? err.message : String(err);
  }

  /** Counts so far (a copy). */
  stats(): FleetShipperStats {
    return { ...this.#stats, pending: this.#pending.filter((p) => p !== undefined).length };
  }
}

/** A shipper: `new FleetShipper(options)`. */
export function fleetShipper(options: FleetShipperOptions): FleetShipper {
  return new FleetShipper(options);
}
