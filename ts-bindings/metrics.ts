// bounded-services/metrics — a drop-in replacement for MoodMash's
// `src/services/metrics.ts`: one series per label set with a cardinality
// cap, stale-series expiry, an O(1) response-time window with exact
// percentiles, and a valid Prometheus text exposition.
//
// The registry lives in WebAssembly. The hot path (`increment` with the same
// labels, `recordResponseTime`) crosses the boundary with numbers only: the
// facade caches, per name and label set, the packed handle of the series it
// resolved once through the slower string path. Handles carry a generation,
// so a series dropped by stale expiry or `reset()` is detected (the Wasm side
// answers "stale") and resolved again, never confused with another.
import { engine, ex, HandleFinalizer, isTrap, recover, track, wbg, type Resettable } from './engine.js';

/** A metric as the original module described it. */
export interface Metric {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  value: number;
  labels?: Record<string, string>;
  timestamp?: number;
}

/** What `getSnapshot()` returns (the original's shape). */
export interface MetricsSnapshot {
  requests_total: number;
  /** Requests per route pattern (`path` label), e.g. `/api/moods/:id`. */
  requests_by_endpoint: Record<string, number>;
  errors_total: number;
  /** Errors per error type (`error` label), e.g. `TypeError`, `http_503`. */
  errors_by_type: Record<string, number>;
  response_time_avg: number;
  response_time_p95: number;
  response_time_p99: number;
  active_users: number;
  database_queries: number;
  timestamp: number;
}

/** The content type of {@link MetricsCollector.toPrometheusFormat}'s text. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Label name given to the series that collects label sets past the cap. */
export const OVERFLOW_LABEL = 'bs_overflow';

/** Options of a {@link MetricsCollector}. */
export interface MetricsOptions {
  /**
   * Cardinality cap: labelled series per metric. Past it, each new label
   * set is folded into the metric's one overflow series, labelled
   * `bs_overflow="true"`, so totals stay right and memory stays flat; such
   * events are counted (`getStats().overflow_events`). Default 1000.
   */
  maxSeriesPerMetric?: number;
  /** Metric names (families), the built-in ones included. Default 1000. */
  maxMetrics?: number;
  /**
   * Labelled series not updated for this many milliseconds are dropped
   * (bounded work per call; a scrape drops them all first). Unlabelled series,
   * such as the seven built-in metrics, never expire. Default 3,600,000
   * (one hour); `Infinity` disables expiry.
   */
  staleAfterMs?: number;
  /** Response times kept for the mean and percentiles. Default 1000. */
  windowSize?: number;
  /**
   * Upper bounds (ms, ascending) of the `http_request_duration_ms` histogram
   * buckets; `+Inf` is implied. Default 5, 10, 25, 50, 100, 250, 500, 1000,
   * 2500, 5000, 10000.
   */
  responseTimeBuckets?: number[];
  /** Longest label value, in UTF-8 bytes; longer is a RangeError. Default 1024. */
  maxLabelValueLength?: number;
  /** Most labels per series; more is a RangeError. Default 16. */
  maxLabels?: number;
  /** Clock in ms for staleness. Default `Date.now`. */
  now?: () => number;
}

type Labels = Record<string, string>;
const TYPE_CODES = { counter: 0, gauge: 1, histogram: 2 } as const;
/** Engine result: the series handle is no longer valid (resolve again). */
const STALE = -1;
/** Upper bound on cached (name, labels) -> handle entries per collector. */
const HANDLE_CACHE_LIMIT = 16_384;
/** Stale series dropped before each scrape, at most. */
const SCRAPE_EXPIRE_BUDGET = 100_000;

function describe(v: unknown): string {
  if (typeof v === 'string') return v.length > 40 ? `a string of length ${v.length}` : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  return typeof v;
}

function failure(): Error {
  const message = `bounded-services/metrics: ${wbg.engineMetricsLastError()}`;
  return wbg.engineMetricsLastErrorIsRange() ? new RangeError(message) : new TypeError(message);
}

