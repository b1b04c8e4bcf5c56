// The clocks the facades read. `callNow` reads `Date.now()` at every call
// (exact everywhere; the default in Node and browsers). `turnNow` reads it
// once per turn of the event loop and reuses that reading until a
// microtask clears it (the default in Cloudflare Workers, where
// `Date.now()` only advances at I/O, so the reused reading is exactly what
// `Date.now()` would return; a long synchronous stretch elsewhere sees one
// time). Both look the global `Date` up at call time, and `turnNow` reads
// at every call while fake timers (a replaced `Date` or `Date.now`) are
// installed, so test clocks work everywhere.
//
// Besides, `resolution > 0` (`ttlResolution`) reuses one reading for up to
// that many milliseconds, as lru-cache's option of that name does: a
// reading is cached and a timer clears it. The cost is precision: an entry
// may be served up to `resolution` ms after it expired. Timers need an
// event loop that runs them: keep it 0 in Cloudflare Workers (the per-turn
// clock is exact there anyway).

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

/** How a default clock reads the time: `'call'` or `'turn'` (see above). */
export type ClockMode = 'call' | 'turn';

const PlatformDate = Date;
const platformNow = Date.now;
let turnReading: number | undefined;
const endTurn = (): void => {
  turnReading = undefined;
};

/** `Date.now()`, read at this call. */
export function callNow(): number {
  return Date.now();
}

/**
 * `Date.now()`, read once per turn: the first call of a turn reads it and
 * queues a microtask that forgets it. Read at every call while the global
 * `Date` or `Date.now` is not the platform's own (fake timers).
 */
export function turnNow(): number {
  if (globalThis.Date !== PlatformDate || PlatformDate.now !== platformNow) return Date.now();
  if (turnReading === undefined) {
    turnReading = platformNow.call(PlatformDate);
    queueMicrotask(endTurn);
  }
  return turnReading;
}

/** The clock of a `clock` option (`undefined`: the platform's default). */
export function clockOf(mode: unknown, platformDefault: ClockMode, who: string): () => number {
  const m = mode ?? platformDefault;
  if (m === 'call') return callNow;
  if (m === 'turn') return turnNow;
  throw new TypeError(`${who}: option clock must be 'call' or 'turn', got ${typeof m === 'string' ? JSON.stringify(m) : typeof m}`);
}
