// The Hono middleware: counts requests and errors by route pattern and
// records durations, never failing a request and never dropping a count.
import type { MetricsCollector } from './collector.js';
import { metricsCollector } from './default-collector.js';

/** The parts of Hono's `Context` the middleware reads (any Hono 4). */
export interface HonoLikeContext {
  req: {
    method: string;
    /** Hono 4: the handlers that matched; `routeIndex` is the one running. */
    matchedRoutes?: ReadonlyArray<{ path: string }>;
    routeIndex?: number;
    /** Deprecated in Hono 4.8 for `routePath(c)` from `hono/route`. */
    routePath?: string;
  };
  res: { status: number };
  error?: unknown;
  /** The Worker's bindings (read by the `fleet` option). */
  env?: unknown;
  /** Hono's getter, which throws where there is none (Node). */
  executionCtx?: WaitUntilLike;
}

/** Where background work goes on Workers (the request's `ExecutionContext`). */
export interface WaitUntilLike {
  waitUntil(promise: Promise<unknown>): void;
}

/** What the `fleet` option needs of a shipper (a `FleetShipper` of `bounded-services/fleet`). */
export interface FleetShipperLike {
  noteUpdate(): void;
  maybeFlush(env?: unknown, ctx?: WaitUntilLike, now?: number): void;
}

/** Options of {@link metricsMiddleware}. */
export interface MetricsMiddlewareOptions {
  /** Where to count. Default the module-level `metricsCollector`. */
  collector?: MetricsCollector;
  /**
   * The route pattern of a request, for the `path` label. Default: the
   * pattern of the handler that ran last — the data Hono's `routePath(c)`
   * returns, read from the context so that any Hono 4 works without
   * importing `hono/route`. On Hono 4.8 and later you may pass
   * `routePath` from `hono/route` itself.
   */
  routePath?: (c: never) => string;
  /**
   * Ship this isolate's metrics to the fleet aggregators: after each
   * request the shipper counts one update and, when a flush is due, starts
   * it in `c.executionCtx.waitUntil` (with `c.env` for the binding). The
   * request itself only pays a counter and a time comparison.
   */
  fleet?: FleetShipperLike;
}

/** Label value used when a route pattern or error name is too long to be one. */
export const OVERLONG_LABEL_VALUE = 'bs_overlong';

function defaultRoutePath(c: HonoLikeContext): string {
  const req = c.req;
  const routes = req.matchedRoutes;
  const i = req.routeIndex;
  if (routes !== undefined && typeof i === 'number') {
    const p = routes[i]?.path;
    if (typeof p === 'string') return p;
  }
  return typeof req.routePath === 'string' ? req.routePath : 'unknown';
}

/**
 * Hono's `HTTPException` (from any copy of Hono): an `Error` with a numeric
 * `status` and `getResponse()`. Tested structurally, as Hono's own error
 * handler does, because `instanceof` fails across copies (ESM and CJS).
 */
function isHttpException(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { status?: unknown; getResponse?: unknown };
  return typeof e.getResponse === 'function' && Number.isInteger(e.status);
}

/** The `error` label of a failed request. */
function errorType(err: unknown, status: number): string {
  if (err instanceof Error && !isHttpException(err)) {
    // The class name (a subclass may not set `name`), else `name`.
    const ctor = (err as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof ctor === 'string' && ctor !== '' && ctor !== 'Error') return ctor;
    return typeof err.name === 'string' && err.name !== '' ? err.name : 'Error';
  }
  if (err !== undefined && err !== null && !isHttpException(err)) return typeof err;
  return `http_${status}`;
}

/** UTF-8 length of `s` in bytes, counted without allocating. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** `value`, or {@link OVERLONG_LABEL_VALUE} when it is too long for a label. */
function fit(value: string, limit: number): string {
  // Each UTF-16 code unit is at most 3 UTF-8 bytes: most values skip the count.
  return value.length * 3 <= limit || utf8Length(value) <= limit ? value : OVERLONG_LABEL_VALUE;
}

/**
 * Hono middleware: counts `http_requests_total{method, path}` and, for
 * failed requests, `http_errors_total{method, path, error}`, and records the
 * duration, once `next()` has returned (a request cancelled before that is
 * not counted). Fixes over the original:
 * - `path` is the route pattern (e.g. `/api/moods/:id`), not the URL
 *   pathname, so ids do not create a series per user; a request that
 *   matched no route (a 404) gets the pattern of the middleware itself
 *   (`/*` for `app.use('*', ...)`); one rejected by an auth middleware, that
 *   middleware's pattern.
 * - A request is an error when its final status is 5xx, or a handler threw
 *   an error other than Hono's `HTTPException` (Hono catches it, so
 *   `next()` does not throw: the original never counted any). A 4xx,
 *   returned or thrown as an `HTTPException` (a 401 of `bearerAuth`), is not
 *   an error. An error that `app.onError` turned into a non-5xx response is
 *   still counted (it escaped the handler). `error` is the error's class
 *   name (`TypeError`), or `http_<status>` when there is none (a 5xx
 *   returned or thrown as an `HTTPException`), never its unbounded message.
 * - Every request is counted: a route pattern or error name longer than the
 *   collector's `maxLabelValueLength` is counted as `bs_overlong`, and the
 *   metrics never make a request fail.
 */
export function metricsMiddleware(collectorOrOptions?: MetricsCollector | MetricsMiddlewareOptions) {
  const options: MetricsMiddlewareOptions =
    collectorOrOptions === undefined
      ? {}
      : 'increment' in collectorOrOptions
        ? { collector: collectorOrOptions }
        : collectorOrOptions;
  const routePath = (options.routePath ?? defaultRoutePath) as (c: HonoLikeContext) => string;
  const explicit = options.collector;
  const fleet = options.fleet;
  if (fleet !== undefined && (fleet === null || typeof fleet.maybeFlush !== 'function')) {
    throw new TypeError('bounded-services/metrics: option fleet must be a FleetShipper');
  }
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
    const end = Date.now();
    const duration = end - start;
    // Each step on its own: one refused update must not cost the others.
    try {
      const collector = explicit ?? metricsCollector;
      const limit = collector.maxLabelValueLength;
      const method = fit(c.req.method, limit);
      let path: string;
      try {
        path = fit(routePath(c), limit);
      } catch {
        path = 'unknown';
      }
      const status = threw ? 500 : c.res.status;
      try {
        collector.increment('http_requests_total', 1, { method, path });
      } catch {
        // Never fail a request (e.g. maxMetrics reached by other names).
      }
      const err = threw ? thrown : c.error;
      const escaped = err !== undefined && err !== null && !isHttpException(err);
      if (escaped || status >= 500) {
        try {
          collector.increment('http_errors_total', 1, { method, path, error: fit(errorType(err, status), limit) });
        } catch {
          // as above
        }
      }
      try {
        collector.recordResponseTime(Math.max(0, duration));
      } catch {
        // as above
      }
    } catch {
      // A disposed collector: the request still succeeds.
    }
    if (fleet !== undefined) {
      try {
        fleet.noteUpdate();
        let ctx: WaitUntilLike | undefined;
        try {
          ctx = c.executionCtx;
        } catch {
          ctx = undefined; // no ExecutionContext (Node): the flush runs unattended
        }
        fleet.maybeFlush(c.env, ctx, end); // the reading the duration took: no clock read of its own
      } catch {
        // Shipping never fails a request.
      }
    }
    if (threw) throw thrown;
  };
}
