// The metrics collector. The registry lives in WebAssembly. The hot path
// (`increment` with the same labels, `recordResponseTime`) crosses the
// boundary with numbers only: the facade caches, per name and label set,
// the packed handle of the series it resolved once through the slower
// string path. Handles carry a generation, so a series dropped by stale
// expiry or `reset()` is detected (the Wasm side answers "stale") and
// resolved again, never confused with another.
import { MetricKind, SeriesUpdate, Status } from '../../pkg/bounded_services_bg.js';
import { engine, ex, guarded, isTrap, Lifecycle, outNumbers, recover, type InstanceFigures } from '../engine.js';
import { engineError } from '../errors.js';
import { wbg } from '../glue.js';
import { describe } from '../describe.js';
import { clockOf } from '../clock.js';
import type { Metric, MetricsOptions, MetricsSnapshot } from './types.js';
import { byLabel } from './records.js';

type Labels = Record<string, string>;
const WHO = 'bounded-services/metrics';
const TYPE_CODES = { counter: MetricKind.Counter, gauge: MetricKind.Gauge, histogram: MetricKind.Histogram } as const;
/** Upper bound on cached (name, labels) -> handle entries per collector. */
const HANDLE_CACHE_LIMIT = 16_384;
/** Stale series dropped before each scrape, at most. */
const SCRAPE_EXPIRE_BUDGET = 100_000;
/**
 * Response times staged in JavaScript before one engine call records them
 * all: a record costs a store, not a Wasm call. Every other method records
 * the staged ones first, so every read is exact.
 */
const STAGE = 256;

