// Counters of the Wasm traps recovered from (see engine.ts). Its own module
// so that the public declarations re-exporting `trapStats` reach nothing of
// the engine's (generated, Wasm-typed) declarations.

let traps = 0;
let lastTrap: string | undefined;

/** @internal Counts a trap the engine recovered from. */
export function countTrap(err: unknown): void {
  traps++;
  lastTrap = err instanceof Error ? err.message : String(err);
}

/** Number of traps recovered from since start, and the last message. */
export function trapStats(): { traps: number; last_trap: string | undefined } {
  return { traps, last_trap: lastTrap };
}
