/**
 * Model of MoodMash's ORIGINAL `src/services/metrics.ts`, written from
 * /work/shared/spec/original-services.md ("`src/services/metrics.ts`"
 * section), bugs included. The original exports a singleton
 * `metricsCollector` and `metricsMiddleware()`; here
 * `createOriginalMetrics()` yields a fresh collector with an injected clock
 * and `createOriginalMiddleware(collector)` binds the middleware to it.
 *
 * Known bugs kept on purpose:
 *   - labels are merged into ONE object per metric name (not one series per
 *     label set) and that object grows without bound (seed leak #1);
 *   - the response-time window drops its oldest sample with `shift()` (O(n))
 *     and the mean is recomputed with a full `reduce` on every call;
 *   - `requests_by_endpoint` / `errors_by_type` are always `{}`;
 *   - label values are not escaped in the exposition;
 *   - the middleware never sees handler errors under Hono (Hono catches them
 *     before `next()` returns), so `http_errors_total` stays 0.
 *
 * Assumptions where the spec is silent (see README.md):
 *   - `toPrometheusFormat()` joins its lines with "\n" and has NO trailing
 *     newline; a metric whose labels object is absent or has no keys is
 *     written `name value` (no `{}`).
 *   - `getSnapshot().timestamp` is `now()` at the time of the call.
 *   - `reset()` empties the metrics Map (custom metrics included) before
 *     registering the seven initial metrics again, so their order is stable.
 *   - `getPercentile` sorts numerically ascending (`(a, b) => a - b`).
 */

import type { MiddlewareHandler } from 'hono';
import type { ClockOptions } from './clock.js';

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type Labels = Record<string, string>;

export interface Metric {
  name: string;
  type: MetricType;
  value: number;
  labels?: Labels | undefined;
  timestamp?: number;
}

export interface MetricsSnapshot {
  requests_total: number;
  requests_by_endpoint: Record<string, number>;
  errors_total: number;
  errors_by_type: Record<string, number>;
  response_time_avg: number;
  response_time_p95: number;
  response_time_p99: number;
  active_users: number;
  database_queries: number;
  timestamp: number;
}

/** Public surface of `metricsCollector` (both the original and the fix). */
export interface MetricsCollector {
  set(name: string, type: MetricType, value: number, labels?: Labels): void;
  increment(name: string, amount?: number, labels?: Labels): void;
  recordResponseTime(ms: number): void;
  getPercentile(p: number): number;
  getSnapshot(): MetricsSnapshot;
  toPrometheusFormat(): string;
  reset(): void;
  /** Read access for memory stats: `metrics.size` (report's `metrics_count`). */
  readonly metrics: ReadonlyMap<string, Metric>;
  /** Read access for memory stats: `responseTimes.length` (report's `response_times_count`). */
  readonly responseTimes: readonly number[];
}

/** Size of the response-time window (the original's `maxResponseTimes`). */
export const RESPONSE_TIME_WINDOW = 1000;

/** The seven metrics registered by the constructor and `reset()`, in order. */
export const INITIAL_METRICS: ReadonlyArray<readonly [string, MetricType]> = [
  ['http_requests_total', 'counter'],
  ['http_errors_total', 'counter'],
  ['database_queries_total', 'counter'],
  ['auth_attempts_total', 'counter'],
  ['auth_failures_total', 'counter'],
  ['active_users', 'gauge'],
  ['response_time_ms', 'gauge'],
];

export class OriginalMetricsCollector implements MetricsCollector {
  protected readonly now: () => number;
  protected readonly maxResponseTimes = RESPONSE_TIME_WINDOW;
  readonly metrics = new Map<string, Metric>();
  responseTimes: number[] = [];

  constructor(options: ClockOptions = {}) {
    this.now = options.now ?? Date.now;
    this.initializeMetrics();
  }

  protected initializeMetrics(): void {
    for (const [name, type] of INITIAL_METRICS) this.set(name, type, 0);
  }

  /** Replaces the metric (labels included); timestamp `now()`. */
  set(name: string, type: MetricType, value: number, labels?: Labels): void {
    this.metrics.set(name, { name, type, value, labels, timestamp: this.now() });
  }

