// The collector's public types: the original's shapes and the options.

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
   * Upper bounds of the buckets of every histogram of the collector,
   * strictly ascending and finite; `+Inf` is implied, so `[]` means the
   * `+Inf` bucket alone. In seconds for the built-in
   * `http_request_duration_seconds` (Prometheus' base unit), in the unit of
   * your observations for histograms made with `observe`. Default
   * prom-client's: 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10.
   */
  buckets?: number[];
  /** Longest label value, in UTF-8 bytes; longer is a RangeError. Default 1024. */
  maxLabelValueLength?: number;
  /** Most labels per series; more is a RangeError. Default 16. */
  maxLabels?: number;
  /**
   * Clock in ms for staleness and snapshots. Default: the global
   * `Date.now()`, looked up at each call (fake timers reach it).
   */
  now?: () => number;
  /**
   * How the default staleness clock (no `now`) reads `Date.now()`:
   * `'turn'` (once per turn of the event loop; the default everywhere:
   * staleness is measured in minutes, and an increment then reads no clock)
   * or `'call'` (at every call). See the cache's option of the same name.
   * `getSnapshot().timestamp` is always read at the call.
   */
  clock?: 'call' | 'turn';
}