const hasOwn = Object.prototype.hasOwnProperty;

/** Marks, in a node of the handle trie, the handle of the path so far. */
const END: unique symbol = Symbol('series');

/**
 * Handle cache: a trie of Maps, name -> label name -> label value -> ... ->
 * END -> packed handle. Walking it with the caller's strings costs a few
 * Map lookups and allocates nothing; a flat string key would have to be
 * built and hashed on every call (10x slower, measured). A label set given
 * in another key order takes another path to the same handle.
 */
type TrieNode = Map<string | typeof END, TrieNode | number>;

function checkLabels(labels: unknown): void {
  if (labels !== undefined && (labels === null || typeof labels !== 'object')) {
    throw new TypeError(`bounded-services/metrics: labels must be an object, got ${describe(labels)}`);
  }
}

function badLabel(k: string, v: unknown): TypeError {
  return new TypeError(`bounded-services/metrics: label ${JSON.stringify(k)} must be a string, got ${describe(v)}`);
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]{0,255}$/;
const TYPE_NAMES = ['counter', 'gauge', 'histogram'] as const;

/**
 * Before a series is created for an add (`type` 0) or an observation
 * (`type` 2) of `value`: the checks the core makes on the operation itself
 * (src/metrics/mod.rs `add`, `observe`), with its messages, against the
 * type the family has or would get. An invalid name is left to the core.
 */
function precheck(reg: number, name: string, type: number, value: number): void {
  if (!METRIC_NAME.test(name)) return;
  const existing = wbg.engineMetricsFamilyType(reg, name);
  const kind = existing < 0 ? type : existing;
  const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
  let message: string | undefined;
  let range = true;
  if (type === 0 && kind === 2) {
    range = false;
    message = `cannot add to metric "${shown}": it is a histogram`;
  } else if (type === 2 && kind !== 2) {
    range = false;
    message = `cannot observe metric "${shown}": it is a ${TYPE_NAMES[kind] ?? 'counter'}`;
  } else if (type === 2) {
    if (!Number.isFinite(value)) message = `observation must be a finite number, got ${value}`;
  } else if (kind === 0) {
    if (!Number.isFinite(value)) message = `counter increment must be a finite number, got ${value}`;
    else if (value < 0) message = `counter increment must not be negative, got ${value}`;
  } else if (Number.isNaN(value)) {
    message = 'gauge increment must be a finite number, got NaN';
  }
  if (message !== undefined) {
    const full = `bounded-services/metrics: ${message}`;
    throw range ? new RangeError(full) : new TypeError(full);
  }
}

/** `[name1, value1, name2, value2, ...]` of the own labels, checked. */
function flatLabels(labels: Labels | undefined): string[] {
  checkLabels(labels);
  const flat: string[] = [];
  if (labels !== undefined) {
    for (const k in labels) {
      if (!hasOwn.call(labels, k)) continue;
      const v = labels[k];
      if (typeof v !== 'string') throw badLabel(k, v);
      flat.push(k, v);
    }
  }
  return flat;
}

/** Frees the registry of a collector the garbage collector took. */
const finalizer = new HandleFinalizer((h) => ex.engineMetricsFree(h));

/**
 * A metrics collector with the original's surface. Bounded: at most
 * `maxMetrics` names, `maxSeriesPerMetric` label sets per name (plus one
 * overflow series), `windowSize` response times.
 */
export class MetricsCollector implements Resettable {
  #h = -1;
  readonly #options: MetricsOptions;
  readonly #now: () => number;
  #trie: TrieNode = new Map();
  #cached = 0;

