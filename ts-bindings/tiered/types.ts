// The tiered cache's public types: the store interface users implement, the
// codec, the options and the stats.
import type { CacheOptions } from '../cache/types.js';
import type { MetricsCollector } from '../metrics/collector.js';

/**
 * A shared tier below the in-isolate cache (L2): the Workers Cache API, KV,
 * or one of your own (D1, R2, ...). It stores opaque text under a key; the
 * tiered cache puts the entry's freshness metadata into that text and
 * decides freshness itself, so a store needs no expiry logic of its own
 * beyond dropping an entry after `ttl` seconds (late is fine, early loses a
 * hit). Every method may reject or hang: the tiered cache bounds each call
 * by its `storeTimeout`, counts the failure, and goes on without the store.
 */
export interface TierStore {
  /** Short name for stats and metric labels (`'kv'`, `'cache-api'`, ...). */
  readonly name: string;
  /**
   * Longest key the store accepts, in UTF-8 bytes. Longer keys (and keys
   * starting with `sha256:`) are stored under `sha256:<hex of SHA-256 of
   * the key>`. Default: no limit.
   */
  readonly maxKeyBytes?: number;
  /** The text stored under `key`, or `null`/`undefined` when there is none. */
  get(key: string): Promise<string | null | undefined>;
  /** Stores `text` under `key` for about `ttl` seconds (`Infinity`: no expiry). */
  put(key: string, text: string, ttl: number): Promise<void>;
  /** Deletes `key` (no error when absent). */
  delete(key: string): Promise<unknown>;
}

/**
 * How values become text in the stores. `encode` must throw a `TypeError`
 * for a value it cannot represent faithfully; `decode(encode(v))` must give
 * back an equal value.
 */
export interface Codec {
  encode(value: unknown): string;
  decode(text: string): unknown;
}

/** Where background work (store writes, refreshes) is handed on Workers. */
export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

/** Freshness of one entry, in seconds. */
export interface Freshness {
  /** Seconds a loaded value is fresh (served without a load). Default 60. */
  ttl?: number;
  /**
   * Seconds after it stops being fresh that a value is still served while
   * one background refresh per key runs (stale-while-revalidate). Default 0.
   */
  staleWhileRevalidate?: number;
  /**
   * Seconds after it stops being fresh that a value is served when the
   * loader fails (stale-if-error). Default 0.
   */
  staleIfError?: number;
}

/** Options of one `getOrLoad`, `get` or `set`. */
export interface TieredCallOptions extends Freshness {
  /**
   * The request's context (`c.executionCtx` in Hono, `ctx` in a Worker's
   * `fetch`): store writes and refreshes go to its `waitUntil`, so they
   * finish after the response is sent. Without it they run detached (fine
   * in Node; in Workers the runtime may cancel them once the response is
   * done).
   */
  ctx?: WaitUntil;
}

/** Options of a {@link TieredCache}. */
export interface TieredOptions extends Freshness {
  /** Name in metric labels (`cache="..."`). Default `'tiered'`. */
  name?: string;
  /**
   * The in-isolate tier (L1): options of its {@link BoundedCache}. Its own
   * `ttl` is a cap: L1 keeps an entry for at most that many seconds (then
   * asks the stores again), never longer than the entry lives. Its
   * `maxEntries` (default 1000) and `maxBytes` bound it.
   */
  l1?: CacheOptions;
  /** The shared tiers, fastest first. Default none (L1 only). */
  stores?: readonly TierStore[];
  /** Longest a store call may take, in ms, before it is skipped. Default 1000. */
  storeTimeout?: number;
  /**
   * Seconds a "not found" (the loader resolving to `null` or `undefined`)
   * is cached in every tier. Default 0: not found is never cached.
   */
  negativeTtl?: number;
  /**
   * Longest a load is shared, and a caller waits for a load another caller
   * started (ms); as {@link CacheOptions.loadTimeout}. Default 10,000.
   */
  loadTimeout?: number;
  /** Most loads shared at once; as {@link CacheOptions.maxPendingLoads}. Default 1000. */
  maxPendingLoads?: number;
  /** How values are stored in the stores. Default {@link jsonCodec}. */
  codec?: Codec;
  /** Counters of every tier event go to this collector as well. */
  metrics?: MetricsCollector;
  /** The clock in ms since the epoch (shared tiers compare wall times). Default `Date.now()`. */
  now?: () => number;
}

/** Counters of the in-isolate tier. */
export interface L1TierStats {
  tier: 'l1';
  /** Fresh values served. */
  hits: number;
  /** Lookups that found nothing usable. */
  misses: number;
  /** Stale values served while a refresh runs. */
  stale_hits: number;
  /** Entries stored now, and the bound. */
  entries: number;
  max_entries: number;
  evictions: number;
}

/** Counters of one store. */
export interface StoreTierStats {
  tier: string;
  hits: number;
  misses: number;
  stale_hits: number;
  /** Calls that rejected, and calls cut off at `storeTimeout`. */
  errors: number;
  timeouts: number;
  /** Entries written, and writes that failed (errors or timeouts). */
  writes: number;
  write_errors: number;
  deletes: number;
  delete_errors: number;
}

/** `getStats()` of a {@link TieredCache}. */
export interface TieredStats {
  tiers: [L1TierStats, ...StoreTierStats[]];
  /** Loader calls, and those that rejected. */
  loads: number;
  load_errors: number;
  /** Background refreshes started (stale-while-revalidate), and those that failed. */
  refreshes: number;
  refresh_errors: number;
  /** Stale values served while revalidating, and because the loader failed. */
  stale_served: number;
  stale_if_error_served: number;
  /** "Not found" answers served from a cached negative entry. */
  negative_hits: number;
  /** Background tasks (store writes, refreshes) not finished yet. */
  pending_background: number;
}
