// The aggregator as a Cloudflare Durable Object: one instance per shard
// (named `<name>:<shard>` by the shipper), merging deltas into its
// FleetAggregator and persisting the merged state in Durable Object storage
// before it acknowledges, so a restart or an eviction loses nothing it
// acknowledged. Reachable only through the Worker's own binding (a Durable
// Object has no public URL): the routes below are for the shipper and the
// scrape, never exposed as such.
import { FleetAggregator, isLost } from './aggregator.js';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/types.js';
import type { FleetAggregatorOptions, ResponseLike } from './types.js';

/** The parts of a `Request` the aggregator reads. */
export interface RequestLike {
  readonly url: string;
  readonly method: string;
  readonly headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** SQLite storage's synchronous SQL API (`ctx.storage.sql`). */
export interface SqlLike {
  exec(query: string, ...bindings: unknown[]): { toArray(): Record<string, unknown>[] };
}

/**
 * The storage the aggregator uses (`ctx.storage` of a Durable Object). With
 * `sql` (a SQLite-backed class, `new_sqlite_classes`) the state is written
 * synchronously in the same turn as the merge; otherwise through the
 * asynchronous key-value calls.
 */
export interface StorageLike {
  readonly sql?: SqlLike;
  /** Runs `fn` as one transaction, rolled back if it throws (SQLite-backed storage). */
  transactionSync?<T>(fn: () => T): T;
  get(keys: string[]): Promise<Map<string, unknown>>;
  put(entries: Record<string, unknown>): Promise<void>;
  delete(keys: string[]): Promise<unknown>;
}

/** The parts of `DurableObjectState` the aggregator uses. */
export interface DurableObjectStateLike {
  readonly storage: StorageLike;
  blockConcurrencyWhile?<T>(fn: () => Promise<T>): Promise<T>;
}

/** Storage keys: the manifest, then the state's chunks `<key>:<i>`. */
const KEY = 'bs-fleet:state';
/** Bytes per stored value (below every storage backend's value limit). */
const CHUNK = 128 * 1024;
/** Entries per `put` (the storage API's limit). */
const PUT_BATCH = 128;

/** The SQLite table of the state's chunks (rowid = chunk index). */
const TABLE = 'bs_fleet_state';
/** Bytes per row (SQLite rows of a Durable Object hold at most 2 MB). */
const SQL_CHUNK = 1 << 20;

/** Version of the stored state: +1 per write (see sqlWrite). */
function sqlVersion(sql: SqlLike): number {
  sql.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (i INTEGER PRIMARY KEY, bytes BLOB NOT NULL)`);
  sql.exec(`CREATE TABLE IF NOT EXISTS ${TABLE}_version (one INTEGER PRIMARY KEY CHECK (one = 0), v INTEGER NOT NULL)`);
  const row = sql.exec(`SELECT v FROM ${TABLE}_version`).toArray()[0];
  return row === undefined ? 0 : Number(row.v);
}

/** Another instance of this object wrote the state since this one read it. */
class Conflict extends Error {}

function sqlRead(sql: SqlLike): Uint8Array | undefined {
  const rows = sql.exec(`SELECT bytes FROM ${TABLE} ORDER BY i`).toArray();
  if (rows.length === 0) return undefined;
  const parts = rows.map((r) => new Uint8Array(r.bytes as ArrayBuffer));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Writes `state` in the current turn: the runtime commits every write of a
 * turn as one transaction before the turn's response leaves, and no other
 * event (a reset included) runs between the merge and this write.
 */
function sqlWrite(sql: SqlLike, state: Uint8Array, version: number): number {
  // Optimistic concurrency: the platform runs one instance per object, but
  // should a reset instance still finish a request while its successor
  // runs, the one whose view is older must not overwrite the other's write:
  // its write fails (503, retried by the sender) instead.
  if (sqlVersion(sql) !== version) throw new Conflict('the stored state changed under this instance');
  const chunks = Math.max(1, Math.ceil(state.length / SQL_CHUNK));
  for (let i = 0; i < chunks; i++) {
    const part = state.slice(i * SQL_CHUNK, (i + 1) * SQL_CHUNK);
    sql.exec(`INSERT OR REPLACE INTO ${TABLE} (i, bytes) VALUES (?, ?)`, i, part.buffer);
  }
  sql.exec(`DELETE FROM ${TABLE} WHERE i >= ?`, chunks);
  sql.exec(`INSERT OR REPLACE INTO ${TABLE}_version (one, v) VALUES (0, ?)`, version + 1);
  return version + 1;
}

interface Manifest {
  v: 1;
  chunks: number;
  bytes: number;
}

function json(status: number, body: unknown): ResponseLike {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

async function readState(storage: StorageLike): Promise<Uint8Array | undefined> {
  const m = (await storage.get([KEY])).get(KEY) as Manifest | undefined;
  if (m === undefined) return undefined;
  const keys = Array.from({ length: m.chunks }, (_, i) => `${KEY}:${i}`);
  const out = new Uint8Array(m.bytes);
  let at = 0;
  for (let i = 0; i < keys.length; i += PUT_BATCH) {
    const got = await storage.get(keys.slice(i, i + PUT_BATCH));
    for (const k of keys.slice(i, i + PUT_BATCH)) {
      const chunk = got.get(k);
      if (!(chunk instanceof Uint8Array) && !(chunk instanceof ArrayBuffer)) {
        throw new Error(`bounded-services/fleet: stored state is missing chunk ${k}`);
      }
      const bytes = chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk);
      out.set(bytes, at);
      at += bytes.length;
    }
  }
  return out;
}

/** Writes `state` as chunks plus a manifest: one coalesced, atomic write. */
function writeState(storage: StorageLike, state: Uint8Array, previousChunks: number): Promise<unknown> {
  const chunks = Math.ceil(state.length / CHUNK);
  const entries: [string, unknown][] = [];
  for (let i = 0; i < chunks; i++) entries.push([`${KEY}:${i}`, state.slice(i * CHUNK, (i + 1) * CHUNK)]);
  entries.push([KEY, { v: 1, chunks, bytes: state.length } satisfies Manifest]);
  // No await in between: the runtime commits these writes together, and
  // holds the response until they are durable.
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < entries.length; i += PUT_BATCH) {
    writes.push(storage.put(Object.fromEntries(entries.slice(i, i + PUT_BATCH))));
  }
  const stale = Array.from({ length: Math.max(0, previousChunks - chunks) }, (_, i) => `${KEY}:${chunks + i}`);
  for (let i = 0; i < stale.length; i += PUT_BATCH) writes.push(storage.delete(stale.slice(i, i + PUT_BATCH)));
  return Promise.all(writes);
}

/**
 * The fleet aggregator Durable Object. Export it from the Worker that
 * defines the class (and bind it with a migration, see the README):
 *
 * ```ts
 * export { MetricsAggregator } from 'bounded-services/fleet';
 * // or, with options:
 * export const MetricsAggregator = defineMetricsAggregator({ buckets: [...] });
 * ```
 *
 * Routes (through the binding only): `POST /delta` (a shipper's delta:
 * 200 `{"outcome":"applied"|"duplicate"}`, or 400/410/413/422 with the
 * reason and state intact, 503 when storage failed and the delta was
 * rolled back), `GET /state` (the merged state, for the scrape),
 * `GET /metrics` (this shard's exposition), `GET /snapshot` (its JSON).
 */
export class MetricsAggregator {
  /** Options of every instance of this class ({@link defineMetricsAggregator} sets them). */
  static options: FleetAggregatorOptions = {};

  readonly #ctx: DurableObjectStateLike;
  #agg: FleetAggregator | undefined;
  #chunks = 0;
  /** The stored state's version this instance's memory is (SQLite storage). */
  #version = 0;
  /** Key-value storage: every write issued so far, settled or not. */
  #writes: Promise<unknown> = Promise.resolve();
  readonly #ready: Promise<void>;

  constructor(ctx: DurableObjectStateLike, _env?: unknown) {
    this.#ctx = ctx;
    const load = (): Promise<void> => this.#restore();
    this.#ready = ctx.blockConcurrencyWhile ? ctx.blockConcurrencyWhile(load) : load();
  }

  #options(): FleetAggregatorOptions {
    return (this.constructor as typeof MetricsAggregator).options;
  }

  /** Memory := storage (at start, after a trap, after a failed write). */
  async #restore(): Promise<void> {
    this.#agg?.dispose();
    this.#agg = undefined;
    const sql = this.#ctx.storage.sql;
    // Key-value storage: the writes still in flight land (or fail) first,
    // so what is read includes every write that will be acknowledged.
    if (!sql) await this.#writes;
    const agg = new FleetAggregator(this.#options());
    try {
      if (sql) this.#version = sqlVersion(sql);
      const state = sql ? sqlRead(sql) : await readState(this.#ctx.storage);
      if (state !== undefined) {
        agg.load(state);
        this.#chunks = Math.ceil(state.length / CHUNK);
      }
    } catch (err) {
      agg.dispose();
      throw err;
    }
    this.#agg = agg;
  }

  async #aggregator(): Promise<FleetAggregator> {
    await this.#ready;
    const sql = this.#ctx.storage.sql;
    // Behind what storage holds (another instance wrote): read it again.
    if (this.#agg === undefined || (sql !== undefined && sqlVersion(sql) !== this.#version)) await this.#restore();
    return this.#agg!;
  }

  /** Runs `fn`; once more on a state restored from storage if the instance trapped. */
  async #with<R>(fn: (a: FleetAggregator) => R): Promise<R> {
    try {
      return fn(await this.#aggregator());
    } catch (err) {
      if (!isLost(err)) throw err;
      await this.#restore();
      return fn(this.#agg!);
    }
  }

  async fetch(request: RequestLike): Promise<ResponseLike> {
    const path = new URL(request.url).pathname;
    try {
      if (request.method === 'POST' && path === '/delta') return await this.#delta(request);
      if (request.method === 'GET' && path === '/state') {
        const state = await this.#with((a) => a.save());
        return new Response(state as unknown as ArrayBuffer, { headers: { 'content-type': 'application/octet-stream' } });
      }
      if (request.method === 'GET' && path === '/metrics') {
        const text = await this.#with((a) => a.toPrometheusFormat());
        return new Response(text, { headers: { 'content-type': PROMETHEUS_CONTENT_TYPE } });
      }
      if (request.method === 'GET' && path === '/snapshot') return json(200, await this.#with((a) => a.getSnapshot()));
      return json(404, { error: `no route ${request.method} ${path}` });
    } catch (err) {
      return json(500, { error: err instanceof Error ? err.message : String(err) });
    }
  }

  async #delta(request: RequestLike): Promise<ResponseLike> {
    const max = (await this.#aggregator()).maxDeltaBytes;
    const declared = Number(request.headers.get('content-length') ?? NaN);
    if (declared > max) {
      return json(413, { outcome: 'refused', reason: 'too-large', error: `delta of ${declared} bytes is larger than the limit of ${max}` });
    }
    const body = new Uint8Array(await request.arrayBuffer());
    const sql = this.#ctx.storage.sql;
    let written: Promise<unknown> | undefined;
    let failed: unknown;
    // Merge and write in one synchronous step (see sqlWrite).
    const result = await this.#with((a) => {
      const r = a.apply(body);
      if (r.outcome === 'applied') {
        try {
          const state = a.save();
          if (sql) {
            const storage = this.#ctx.storage;
            const v = this.#version;
            this.#version = storage.transactionSync
              ? storage.transactionSync(() => sqlWrite(sql, state, v))
              : sqlWrite(sql, state, v);
          } else {
            written = writeState(this.#ctx.storage, state, this.#chunks);
            this.#writes = Promise.all([this.#writes, written.catch(() => undefined)]);
            this.#chunks = Math.ceil(state.length / CHUNK);
          }
        } catch (err) {
          failed = err;
        }
      }
      return r;
    });
    if (result.outcome === 'refused') {
      return json(result.status, { outcome: 'refused', reason: result.reason, error: result.message });
    }
    if (result.outcome === 'applied') {
      try {
        if (failed !== undefined) throw failed;
        await written;
      } catch (err) {
        // Not durable, so not acknowledged: back to what storage holds
        // (the sender retries with the same sequence number).
        await this.#restore().catch(() => {
          this.#agg = undefined;
        });
        return json(503, { outcome: 'retry', error: `storage: ${err instanceof Error ? err.message : String(err)}` });
      }
    }
    return json(200, { outcome: result.outcome });
  }
}

/** A {@link MetricsAggregator} class whose instances use `options`. */
export function defineMetricsAggregator(options: FleetAggregatorOptions): typeof MetricsAggregator {
  // Checked now (a bad option fails the deploy's first request, not later).
  new FleetAggregator(options).dispose();
  return class extends MetricsAggregator {
    static override options = { ...options };
  };
}
