// Single-flight loading for `getOrLoad`: concurrent callers of one key share
// one load; every write to the key that lands during the load wins over the
// load's result; the loads kept for sharing are bounded in number and time.

interface Flight {
  promise: Promise<unknown>;
  /** Set when the key was written (set, del, clear, ...) during the load. */
  stale: boolean;
  /** Drops the flight at the deadline; cleared when it settles. */
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Where a finished load stores its value (a `set` of the cache). */
export type Store<T> = (key: string, value: T, ttl: number) => void; // ttl: as given to load()

/**
 * The loads in flight of one cache. A load is shared while it is in the map:
 * until it settles, a write to its key lands, or `timeoutMs` passes (a load
 * of a cancelled request may never settle: past the deadline it is dropped,
 * so the map cannot hold it, and the next caller loads afresh). At most
 * `maxShared` loads are shared at once; past that, loads run unshared and
 * store their value only if nothing at all was written to the cache while
 * they ran (they have no entry to mark stale).
 */
export class SingleFlight {
  readonly #flights = new Map<string, Flight>();
  readonly #timeoutMs: number;
  readonly #maxShared: number;
  /** Writes seen while any load ran (what unshared loads compare). */
  #writes = 0;
  /**
   * Loads running, shared or not: while 0, a write need not tell this
   * object (the cache checks it before calling `written`).
   */
  busy = 0;

  constructor(timeoutMs: number, maxShared: number) {
    this.#timeoutMs = timeoutMs;
    this.#maxShared = maxShared;
  }

  /** Loads shared now (at most `maxShared`). */
  get shared(): number {
    return this.#flights.size;
  }

  /** Whether a load of `key` is in flight and shared. */
  has(key: string): boolean {
    return this.#flights.has(key);
  }

  /** A write to `key` landed: a load in flight for it must not store. */
  written(key: string): void {
    this.#writes++;
    const f = this.#flights.get(key);
    if (f !== undefined) this.#drop(key, f);
  }

  /** Writes to every key matched by `re` landed. */
  writtenMatching(re: RegExp): void {
    this.#writes++;
    for (const [key, f] of this.#flights) {
      re.lastIndex = 0;
      if (re.test(key)) this.#drop(key, f);
    }
  }

  /** Every key was written (clear, dispose, a lost instance). */
  writtenAll(): void {
    this.#writes++;
    for (const [key, f] of this.#flights) this.#drop(key, f);
  }

  #drop(key: string, f: Flight): void {
    f.stale = true;
    clearTimeout(f.timer);
    if (this.#flights.get(key) === f) this.#flights.delete(key);
  }

  /**
   * The value of the load in flight for `key`, or of a new load of
   * `loader()` stored with `store` when it resolves (unless written
   * meanwhile). A rejected load stores nothing; its callers see the
   * rejection.
   */
  load<T>(key: string, loader: () => T | Promise<T>, ttl: number, store: Store<T>): Promise<T> {
    const pending = this.#flights.get(key);
    if (pending !== undefined) return this.#join(key, pending, loader, ttl, store);
    if (this.#flights.size >= this.#maxShared) return this.#unsharedLoad(key, loader, ttl, store);
    return this.#start(key, loader, ttl, store);
  }

  #start<T>(key: string, loader: () => T | Promise<T>, ttl: number, store: Store<T>): Promise<T> {
    // The flight is in the map before the loader runs: a write the loader
    // makes before its first await finds it (and wins), and a loader that
    // throws at once is dropped like one that rejects.
    let settle!: { resolve(v: T): void; reject(e: unknown): void };
    const promise = new Promise<T>((resolve, reject) => (settle = { resolve, reject }));
    const flight: Flight = { promise, stale: false, timer: undefined };
    this.#flights.set(key, flight);
    flight.timer = setTimeout(() => this.#drop(key, flight), this.#timeoutMs);
    // The deadline only bounds the map; it is no reason to keep Node running.
    (flight.timer as { unref?: () => void }).unref?.();
    this.busy++;
    let started: T | Promise<T>;
    try {
      started = loader();
    } catch (err) {
      started = Promise.reject(err);
    }
    void (async () => {
      try {
        const value = await started;
        if (!flight.stale) {
          this.#drop(key, flight); // before the store: its own write must not count
          store(key, value, ttl);
        }
        settle.resolve(value);
      } catch (err) {
        settle.reject(err);
      } finally {
        this.busy--;
        this.#drop(key, flight);
      }
    })();
    return promise;
  }

  #unsharedLoad<T>(key: string, loader: () => T | Promise<T>, ttl: number, store: Store<T>): Promise<T> {
    const writes = this.#writes;
    this.busy++;
    return (async () => {
      try {
        const value = await loader();
        if (this.#writes === writes) store(key, value, ttl);
        return value;
      } finally {
        this.busy--;
      }
    })();
  }

  /**
   * Waits for a load another caller started, for at most `timeoutMs`. The
   * pending timer also matters in Cloudflare Workers: there the other caller
   * is usually another request, and a request awaiting only a promise that
   * another request settles has nothing of its own pending, so workerd may
   * cancel it as hung (a 500, seen under load). Past the deadline the joined
   * load is taken as stuck (its request may have been cancelled and will
   * never settle it): it is dropped, its late result will not be stored,
   * and this caller loads afresh.
   */
  #join<T>(key: string, flight: Flight, loader: () => T | Promise<T>, ttl: number, store: Store<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        this.#drop(key, flight);
        this.load(key, loader, ttl, store).then(resolve, reject);
      }, this.#timeoutMs);
      // Not unref'd in Node: the deadline is real work still to come (a load
      // afresh) and is cleared as soon as the joined load settles.
      flight.promise.then(
        (v) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(v as T);
        },
        (e: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }
}
