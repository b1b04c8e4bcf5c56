// The clock the facades read. By default every call that needs the time
// reads it (exact). `resolution > 0` reuses one reading for up to that many
// milliseconds, as lru-cache's `ttlResolution` does: a reading is cached and
// a timer clears it, so a hot loop pays ~1 ns instead of a `Date.now()`
// (~47 ns in Node). The cost is precision: an entry may be served up to
// `resolution` ms after it expired. Timers need an event loop that runs
// them: keep the default (0) in Cloudflare Workers, where `Date.now()` does
// not advance within a request anyway.

/** Returns a function reading `now`, cached for `resolution` ms when > 0. */
export function makeClock(now: () => number, resolution: number): () => number {
  if (!(resolution > 0)) return now;
  let cached: number | undefined;
  const clear = (): void => {
    cached = undefined;
  };
  return () => {
    if (cached !== undefined) return cached;
    cached = now();
    const timer = setTimeout(clear, resolution) as unknown as { unref?: () => void };
    timer.unref?.();
    return cached;
  };
}

/** Checks a `ttlResolution`-style option; returns it (default 0). */
export function checkResolution(value: unknown, who: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${who}: ttlResolution must be a finite number of ms >= 0, got ${String(value)}`);
  }
  return value;
}
