// The stores shipped with the package: the Workers Cache API, Workers KV,
// and a bounded in-memory store (tests, Node, a second in-process tier).
// Each is a thin adapter: freshness lives in the entry text (envelope.ts),
// timeouts and error counting in the tiered cache.
import { BoundedCache } from '../cache/bounded-cache.js';
import type { TierStore } from './types.js';

const WHO = 'bounded-services/tiered';

/** What a KV namespace binding offers that {@link KvStore} uses. */
export interface KvNamespaceLike {
  get(key: string, options: { type: 'text'; cacheTtl?: number }): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

/** What {@link CacheApiStore} reads of a cached `Response`. */
export interface CacheResponseLike {
  text(): Promise<string>;
}

/**
 * What a Cache API `Cache` offers that {@link CacheApiStore} uses: requests
 * are given as URL strings, as `Cache` accepts, and `put` is given a
 * `Response` the store makes. (Declared without the DOM's types, so the
 * package's types need only ES2022; a `Cache` is assignable to it.)
 */
export interface CacheLike {
  match(url: string): Promise<CacheResponseLike | undefined>;
  put(url: string, response: CacheResponseLike): Promise<void>;
  delete(url: string): Promise<boolean>;
}

type Lazy<T> = T | (() => T | Promise<T>);

async function resolve<T>(v: Lazy<T>): Promise<T> {
  return typeof v === 'function' ? await (v as () => T | Promise<T>)() : v;
}

function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string') throw new TypeError(`${WHO}: prefix must be a string`);
  return prefix;
}

const encoder = new TextEncoder();

/** KV's shortest expiration and read cache TTL, in seconds. */
const KV_MIN_TTL = 60;
/** KV's longest key, in bytes. */
const KV_MAX_KEY_BYTES = 512;

export interface KvStoreOptions {
  /**
   * The KV namespace binding (`env.CACHE_KV`), or a function returning it
   * (for a store made at module scope, before `env` is known: e.g.
   * `() => env.CACHE_KV` with `import { env } from 'cloudflare:workers'`).
   */
  namespace: Lazy<KvNamespaceLike>;
  /** Prepended to every key (share a namespace between caches). Default `''`. */
  prefix?: string;
  /**
   * Seconds KV keeps an entry at most (its `expirationTtl`); the entry's
   * own life caps it too. KV's minimum of 60 s applies: a shorter-lived
   * entry stays up to 60 s, unused after its life ends. Default Infinity.
   */
  maxTtl?: number;
  /**
   * KV's read `cacheTtl` (seconds, >= 60): how long the data centre that
   * read a key may keep serving that read. Default: KV's (60 s).
   */
  cacheTtl?: number;
}

/**
 * Workers KV as a tier: global, eventually consistent (a write or delete
 * can take 60 s or more to be seen in other locations), at most one write
 * per second per key, keys up to 512 bytes (longer ones are hashed), billed
 * per read and write. Use it to share values between isolates everywhere;
 * put the Cache API before it to save reads.
 */
export class KvStore implements TierStore {
  readonly name: string = 'kv';
  readonly maxKeyBytes: number;
  readonly #ns: Lazy<KvNamespaceLike>;
  readonly #prefix: string;
  readonly #maxTtl: number;
  readonly #cacheTtl: number | undefined;