  increment(name: string, amount: number = 1, labels?: Labels): void {
    const metric = this.metrics.get(name);
    if (metric) {
      metric.value += amount;
      metric.timestamp = this.now();
      // One merged object per metric name, unbounded (leak #1).
      if (labels) metric.labels = { ...metric.labels, ...labels };
    } else {
      this.set(name, 'counter', amount, labels);
    }
  }

  recordResponseTime(ms: number): void {
    this.responseTimes.push(ms);
    if (this.responseTimes.length > this.maxResponseTimes) {
      this.responseTimes.shift(); // O(n)
    }
    this.updateResponseTimeGauge();
  }

  /** Full `reduce` over the window on every call, in both versions. */
  protected updateResponseTimeGauge(): void {
    const avg = this.responseTimes.reduce((a, b) => a + b, 0) / this.responseTimes.length;
    this.set('response_time_ms', 'gauge', Math.round(avg));
  }

  getPercentile(p: number): number {
    if (this.responseTimes.length === 0) return 0;
    const sorted = [...this.responseTimes].sort((a, b) => a - b);
    const index = Math.ceil((p / 100) * sorted.length) - 1;
    return sorted[index] ?? 0;
  }

  getSnapshot(): MetricsSnapshot {
    return {
      requests_total: this.metrics.get('http_requests_total')?.value || 0,
      requests_by_endpoint: {}, // never implemented
      errors_total: this.metrics.get('http_errors_total')?.value || 0,
      errors_by_type: {}, // never implemented
      response_time_avg: this.metrics.get('response_time_ms')?.value || 0,
      response_time_p95: this.getPercentile(95),
      response_time_p99: this.getPercentile(99),
      active_users: this.metrics.get('active_users')?.value || 0,
      database_queries: this.metrics.get('database_queries_total')?.value || 0,
      timestamp: this.now(),
    };
  }

  toPrometheusFormat(): string {
    const lines: string[] = [];
    for (const metric of this.metrics.values()) {
      lines.push(`# TYPE ${metric.name} ${metric.type}`);
      if (metric.labels && Object.keys(metric.labels).length > 0) {
        // Label values are NOT escaped: `"`, `\` or a newline breaks the output.
        const labelStr = Object.entries(metric.labels)
          .map(([k, v]) => `${k}="${v}"`)
          .join(',');
        lines.push(`${metric.name}{${labelStr}} ${metric.value}`);
      } else {
        lines.push(`${metric.name} ${metric.value}`);
      }
    }
    lines.push('# TYPE http_response_time_p95 gauge');
    lines.push(`http_response_time_p95 ${this.getPercentile(95)}`);
    lines.push('# TYPE http_response_time_p99 gauge');
    lines.push(`http_response_time_p99 ${this.getPercentile(99)}`);
    return lines.join('\n'); // no trailing newline (assumption)
  }

  reset(): void {
    this.metrics.clear();
    this.responseTimes = [];
    this.initializeMetrics();
  }
}

export function createOriginalMetrics(options: ClockOptions = {}): OriginalMetricsCollector {
  return new OriginalMetricsCollector(options);
}

/** What the middleware needs from a collector. */
export type MiddlewareCollector = Pick<MetricsCollector, 'increment' | 'recordResponseTime'>;

/**
 * The original `metricsMiddleware()`, bound to `collector` instead of the
 * singleton. Notes `now()`, increments `http_requests_total` with
 * `{ method, path }` (path = URL pathname, so ids in paths make a label per
 * user), awaits `next()`, then records the duration. If `next()` throws it
 * increments `http_errors_total` with `{ path, error: message }` and rethrows
 * (no duration is recorded then — assumption: the spec records it only after
 * `next()` returns).
 *
 * Known bug kept: Hono's compose catches an `Error` thrown by a handler and
 * hands it to `app.onError`, so `next()` resolves and errors are never
 * counted. Only a thrown non-Error reaches the catch below; its "message" is
 * taken as `String(thrown)` (assumption; the spec only says `message`).
 */
export function createOriginalMiddleware(
  collector: MiddlewareCollector,
  options: ClockOptions = {},
): MiddlewareHandler {
  const now = options.now ?? Date.now;
  return async (c, next) => {
    const start = now();
    const path = new URL(c.req.url).pathname;
    collector.increment('http_requests_total', 1, { method: c.req.method, path });
    try {
      await next();
      collector.recordResponseTime(now() - start);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      collector.increment('http_errors_total', 1, { path, error: message });
      throw error;
    }
  };
}
