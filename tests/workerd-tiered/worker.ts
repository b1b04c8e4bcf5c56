// The tiered cache against miniflare's Cache API and KV: one source, run as
// two workers (tiered-a, tiered-b: two isolates) sharing one KV namespace
// and, being one process, one Cache API. tiered-a forwards /peer/* to
// tiered-b. scripts/test-workerd.sh starts both in one `wrangler dev` and
// drives them with driver.mjs.
import { CacheApiStore, KvStore, TieredCache, tieredInvalidation, type TierStore } from 'bounded-services/tiered';
import { CacheKeys } from 'bounded-services/cache';

interface Env {
  WORKER: string;
  TIERED_KV: KVNamespace;
  PEER?: Fetcher;
}
interface KVNamespace {
  get(key: string, type: 'text'): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}
interface Fetcher {
  fetch(input: Request): Promise<Response>;
}
interface Ctx {
  waitUntil(p: Promise<unknown>): void;
}

// Bindings arrive with each request; the stores are made once and read it lazily.
let env: Env;
const kv = new KvStore({ namespace: () => env.TIERED_KV as never, prefix: 't:' });
const cacheApi = new CacheApiStore({ cache: 'tiered-test' });

/** A store that throws or never answers, by the mode of the request. */
let faultMode: 'throw' | 'hang' = 'throw';
const faulty: TierStore = {
  name: 'faulty',
  get: () => (faultMode === 'hang' ? new Promise<never>(() => {}) : Promise.reject(new Error('store down'))),
  put: () => (faultMode === 'hang' ? new Promise<never>(() => {}) : Promise.reject(new Error('store down'))),
  delete: () => (faultMode === 'hang' ? new Promise<never>(() => {}) : Promise.reject(new Error('store down'))),
};

const caches_ = {
  // L1 small and LRU, so a few loads evict the oldest.
  both: new TieredCache({ name: 'both', l1: { maxEntries: 4, policy: 'lru' }, stores: [cacheApi, kv] }),
  kv: new TieredCache({ name: 'kv', l1: { maxEntries: 4, policy: 'lru' }, stores: [kv] }),
  faulty: new TieredCache({ name: 'faulty', stores: [faulty, kv], storeTimeout: 200 }),
};
type Which = keyof typeof caches_;

let loads = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

async function handle(req: Request, ctx: Ctx): Promise<Response> {
  const url = new URL(req.url);
  const q = (k: string) => url.searchParams.get(k);
  const num = (k: string) => (q(k) === null ? undefined : Number(q(k)));
  const which = (q('cache') ?? 'both') as Which;
  const cache = caches_[which];
  const key = q('key') ?? 'k';
  switch (url.pathname) {
    case '/load': {
      const delay = num('delayMs') ?? 0;
      const fail = q('fail') === '1';
      const t0 = Date.now();
      const value = await cache.getOrLoad(
        key,
        async () => {
          const n = ++loads;
          if (delay > 0) await sleep(delay);
          if (fail) throw new Error('loader failed');
          return { key, by: env.WORKER, n, value: q('value') ?? 'v' };
        },
        { ttl: num('ttl'), staleWhileRevalidate: num('swr'), staleIfError: num('sie'), ctx },
      ).then(
        (v) => ({ ok: true, v }),
        (e: Error) => ({ ok: false, error: e.message }),
      );
      return json({ ...value, ms: Date.now() - t0, loads, worker: env.WORKER });
    }
    case '/fill': {
      const n = num('n') ?? 10;
      for (let i = 0; i < n; i++) await cache.getOrLoad(`fill:${i}`, async () => ({ i }), { ctx });
      return json({ filled: n });
    }
    case '/faulty': {
      faultMode = q('mode') === 'hang' ? 'hang' : 'throw';
      const t0 = Date.now();
      const v = await caches_.faulty.getOrLoad(key, async () => ({ n: ++loads }), { ctx });
      const ms = Date.now() - t0;
      await caches_.faulty.idle();
      return json({ v, ms, stats: caches_.faulty.getStats() });
    }
    case '/unserialisable': {
      const error = await cache.getOrLoad(key, async () => ({ at: new Date(0) }), { ctx }).then(
        () => null,
        (e: Error) => ({ name: e.name, message: e.message }),
      );
      await cache.idle();
      return json({ error, l1: await cache.get(key), kv: await env.TIERED_KV.get('t:' + key, 'text') });
    }
    case '/del':
      return json({ deleted: await cache.del(key) });
    case '/invalidate':
      await tieredInvalidation(cache).onMoodChange(q('user') ?? '');
      return json({ ok: true });
    case '/raw': {
      const k = q('key') ?? '';
      const c = await caches.open('tiered-test');
      const hit = await c.match(new Request('https://bounded-services.cache/' + encodeURIComponent(k)));
      return json({ kv: await env.TIERED_KV.get('t:' + k, 'text'), cacheApi: hit ? await hit.text() : null });
    }
    case '/idle':
      await Promise.all(Object.values(caches_).map((c) => c.idle()));
      return json({ ok: true });
    case '/stats':
      return json({ worker: env.WORKER, loads, stats: cache.getStats() });
    case '/keys':
      return json({ moods: CacheKeys.userMoods(q('user') ?? '') });
    default:
      return json({ error: 'no route' }, 404);
  }
}

export default {
  async fetch(req: Request, e: Env, ctx: Ctx): Promise<Response> {
    env = e;
    const url = new URL(req.url);
    if (url.pathname.startsWith('/peer/')) {
      if (!e.PEER) return json({ error: 'no peer' }, 500);
      url.pathname = url.pathname.slice('/peer'.length);
      return e.PEER.fetch(new Request(url.toString(), req));
    }
    return handle(req, ctx);
  },
};