  constructor(options: KvStoreOptions) {
    if (options === null || typeof options !== 'object' || options.namespace == null) {
      throw new TypeError(`${WHO}: KvStore needs { namespace: env.YOUR_KV } (or a function returning it)`);
    }
    this.#ns = options.namespace;
    this.#prefix = checkPrefix(options.prefix ?? '');
    this.maxKeyBytes = KV_MAX_KEY_BYTES - encoder.encode(this.#prefix).length;
    if (this.maxKeyBytes < 71) throw new RangeError(`${WHO}: KvStore prefix too long (keys are at most 512 bytes)`);
    this.#maxTtl = options.maxTtl ?? Infinity;
    if (typeof this.#maxTtl !== 'number' || !(this.#maxTtl > 0)) throw new RangeError(`${WHO}: KvStore maxTtl must be > 0 seconds`);
    if (options.cacheTtl !== undefined && !(typeof options.cacheTtl === 'number' && options.cacheTtl >= KV_MIN_TTL)) {
      throw new RangeError(`${WHO}: KvStore cacheTtl must be a number of seconds >= 60`);
    }
    this.#cacheTtl = options.cacheTtl;
  }

  async get(key: string): Promise<string | null> {
    const ns = await resolve(this.#ns);
    const o: { type: 'text'; cacheTtl?: number } = { type: 'text' };
    if (this.#cacheTtl !== undefined) o.cacheTtl = this.#cacheTtl;
    return ns.get(this.#prefix + key, o);
  }

  async put(key: string, text: string, ttl: number): Promise<void> {
    const ns = await resolve(this.#ns);
    const seconds = Math.min(ttl, this.#maxTtl);
    await ns.put(
      this.#prefix + key,
      text,
      Number.isFinite(seconds) ? { expirationTtl: Math.max(KV_MIN_TTL, Math.ceil(seconds)) } : undefined,
    );
  }

  async delete(key: string): Promise<void> {
    const ns = await resolve(this.#ns);
    await ns.delete(this.#prefix + key);
  }
}

export interface CacheApiStoreOptions {
  /**
   * The cache: a `Cache`, a function returning one, or a name for
   * `caches.open(name)`. Default: `caches.default`, looked up at first use.
   */
  cache?: Lazy<CacheLike> | string;
  /**
   * The URL keys live under: an entry's request URL is this plus the
   * URI-encoded key. Default `'https://bounded-services.cache/'`. Use a
   * hostname of your zone if you purge by URL.
   */
  baseUrl?: string;
  /**
   * Seconds the Cache API keeps an entry at most (its `max-age`); the
   * entry's own life caps it too. Default Infinity (a year, then).
   */
  maxTtl?: number;
}

/** The longest `max-age` written: a year. */
const MAX_AGE_CAP = 31_536_000;

/**
 * The Workers Cache API as a tier: per data centre (isolates of this
 * location share it; other locations do not see it), free, no writes limit,
 * TTL from `Cache-Control: max-age`. It works on a custom domain only: on
 * `*.workers.dev` and in the Workers playground `put` does nothing (every
 * read misses; nothing breaks). Keys are hashed past 1024 bytes.
 */
export class CacheApiStore implements TierStore {
  readonly name: string = 'cache-api';
  readonly maxKeyBytes: number = 1024;
  readonly #cache: Lazy<CacheLike> | string | undefined;
  readonly #base: string;
  readonly #maxTtl: number;
  #opened: CacheLike | undefined;

  constructor(options: CacheApiStoreOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${WHO}: CacheApiStore options must be an object`);
    this.#cache = options.cache;
    const base = options.baseUrl ?? 'https://bounded-services.cache/';
    if (typeof base !== 'string' || !/^https?:\/\/[^/]+\//.test(base)) {
      throw new TypeError(`${WHO}: CacheApiStore baseUrl must be an http(s) URL ending in a path, e.g. 'https://cache.example.com/'`);
    }
    this.#base = base;
    this.#maxTtl = options.maxTtl ?? Infinity;
    if (typeof this.#maxTtl !== 'number' || !(this.#maxTtl > 0)) throw new RangeError(`${WHO}: CacheApiStore maxTtl must be > 0 seconds`);
  }

  async #open(): Promise<CacheLike> {
    if (this.#opened) return this.#opened;
    const c = this.#cache;
    const g = globalThis as { caches?: { default?: CacheLike; open(name: string): Promise<CacheLike> } };
    let cache: CacheLike;
    if (typeof c === 'string' || c === undefined) {
      if (!g.caches) throw new Error(`${WHO}: CacheApiStore needs the Cache API (globalThis.caches), which this runtime lacks`);
      cache = typeof c === 'string' ? await g.caches.open(c) : (g.caches.default as CacheLike);
      if (!cache) throw new Error(`${WHO}: caches.default is missing: pass { cache: 'name' } outside Workers`);
    } else {
      cache = await resolve(c);
    }
    this.#opened = cache;
    return cache;
  }

  #url(key: string): string {
    return this.#base + encodeURIComponent(key);
  }

  async get(key: string): Promise<string | null> {
    const cache = await this.#open();
    const r = await cache.match(this.#url(key));
    return r ? r.text() : null;
  }

  async put(key: string, text: string, ttl: number): Promise<void> {
    const cache = await this.#open();
    const seconds = Math.min(ttl, this.#maxTtl, MAX_AGE_CAP);
    const maxAge = Math.max(1, Math.ceil(seconds));
    await cache.put(
      this.#url(key),
      new Response(text, { headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': `max-age=${maxAge}` } }),
    );
  }

  async delete(key: string): Promise<boolean> {
    const cache = await this.#open();
    return cache.delete(this.#url(key));
  }
}

export interface MemoryStoreOptions {
  /** Entry bound (LRU beyond it). Default 10,000. */
  maxEntries?: number;
  /** Byte bound on the stored text (UTF-16 bytes). Default Infinity. */
  maxBytes?: number;
  /** Name in stats. Default `'memory'`. */
  name?: string;
  /** The clock in ms. Default `Date.now()`. */
  now?: () => number;
}

/**
 * A bounded in-memory store (a {@link BoundedCache} of entry texts): the
 * store for Node tests of tier logic, or a tier shared by several caches of
 * one process. Not shared between isolates.
 */
export class MemoryStore implements TierStore {
  readonly name: string;
  readonly maxKeyBytes: number = 16_384;
  readonly #cache: BoundedCache<string>;

  constructor(options: MemoryStoreOptions = {}) {
    this.name = options.name ?? 'memory';
    this.#cache = new BoundedCache<string>({
      maxEntries: options.maxEntries ?? 10_000,
      maxBytes: options.maxBytes ?? Infinity,
      sizeCalculation: (v) => 2 * (v as string).length,
      now: options.now,
      clock: 'call',
    });
  }

  async get(key: string): Promise<string | null> {
    return this.#cache.get(key);
  }

  async put(key: string, text: string, ttl: number): Promise<void> {
    this.#cache.set(key, text, ttl);
  }

  async delete(key: string): Promise<boolean> {
    return this.#cache.del(key);
  }

  /** Entries held (expired ones until reclaimed). */
  get size(): number {
    return this.#cache.size;
  }

  /** Frees the store's Wasm-side state. */
  dispose(): void {
    this.#cache.dispose();
  }
}