  constructor(options: MetricsOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError('bounded-services/metrics: options must be an object');
    }
    for (const name of ['maxSeriesPerMetric', 'maxMetrics', 'windowSize', 'maxLabelValueLength', 'maxLabels'] as const) {
      const v = options[name];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) {
        throw new RangeError(`bounded-services/metrics: option ${name} must be a positive integer, got ${describe(v)}`);
      }
    }
    const stale = options.staleAfterMs;
    if (stale !== undefined && (typeof stale !== 'number' || Number.isNaN(stale) || stale <= 0)) {
      throw new RangeError(`bounded-services/metrics: staleAfterMs must be a positive number or Infinity, got ${describe(stale)}`);
    }
    const buckets = options.responseTimeBuckets;
    if (buckets !== undefined && (!Array.isArray(buckets) || buckets.some((b) => typeof b !== 'number'))) {
      throw new TypeError('bounded-services/metrics: responseTimeBuckets must be an array of numbers');
    }
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new TypeError('bounded-services/metrics: option now must be a function returning milliseconds');
    }
    this.#options = { ...options, responseTimeBuckets: buckets ? [...buckets] : undefined };
    this.#now = options.now ?? Date.now;
    track(this);
  }

  /** Creates the registry in Wasm on first use (keeps import side-effect free). */
  #registry(): number {
    if (this.#h >= 0) return this.#h;
    engine();
    const o = this.#options;
    const h = wbg.engineMetricsNew(
      o.maxSeriesPerMetric ?? NaN,
      o.maxMetrics ?? NaN,
      o.staleAfterMs ?? NaN,
      o.windowSize ?? NaN,
      o.maxLabelValueLength ?? NaN,
      o.maxLabels ?? NaN,
      new Float64Array(o.responseTimeBuckets ?? []),
    );
    if (h < 0) throw failure();
    this.#h = h;
    finalizer.track(this, h);
    return h;
  }

  /** @internal Rebuilds after the Wasm instance was replaced (state lost). */
  onEngineReset(): void {
    finalizer.forget(this);
    this.#h = -1;
    this.#forget();
  }

  /**
   * Frees the collector's registry in Wasm now (the garbage collector would
   * do it later). Using the collector afterwards starts a new, empty one.
   */
  dispose(): void {
    if (this.#h < 0) return;
    finalizer.release(this, this.#h);
    this.#h = -1;
    this.#forget();
  }

  #guard<R>(fn: () => R): R {
    try {
      return fn();
    } catch (err) {
      if (!isTrap(err)) throw err;
      recover(err);
      return fn();
    }
  }

  /**
   * The packed handle of `name{labels}` for an operation of `type` (0 add,
   * 2 observe) with `value`.
   */
  #series(name: string, labels: Labels | undefined, type: number, value: number, now: number): number {
    let node = this.#trie.get(name) as TrieNode | undefined;
    if (node !== undefined && labels !== undefined) {
      checkLabels(labels);
      for (const k in labels) {
        if (!hasOwn.call(labels, k)) continue;
        const v = labels[k];
        if (typeof v !== 'string') throw badLabel(k, v);
        node = node.get(k) as TrieNode | undefined;
        if (node === undefined) break;
        node = node.get(v) as TrieNode | undefined;
        if (node === undefined) break;
      }
    }
    const cached = node?.get(END);
    if (cached !== undefined) return cached as number;
    return this.#resolve(name, labels, type, value, now);
  }

  /**
   * Slow path: resolve through the string API and remember the handle.
   * Resolving creates the series (and the family) if missing, so `value` is
   * checked first, as the core checks it: a refused call must not leave an
   * empty series behind.
   */
  #resolve(name: string, labels: Labels | undefined, type: number, value: number, now: number): number {
    if (typeof name !== 'string') {
      throw new TypeError(`bounded-services/metrics: metric name must be a string, got ${describe(name)}`);
    }
    const flat = flatLabels(labels);
    const reg = this.#registry();
    precheck(reg, name, type, value);
    const h = wbg.engineMetricsResolve(reg, name, type, flat, now);
    if (h < 0) throw failure();
    // A label set folded into the overflow series is not cached: each of its
    // updates resolves again, so `overflow_events` counts every one of them,
    // whatever the cache holds.
    if (ex.engineMetricsIsOverflow(reg, h) !== 1) this.#remember(name, flat, h);
    return h;
  }

  #remember(name: string, flat: string[], h: number): void {
    if (this.#cached >= HANDLE_CACHE_LIMIT) this.#forget();
    let node = this.#trie.get(name) as TrieNode | undefined;
    if (node === undefined) this.#trie.set(name, (node = new Map()));
    for (const part of flat) {
      let next = node.get(part) as TrieNode | undefined;
      if (next === undefined) node.set(part, (next = new Map()));
      node = next;
    }
    if (!node.has(END)) this.#cached++;
    node.set(END, h);
  }

  #forget(): void {
    this.#trie = new Map();
    this.#cached = 0;
  }

  /** A series operation's result: resolve again once if the handle went stale. */
  #retry(
    r: number,
    name: string,
    labels: Labels | undefined,
    type: number,
    value: number,
    op: (reg: number, series: number, now: number) => number,
  ): void {
    if (r === STALE) {
      this.#forget();
      const now = this.#now();
      r = op(this.#h, this.#series(name, labels, type, value, now), now);
    }
    if (r < 0) throw failure();
  }

  /**
   * Sets `name{labels}` to `value`, as the original's `set`: a metric of
   * another type under the same name is replaced (all its series dropped).
   * Gauges accept any number (NaN and ±Infinity are valid in Prometheus);
   * counters need a finite value >= 0; a histogram `set` observes `value`.
   */
  set(name: string, type: Metric['type'], value: number, labels?: Labels): void {
    // Own keys only: 'toString' or 'constructor' must not read Object.prototype.
    const code = hasOwn.call(TYPE_CODES, type) ? TYPE_CODES[type] : undefined;
    if (code === undefined) {
      throw new TypeError(`bounded-services/metrics: type must be 'counter', 'gauge' or 'histogram', got ${describe(type)}`);
    }
    if (typeof value !== 'number') {
      throw new TypeError(`bounded-services/metrics: value must be a number, got ${describe(value)}`);
    }
    if (typeof name !== 'string') {
      throw new TypeError(`bounded-services/metrics: metric name must be a string, got ${describe(name)}`);
    }
    const flat = flatLabels(labels);
    this.#guard(() => {
      const reg = this.#registry();
      const h = wbg.engineMetricsSet(reg, name, code, value, flat, this.#now());
      if (h < 0) throw failure();
      // A retype drops the family's series: forget every handle.
      this.#forget();
      if (ex.engineMetricsIsOverflow(reg, h) !== 1) this.#remember(name, flat, h);
    });
  }

  /**
   * Adds `amount` (default 1) to `name{labels}`; an unknown name becomes a
   * counter. Unlike the original, each distinct label set is its own series
   * (the original merged all labels of a name into one growing object).
   * Counters need a finite `amount >= 0`; gauges any number but NaN.
   */
  increment(name: string, amount: number = 1, labels?: Labels): void {
    if (typeof amount !== 'number') {
      throw new TypeError(`bounded-services/metrics: amount must be a number, got ${describe(amount)}`);
    }
    // Straight-line hot path: one key, one Map lookup, one numeric call.
    try {
      const reg = this.#registry();
      const now = this.#now();
      const r = ex.engineMetricsAdd(reg, this.#series(name, labels, 0, amount, now), amount, now);
      if (r !== 0) this.#retry(r, name, labels, 0, amount, (g, s, t) => ex.engineMetricsAdd(g, s, amount, t));
    } catch (err) {
      if (!isTrap(err)) throw err;
      recover(err);
      this.increment(name, amount, labels);
    }
  }

  /** Observes `value` in the histogram `name{labels}` (created on first use). */
  observe(name: string, value: number, labels?: Labels): void {
    if (typeof value !== 'number') {
      throw new TypeError(`bounded-services/metrics: value must be a number, got ${describe(value)}`);
    }
    try {
      const reg = this.#registry();
      const now = this.#now();
      const r = ex.engineMetricsObserve(reg, this.#series(name, labels, 2, value, now), value, now);
      if (r !== 0) this.#retry(r, name, labels, 2, value, (g, s, t) => ex.engineMetricsObserve(g, s, value, t));
    } catch (err) {
      if (!isTrap(err)) throw err;
      recover(err);
      this.observe(name, value, labels);
    }
  }

  /**
   * Records one response time in ms: O(1). Keeps the last `windowSize`
   * samples, sets gauge `response_time_ms` to `Math.round(mean)` like the
   * original, and observes histogram `http_request_duration_ms`.
   * @throws RangeError for NaN, negative or infinite durations (the original
   *   accepted them and they corrupted its mean); nothing is recorded then.
   */
  recordResponseTime(ms: number): void {
    if (typeof ms !== 'number') {
      throw new TypeError(`bounded-services/metrics: response time must be a number of ms, got ${describe(ms)}`);
    }
    // No clock read: the window does not need one (NaN keeps the last time).
    this.#guard(() => {
      const reg = this.#registry();
      if (ex.engineMetricsRecordResponseTime(reg, ms, NaN) < 0) throw failure();
    });
  }

  /**
   * Exact nearest-rank percentile of the window, as the original:
   * `sorted[ceil(p / 100 * n) - 1]`, 0 when empty or out of range. No sort
   * per call.
   * @throws RangeError for `p` NaN or outside [0, 100].
   */
  getPercentile(p: number): number {
    if (typeof p !== 'number') {
      throw new TypeError(`bounded-services/metrics: percentile must be a number, got ${describe(p)}`);
    }
    return this.#guard(() => {
      const reg = this.#registry();
      const v = ex.engineMetricsPercentile(reg, p);
      if (Number.isNaN(v)) throw failure();
      return v;
    });
  }

  /**
   * The original's snapshot, with `requests_by_endpoint` (by route pattern)
   * and `errors_by_type` filled in. Their objects have no prototype, so a
   * route or error named `__proto__` is just a key.
   */
  getSnapshot(): MetricsSnapshot {
    return this.#guard(() => {
      const reg = this.#registry();
      const byLabel = (name: string, label: string): Record<string, number> => {
        const flat = wbg.engineMetricsSumByLabel(reg, name, label) as unknown[];
        const out = Object.create(null) as Record<string, number>;
        for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as number;
        return out;
      };
      return {
        requests_total: wbg.engineMetricsFamilySum(reg, 'http_requests_total'),
        requests_by_endpoint: byLabel('http_requests_total', 'path'),
        errors_total: wbg.engineMetricsFamilySum(reg, 'http_errors_total'),
        errors_by_type: byLabel('http_errors_total', 'error'),
        response_time_avg: wbg.engineMetricsUnlabelledValue(reg, 'response_time_ms'),
        response_time_p95: ex.engineMetricsPercentile(reg, 95),
        response_time_p99: ex.engineMetricsPercentile(reg, 99),
        active_users: wbg.engineMetricsFamilySum(reg, 'active_users'),
        database_queries: wbg.engineMetricsFamilySum(reg, 'database_queries_total'),
        timestamp: this.#now(),
      };
    });
  }

  /**
   * The Prometheus text exposition, format 0.0.4 (serve it with
   * {@link PROMETHEUS_CONTENT_TYPE}): per metric one `# HELP` and `# TYPE`
   * line, then its series sorted by labels; label values escaped; histograms
   * with cumulative `_bucket{le=...}`, `_sum`, `_count`; then gauges
   * `http_response_time_p95` and `http_response_time_p99`, as the original.
   * Stale series are dropped first.
   */
  toPrometheusFormat(): string {
    return this.#guard(() => wbg.engineMetricsEncode(this.#registry(), this.#now(), SCRAPE_EXPIRE_BUDGET));
  }

  /** Sets the `# HELP` text of a metric (`undefined` removes it). */
  setHelp(name: string, help: string | undefined): void {
    if (typeof name !== 'string' || (help !== undefined && typeof help !== 'string')) {
      throw new TypeError('bounded-services/metrics: setHelp(name: string, help: string | undefined)');
    }
    this.#guard(() => {
      if (wbg.engineMetricsSetHelp(this.#registry(), name, help) < 0) throw failure();
    });
  }

  /** Back to the seven built-in metrics at 0, with an empty window. */
  reset(): void {
    this.#guard(() => {
      const reg = this.#registry();
      ex.engineMetricsReset(reg);
    });
    this.#forget();
  }

  /** Sizes and counters of the collector. */
  getStats(): {
    metrics_count: number;
    series_count: number;
    overflow_events: number;
    expired_series: number;
    response_times_count: number;
    heap_bytes_estimate: number;
  } {
    return this.#guard(() => {
      const reg = this.#registry();
      return {
        metrics_count: ex.engineMetricsStat(reg, 0),
        series_count: ex.engineMetricsStat(reg, 1),
        overflow_events: ex.engineMetricsStat(reg, 2),
        expired_series: ex.engineMetricsStat(reg, 3),
        response_times_count: ex.engineMetricsStat(reg, 4),
        heap_bytes_estimate: ex.engineMetricsStat(reg, 5),
      };
    });
  }
}