function disposedError(): Error {
  return new Error(`${WHO}: this collector was disposed; use a live one`);
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Handle cache: a trie, name -> (label name, label value) -> ..., ending in
 * the packed handle of the label set. Walking it with the caller's strings
 * costs one Map lookup per label and allocates nothing; a flat string key
 * would have to be built and hashed on every call (10x slower, measured).
 * - A node remembers the first label name seen after it (`name`). A
 *   caller's label names come in the same order on every call, so a step
 *   is a comparison of interned strings and one lookup of the value: ~20 ns
 *   less per update with two labels than a Map per name and a Map per
 *   value. Other names go through `others`.
 * - An edge to a label set that nothing longer extends is the handle
 *   itself, a small integer, not a node: no object per series.
 * A label set given in another key order takes another path to the same
 * handle.
 */
interface TrieNode {
  /** The handle of the label set ending here; -1: none. */
  handle: number;
  /** The label name of `values`' edges; undefined until one is remembered. */
  name: string | undefined;
  values: Map<string, TrieEdge> | undefined;
  /** Edges of any other label name: name -> value -> edge. */
  others: Map<string, Map<string, TrieEdge>> | undefined;
}

/** A node, or the handle of a label set that ends there and goes no further. */
type TrieEdge = TrieNode | number;

function trieNode(handle: number): TrieNode {
  return { handle, name: undefined, values: undefined, others: undefined };
}

/** The edge from `node` along label `k` = `v`, if remembered. */
function step(node: TrieNode, k: string, v: string): TrieEdge | undefined {
  return (node.name === k ? node.values : node.others?.get(k))?.get(v);
}

/** The edges of `node` along label name `k`, made if new. */
function edgesOf(node: TrieNode, k: string): Map<string, TrieEdge> {
  if (node.name === undefined) node.name = k;
  if (node.name === k) return (node.values ??= new Map());
  const others: Map<string, Map<string, TrieEdge>> = (node.others ??= new Map());
  let edges = others.get(k);
  if (edges === undefined) others.set(k, (edges = new Map()));
  return edges;
}

/** The node at `edges[key]`, made (keeping a handle found there) if not one. */
function nodeAt(edges: Map<string, TrieEdge>, key: string): TrieNode {
  const e = edges.get(key);
  if (typeof e === 'object') return e;
  const node = trieNode(e ?? -1);
  edges.set(key, node);
  return node;
}

function checkLabels(labels: unknown): void {
  if (labels !== undefined && (labels === null || typeof labels !== 'object')) {
    throw new TypeError(`bounded-services/metrics: labels must be an object, got ${describe(labels)}`);
  }
}

function badLabel(k: string, v: unknown): TypeError {
  return new TypeError(`bounded-services/metrics: label ${JSON.stringify(k)} must be a string, got ${describe(v)}`);
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

/**
 * The options a collector keeps (to make its registry again after a trap):
 * a copy, so a caller changing its bucket array later changes nothing. The
 * core checks every option it owns; this facade only `now`, which only it
 * uses.
 */
function keptOptions(options: MetricsOptions): MetricsOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${WHO}: options must be an object`);
  }
  // Types only (numbers reach the engine as f64); the core checks ranges.
  for (const name of ['maxSeriesPerMetric', 'maxMetrics', 'windowSize', 'maxLabelValueLength', 'maxLabels'] as const) {
    const v = options[name];
    if (v !== undefined && typeof v !== 'number') {
      throw new RangeError(`${WHO}: option ${name} must be a positive integer, got ${describe(v)}`);
    }
  }
  const stale = options.staleAfterMs;
  if (stale !== undefined && typeof stale !== 'number') {
    throw new RangeError(`${WHO}: staleAfterMs must be a positive number or Infinity, got ${describe(stale)}`);
  }
  const b = options.buckets;
  if (b !== undefined && (!Array.isArray(b) || b.some((x) => typeof x !== 'number'))) {
    throw new TypeError(`${WHO}: buckets must be an array of numbers`);
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new TypeError(`${WHO}: option now must be a function returning milliseconds`);
  }
  return { ...options, ...(b === undefined ? {} : { buckets: [...b] }) };
}

/** Frees the registry of a collector the garbage collector took. */
const lifecycle = new Lifecycle((h) => ex.engineMetricsFree(h));

/** Marks the next collector constructed as the module-level one (opened lazily). */
let makingDefault = false;

/** @internal The module-level `metricsCollector`. */
export function makeDefaultCollector(): MetricsCollector {
  makingDefault = true;
  try {
    return new MetricsCollector();
  } finally {
    makingDefault = false;
  }
}

/**
 * A metrics collector with the original's surface. Bounded: at most
 * `maxMetrics` names, `maxSeriesPerMetric` label sets per name (plus one
 * overflow series), `windowSize` response times.
 *
 * Each collector holds state in WebAssembly memory, which never shrinks:
 * make collectors once, at module scope, and `dispose()` any you stop using.
 */
export class MetricsCollector {
  /** Registry handle; -1 before it is opened (the module-level one opens on first use). */
  #h = -1;
  #disposed = false;
  #options: MetricsOptions;
  #now: () => number;
  #trie = new Map<string, TrieEdge>();
  #cached = 0;
  /** `maxLabelValueLength` as the core resolved it (read when the registry is made). */
  #labelLimit = 0;
  /** The families staged response times write (named by the core). */
  #windowGauge = '';
  #windowHistogram = '';
  readonly #stage = new Float64Array(STAGE);
  /** Response times staged, not yet recorded by the engine. */
  #staged = 0;
  readonly #isDefault = makingDefault;
  /** Deltas are taken (a fleet shipper is attached): keep tracking after a rebuild. */
  #tracking = false;

  /**
   * Options are checked at once, by the core (bucket bounds included); the
   * registry is created then, except for the module-level
   * `metricsCollector`, which is created on first use so that importing the
   * package instantiates nothing.
   */
  constructor(options: MetricsOptions = {}) {
    this.#options = keptOptions(options);
    this.#now = this.#options.now ?? clockOf(this.#options.clock, 'turn', WHO);
    if (!this.#isDefault) guarded(() => this.#registry());
  }

  /**
   * Replaces this collector's options (see {@link MetricsOptions}) and drops
   * all its series and samples: back to the built-in metrics at 0. For the
   * module-level `metricsCollector`, which other modules hold by reference;
   * call it once at start-up. On invalid options it throws and nothing
   * changes.
   */
  configure(options: MetricsOptions): void {
    this.#checkOpen();
    const next = keptOptions(options);
    const now = next.now ?? clockOf(next.clock, 'turn', WHO);
    // Validated by the core first: a refused configuration changes nothing.
    const h = guarded(() => this.#create(next));
    if (this.#h >= 0) lifecycle.release(this, this.#h);
    this.#options = next;
    this.#now = now;
    this.#staged = 0; // recorded into the state configure() drops
    this.#forget();
    this.#h = h;
    lifecycle.adopt(this, h);
  }

  #create(o: MetricsOptions): number {
    engine();
    const h = wbg.engineMetricsNew(
      o.maxSeriesPerMetric,
      o.maxMetrics,
      o.staleAfterMs,
      o.windowSize,
      o.maxLabelValueLength,
      o.maxLabels,
      o.buckets === undefined ? undefined : new Float64Array(o.buckets),
    );
    if (h < 0) throw engineError(WHO);
    this.#labelLimit = outNumbers(ex.engineMetricsSettings(h), 1)[0] as number;
    const [gauge, histogram] = wbg.engineMetricsWindowFamilies().split('\n') as [string, string];
    this.#windowGauge = gauge;
    this.#windowHistogram = histogram;
    if (this.#tracking) ex.engineMetricsTrackDeltas(h);
    return h;
  }

  /**
   * @internal For `bounded-services/fleet`: from now on, keep what deltas
   * need (the durations since the last take), also across `configure()`,
   * `reset()` and a rebuild after a trap. A registry not made yet is made
   * tracking (`#create`): a shipper made at module scope instantiates no
   * WebAssembly.
   */
  trackDeltas(): void {
    this.#checkOpen();
    this.#tracking = true;
    if (this.#h >= 0) guarded(() => ex.engineMetricsTrackDeltas(this.#h));
  }

  /**
   * @internal For `bounded-services/fleet`: what changed in `shard` of
   * `shards` since the last take, as a delta (src/metrics/delta.rs), and
   * move the baseline; empty when nothing changed. With the
   * `DeltaFlags.Truncated` bit set, it stopped at `maxBytes` and more
   * changes wait.
   */
  takeDelta(isolate: string, seq: number, shard: number, shards: number, maxBytes: number): Uint8Array {
    this.#checkOpen();
    this.#flush();
    return guarded(() => {
      const reg = this.#registry();
      wbg.engineTakeErrorMessage(); // no earlier error may pass for this call's
      const bytes = wbg.engineMetricsTakeDelta(reg, isolate, seq, shard, shards, maxBytes, this.#now());
      if (bytes.length === 0 && wbg.engineErrorKind() >= 0) throw engineError(WHO);
      return bytes;
    });
  }

  /** The registry, created on first use. */
  #registry(): number {
    if (this.#h >= 0) return this.#h;
    if (this.#disposed) throw disposedError();
    const h = this.#create(this.#options);
    this.#h = h;
    lifecycle.adopt(this, h);
    return h;
  }

  #checkOpen(): void {
    if (this.#disposed) throw disposedError();
  }

  /** Records the staged response times (before any other operation). */
  #flush(): void {
    const n = this.#staged;
    if (n === 0) return;
    guarded(() => {
      const r = wbg.engineMetricsRecordResponseTimes(this.#registry(), this.#stage.subarray(0, n), NaN);
      // Taken before the check: a refused batch must not be retried forever.
      this.#staged = 0;
      if (r < 0) throw engineError(WHO);
    });
  }

  /** @internal Rebuilds after the Wasm instance was replaced (state lost). */
  onEngineReset(): void {
    this.#h = -1;
    this.#forget();
  }

  /** @internal Figures for `getMemoryStats()`. */
  figures(): InstanceFigures {
    const s = this.getStats();
    return {
      kind: 'metrics',
      metrics: s.metrics_count,
      series: s.series_count,
      responseTimes: s.response_times_count,
      coreBytes: s.heap_bytes_estimate,
    };
  }

  /** Whether `dispose()` was called (every other method then throws). */
  get disposed(): boolean {
    return this.#disposed;
  }

  /**
   * Frees the collector's registry in Wasm now (the garbage collector would
   * do it later). Every method but `dispose` and `disposed` throws
   * afterwards.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#staged = 0;
    if (this.#h >= 0) lifecycle.release(this, this.#h);
    this.#h = -1;
    this.#forget();
  }

  /**
   * The packed handle of `name{labels}` for an operation of `type` (0 add,
   * 2 observe) with `value`.
   */
  #series(name: string, labels: Labels | undefined, type: SeriesUpdate, value: number, now: number): number {
    let edge = this.#trie.get(name);
    if (edge !== undefined && labels !== undefined) {
      checkLabels(labels);
      for (const k in labels) {
        if (!hasOwn.call(labels, k)) continue;
        const v = labels[k];
        if (typeof v !== 'string') throw badLabel(k, v);
        // A handle ends the path: a longer label set is not remembered.
        edge = typeof edge === 'number' ? undefined : step(edge, k, v);
        if (edge === undefined) break;
      }
    }
    if (edge !== undefined) {
      const h = typeof edge === 'number' ? edge : edge.handle;
      if (h >= 0) return h;
    }
    return this.#resolve(name, labels, type, value, now);
  }

  /**
   * Slow path: resolve through the string API and remember the handle. The
   * core checks the update of `value` first: a refused call leaves no empty
   * series behind.
   */
  #resolve(name: string, labels: Labels | undefined, type: SeriesUpdate, value: number, now: number): number {
    if (typeof name !== 'string') {
      throw new TypeError(`${WHO}: metric name must be a string, got ${describe(name)}`);
    }
    const flat = flatLabels(labels);
    const reg = this.#registry();
    const h = wbg.engineMetricsResolve(reg, name, type, value, flat, now);
    if (h < 0) throw engineError(WHO);
    // A label set folded into the overflow series is not cached: each of its
    // updates resolves again, so `overflow_events` counts every one of them,
    // whatever the cache holds.
    if (ex.engineMetricsIsOverflow(reg, h) !== 1) this.#remember(name, flat, h);
    return h;
  }

  #remember(name: string, flat: string[], h: number): void {
    if (this.#cached >= HANDLE_CACHE_LIMIT) this.#forget();
    // The edges holding the label set's last step, and its key there.
    let edges = this.#trie;
    let key = name;
    for (let i = 0; i < flat.length; i += 2) {
      edges = edgesOf(nodeAt(edges, key), flat[i] as string);
      key = flat[i + 1] as string;
    }
    const e = edges.get(key);
    if (typeof e === 'object') {
      if (e.handle < 0) this.#cached++;
      e.handle = h;
    } else {
      if (e === undefined) this.#cached++;
      edges.set(key, h);
    }
  }

  #forget(): void {
    this.#trie = new Map<string, TrieEdge>();
    this.#cached = 0;
  }

  /** A series operation's result: resolve again once if the handle went stale. */
  #retry(
    r: number,
    name: string,
    labels: Labels | undefined,
    type: SeriesUpdate,
    value: number,
    op: (reg: number, series: number, now: number) => number,
  ): void {
    if (r === Status.Stale) {
      this.#forget();
      const now = this.#now();
      r = op(this.#h, this.#series(name, labels, type, value, now), now);
    }
    if (r < 0) throw engineError(WHO);
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
      throw new TypeError(`${WHO}: type must be 'counter', 'gauge' or 'histogram', got ${describe(type)}`);
    }
    if (typeof value !== 'number') {
      throw new TypeError(`bounded-services/metrics: value must be a number, got ${describe(value)}`);
    }
    if (typeof name !== 'string') {
      throw new TypeError(`bounded-services/metrics: metric name must be a string, got ${describe(name)}`);
    }
    const flat = flatLabels(labels);
    this.#flush();
    guarded(() => {
      const reg = this.#registry();
      const h = wbg.engineMetricsSet(reg, name, code, value, flat, this.#now());
      if (h < 0) throw engineError(WHO);
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
    // Staged response times first if this touches what they write (so the
    // order of updates is kept), and only then: the middleware's increments
    // must not each cost a Wasm call for the previous request's duration.
    if (this.#staged !== 0 && (name === this.#windowGauge || name === this.#windowHistogram)) this.#flush();
    // Straight-line hot path, the trap retry inline (no closure per call).
    try {
      this.#add(name, amount, labels);
    } catch (err) {
      if (!isTrap(err)) throw err;
      recover(err);
      this.#add(name, amount, labels);
    }
  }

  #add(name: string, amount: number, labels: Labels | undefined): void {
    const reg = this.#registry();
    const now = this.#now();
    const r = ex.engineMetricsAdd(reg, this.#series(name, labels, SeriesUpdate.Add, amount, now), amount, now);
    if (r !== Status.Ok) {
      this.#retry(r, name, labels, SeriesUpdate.Add, amount, (g, s, t) => ex.engineMetricsAdd(g, s, amount, t));
    }
  }

  /** Observes `value` in the histogram `name{labels}` (created on first use). */
  observe(name: string, value: number, labels?: Labels): void {
    if (typeof value !== 'number') {
      throw new TypeError(`bounded-services/metrics: value must be a number, got ${describe(value)}`);
    }
    this.#flush();
    guarded(() => {
      const reg = this.#registry();
      const now = this.#now();
      const r = ex.engineMetricsObserve(reg, this.#series(name, labels, SeriesUpdate.Observe, value, now), value, now);
      if (r !== Status.Ok) {
        this.#retry(r, name, labels, SeriesUpdate.Observe, value, (g, s, t) => ex.engineMetricsObserve(g, s, value, t));
      }
    });
  }

  /**
   * Records one response time in ms: O(1), and usually no call into Wasm
   * (it is staged, and recorded by the 256th or before any other method of
   * the collector reads or writes what it records). Keeps the last `windowSize`
   * samples, sets gauge `response_time_ms` to `Math.round(mean)` like the
   * original, and observes `ms / 1000` in histogram
   * `http_request_duration_seconds`.
   * @throws RangeError for NaN, negative or infinite durations (the original
   *   accepted them and they corrupted its mean); nothing is recorded then.
   */
  recordResponseTime(ms: number): void {
    if (typeof ms !== 'number') {
      throw new TypeError(`bounded-services/metrics: response time must be a number of ms, got ${describe(ms)}`);
    }
    this.#checkOpen();
    // A plain duration is staged (no Wasm call; no clock read: the window
    // needs none). Anything else goes to the core at once, which records
    // or refuses it with its own message, in order.
    if (ms >= 0 && ms < Infinity) {
      this.#stage[this.#staged++] = ms;
      if (this.#staged === STAGE) this.#flush();
      return;
    }
    this.#flush();
    guarded(() => {
      const reg = this.#registry();
      if (wbg.engineMetricsRecordResponseTimes(reg, Float64Array.of(ms), NaN) < 0) throw engineError(WHO);
    });
  }

  /**
   * Exact nearest-rank percentile of the window, as the original:
   * `sorted[ceil(p / 100 * n) - 1]`, and 0 when the window is empty or that
   * rank is outside it (so `p = 0` gives 0). No sort per call.
   * @throws TypeError for a non-number `p`; RangeError for `p` NaN or
   *   outside [0, 100] (where the original returned 0).
   */
  getPercentile(p: number): number {
    if (typeof p !== 'number') {
      throw new TypeError(`bounded-services/metrics: percentile must be a number, got ${describe(p)}`);
    }
    this.#flush();
    return guarded(() => {
      const reg = this.#registry();
      const v = ex.engineMetricsPercentile(reg, p);
      if (Number.isNaN(v)) throw engineError(WHO);
      return v;
    });
  }

  /**
   * The original's snapshot, with `requests_by_endpoint` (by route pattern)
   * and `errors_by_type` filled in. Their objects have no prototype, so a
   * route or error named `__proto__` is just a key.
   */
  getSnapshot(): MetricsSnapshot {
    this.#flush();
    return guarded(() => {
      const reg = this.#registry();
      const [requests_total, errors_total, response_time_avg, response_time_p95, response_time_p99, active_users, database_queries] =
        outNumbers(ex.engineMetricsSnapshot(reg), 7) as [number, number, number, number, number, number, number];
      return {
        requests_total,
        requests_by_endpoint: byLabel(wbg.engineMetricsSumByLabel(reg, 'http_requests_total', 'path')),
        errors_total,
        errors_by_type: byLabel(wbg.engineMetricsSumByLabel(reg, 'http_errors_total', 'error')),
        response_time_avg,
        response_time_p95,
        response_time_p99,
        active_users,
        database_queries,
        // The snapshot's time is read now (the staleness clock may be the
        // turn's), unless a clock was injected.
        timestamp: this.#options.now ? this.#now() : Date.now(),
      };
    });
  }

  /**
   * The Prometheus text exposition, format 0.0.4 (serve it with
   * {@link PROMETHEUS_CONTENT_TYPE}): per metric a `# HELP` line where help
   * text is set (the built-ins have one) and a `# TYPE` line, then its
   * series sorted by labels; label values escaped; histograms with
   * cumulative `_bucket{le=...}`, `_sum`, `_count`; then gauges
   * `http_response_time_p95` and `http_response_time_p99`, as the original.
   * Stale series are dropped first.
   */
  toPrometheusFormat(): string {
    this.#flush();
    return guarded(() => wbg.engineMetricsEncode(this.#registry(), this.#now(), SCRAPE_EXPIRE_BUDGET));
  }

  /** Sets the `# HELP` text of a metric (`undefined` removes it). */
  setHelp(name: string, help: string | undefined): void {
    if (typeof name !== 'string' || (help !== undefined && typeof help !== 'string')) {
      throw new TypeError(`${WHO}: setHelp(name: string, help: string | undefined)`);
    }
    this.#flush();
    guarded(() => {
      if (wbg.engineMetricsSetHelp(this.#registry(), name, help) < 0) throw engineError(WHO);
    });
  }

  /**
   * Back to the built-in metrics at 0 (the original's seven and the
   * response-time histogram: eight), with an empty window.
   */
  reset(): void {
    this.#checkOpen();
    this.#staged = 0; // recorded, then reset: the same end state
    guarded(() => {
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
    this.#flush();
    return guarded(() => {
      const [metrics_count, series_count, overflow_events, expired_series, response_times_count, heap_bytes_estimate] =
        outNumbers(ex.engineMetricsStats(this.#registry()), 6) as [number, number, number, number, number, number];
      return { metrics_count, series_count, overflow_events, expired_series, response_times_count, heap_bytes_estimate };
    });
  }

  /** @internal The longest label value this collector accepts (UTF-8 bytes). */
  get maxLabelValueLength(): number {
    guarded(() => this.#registry());
    return this.#labelLimit;
  }
}
