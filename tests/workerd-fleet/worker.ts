// fleet-w1, -w2, -w3: three isolates (one source, three workers in one
// `wrangler dev`) shipping their collector to the same two aggregator
// shards. fleet-w1 is the primary: it forwards /w2/* and /w3/* to the
// others and serves the fleet view at /metrics/fleet (bearer token).
import { MetricsCollector, PROMETHEUS_CONTENT_TYPE } from 'bounded-services/metrics';
import { FleetShipper, fleetPrometheusText, fleetSnapshot, type NamespaceLike } from 'bounded-services/fleet';

interface Env {
  WORKER: string;
  FLEET: NamespaceLike;
  FLEET_TOKEN: string;
  W2?: { fetch(r: Request): Promise<Response> };
  W3?: { fetch(r: Request): Promise<Response> };
}
interface Ctx {
  waitUntil(p: Promise<unknown>): void;
}

const SHARDS = 2;
const collector = new MetricsCollector();
const shipper = new FleetShipper({ namespace: 'FLEET', shards: SHARDS, collector, intervalMs: 250, maxUpdates: 40 });

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

export default {
  async fetch(request: Request, env: Env, ctx: Ctx): Promise<Response> {
    const url = new URL(request.url);
    for (const [prefix, peer] of [['/w2/', env.W2], ['/w3/', env.W3]] as const) {
      if (url.pathname.startsWith(prefix) && peer) {
        return peer.fetch(new Request(new URL(url.pathname.slice(3) + url.search, url), request));
      }
    }
    switch (url.pathname) {
      case '/hit': {
        // What the middleware does, with a duration the test chose.
        const ms = Number(url.searchParams.get('ms'));
        collector.increment('http_requests_total', 1, { method: 'GET', path: '/hit', worker: env.WORKER });
        if (url.searchParams.has('error')) collector.increment('http_errors_total', 1, { method: 'GET', path: '/hit', error: 'TypeError', worker: env.WORKER });
        collector.recordResponseTime(ms);
        shipper.noteUpdate();
        shipper.maybeFlush(env, ctx);
        return json({ worker: env.WORKER });
      }
      case '/flush': {
        // Until nothing waits (bounded): what a drained isolate has sent.
        for (let i = 0; i < 30; i++) {
          await shipper.flush(env);
          if (shipper.stats().pending === 0) break;
        }
        return json({ worker: env.WORKER, stats: shipper.stats(), local: collector.getSnapshot().requests_total });
      }
      case '/abort': {
        const out = [];
        for (let s = 0; s < SHARDS; s++) {
          const stub = env.FLEET.get(env.FLEET.idFromName(`bs-fleet:${s}`) as never);
          out.push(await stub.fetch('https://fleet/abort', { method: 'POST' }).then((r) => r.status, (e: Error) => e.message));
        }
        return json(out);
      }
      case '/metrics/fleet': {
        if (request.headers.get('authorization') !== `Bearer ${env.FLEET_TOKEN}`) return new Response('unauthorized', { status: 401 });
        try {
          return new Response(await fleetPrometheusText(env.FLEET, { shards: SHARDS }), { headers: { 'content-type': PROMETHEUS_CONTENT_TYPE } });
        } catch (err) {
          return new Response(String(err), { status: 503 });
        }
      }
      case '/snapshot/fleet':
        return json(await fleetSnapshot(env.FLEET, { shards: SHARDS }));
      case '/ready':
        return json({ worker: env.WORKER });
      default:
        return new Response('not found', { status: 404 });
    }
  },
};