/** The module-level collector (the original's `metricsCollector`). */
export const metricsCollector = new MetricsCollector();

/** The parts of Hono's `Context` the middleware reads. */
interface HonoLikeContext {
  req: { method: string; routePath?: string; path?: string };
  res: { status: number };
  error?: unknown;
}

function errorType(err: unknown, status: number): string {
  if (err instanceof Error) return typeof err.name === 'string' && err.name !== '' ? err.name : 'Error';
  if (err !== undefined && err !== null) return typeof err;
  return `http_${status}`;
}

/**
 * Hono middleware: counts `http_requests_total{method, path}` and, for
 * failed requests, `http_errors_total{method, path, error}`, and records the
 * duration. Fixes over the original:
 * - `path` is the route pattern (`c.req.routePath`, e.g. `/api/moods/:id`),
 *   not the URL pathname, so ids do not create a series per user; requests
 *   that match no route are labelled with the pattern of the middleware.
 * - Errors are counted when Hono caught them (`c.error` is set) or the
 *   response status is 5xx, not only when `next()` throws (Hono catches
 *   handler errors itself, so the original never counted any). `error` is
 *   the error's name (`TypeError`, ...) or `http_<status>`, never its
 *   message, which would be unbounded.
 */
export function metricsMiddleware(collector: MetricsCollector = metricsCollector) {
  return async (c: HonoLikeContext, next: () => Promise<void>): Promise<void> => {
    const start = Date.now();
    let thrown: unknown;
    let threw = false;
    try {
      await next();
    } catch (err) {
      thrown = err;
      threw = true;
    }
    const duration = Date.now() - start;
    const method = c.req.method;
    const path = c.req.routePath ?? 'unknown';
    const status = threw ? 500 : c.res.status;
    // Metrics must never fail a request (e.g. a label over the limits), and
    // one refused update must not cost the others: each step on its own.
    try {
      collector.increment('http_requests_total', 1, { method, path });
    } catch {
      // ignored, see above
    }
    const err = threw ? thrown : c.error;
    if (err !== undefined || status >= 500) {
      try {
        collector.increment('http_errors_total', 1, { method, path, error: errorType(err, status) });
      } catch {
        // ignored, see above
      }
    }
    try {
      collector.recordResponseTime(Math.max(0, duration));
    } catch {
      // ignored, see above
    }
    if (threw) throw thrown;
  };
}

export { getMemoryStats, type MemoryStats } from './memory.js';
