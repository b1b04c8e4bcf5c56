// `ready()`: what the platform entry needs before first use. Its own module
// for the same reason as traps.ts: public declarations stay free of the
// engine's types.
import { defaultClock as platformClock, ready as platformReady } from '#wasm-module';
import type { ClockMode } from './clock.js';

/** The clock caches and collectors use by default on this platform. */
export const defaultClock: ClockMode = platformClock;

/**
 * Resolves once the package can be used. Needed only in browsers, where the
 * `.wasm` must be fetched and compiled asynchronously: call
 * `await ready()` once before the first cache or collector is used. In Node
 * and Cloudflare Workers it resolves at once (everything is synchronous).
 */
export function ready(): Promise<void> {
  return platformReady();
}
