// The one WebAssembly instance behind every cache and metrics collector of
// this package, and its recovery from traps.
//
// The instance is created lazily, on first use, with
// `new WebAssembly.Instance` from a module that the platform entry provides
// (`#wasm-module`: read from disk in Node, imported as a module by the
// bundler in Workers), so nothing is compiled from bytes in Workers and no
// top-level await is needed.
//
// A trap (a Rust panic with panic=abort, an out-of-memory) leaves a Wasm
// instance unusable: every later call traps again. `recover()` replaces the
// instance with a fresh one and tells every live facade object to rebuild
// its state there (what was cached is lost; the worker keeps serving).
import * as glue from '../pkg/bounded_services_bg.js';
import { wasmModule } from '#wasm-module';

/** The numeric engine exports the facade calls directly. */
export interface EngineExports {
  readonly memory: WebAssembly.Memory;
  engineCacheNew(maxEntries: number, maxBytes: number, expireBudget: number): number;
  engineCacheFree(handle: number): void;
  engineCacheTouch(handle: number, slot: number, now: number): number;
  engineCacheMiss(handle: number): void;
  engineCacheInsert(handle: number, ttlMs: number, size: number, now: number): number;
  engineCacheUpdate(handle: number, slot: number, ttlMs: number, size: number, now: number): number;
  engineCacheRemove(handle: number, slot: number): number;
  engineCachePeek(handle: number, slot: number, now: number): number;
  engineCacheRemainingTtl(handle: number, slot: number, now: number): number;
  engineCacheCleanExpired(handle: number, now: number): number;
  engineCacheReclaim(handle: number, now: number, budget: number): number;
  engineCacheClear(handle: number): void;
  engineCacheFreedPtr(handle: number): number;
  engineCacheStat(handle: number, which: number): number;
  engineWasmMemoryBytes(): number;
  engineMetricsFree(handle: number): void;
  engineMetricsIsOverflow(handle: number, series: number): number;
  engineMetricsAdd(handle: number, series: number, amount: number, now: number): number;
  engineMetricsSetValue(handle: number, series: number, value: number, now: number): number;
  engineMetricsObserve(handle: number, series: number, value: number, now: number): number;
  engineMetricsRecordResponseTime(handle: number, ms: number, now: number): number;
  engineMetricsPercentile(handle: number, p: number): number;
  engineMetricsExpireStale(handle: number, now: number, budget: number): number;
  engineMetricsReset(handle: number): void;
  engineMetricsStat(handle: number, which: number): number;
  engineTestTrap?(): void;
  __wbindgen_start?(): void;
}

/** Something holding state inside the instance, rebuilt after a trap. */
export interface Resettable {
  /** Called after the instance was replaced: drop every handle, start anew. */
  onEngineReset(): void;
}

/**
 * The wasm-bindgen glue, bound to the current instance: use it for engine
 * functions that take or return strings or arrays (it encodes them in
 * linear memory); call the numeric ones on `ex` directly.
 */
export const wbg = glue;

/** The current instance's exports. Reassigned by `recover()`. */
export let ex: EngineExports = undefined as unknown as EngineExports;
let moduleSource: () => WebAssembly.Module = wasmModule;
let generation = 0;
let traps = 0;
let lastTrap: string | undefined;
let u32: Uint32Array | undefined;
const live = new Set<WeakRef<Resettable>>();

function instantiate(): void {
  const old = ex;
  const instance = new WebAssembly.Instance(moduleSource(), {
    './bounded_services_bg.js': glue as unknown as WebAssembly.ModuleImports,
  });
  const exports = instance.exports as unknown as EngineExports;
  (glue as unknown as { __wbg_set_wasm(e: unknown): void }).__wbg_set_wasm(exports);
  ex = exports;
  generation++;
  u32 = undefined;
  exports.__wbindgen_start?.();
  if (old !== undefined) {
    // The glue caches typed-array views of memory and renews them only once
    // they are detached; growing the old memory by 0 pages detaches them.
    try {
      old.memory.grow(0);
    } catch {
      // A memory at its maximum cannot grow; its views stay, unused.
    }
  }
}

/** Makes sure the instance exists; returns its exports. */
export function engine(): EngineExports {
  if (ex === undefined) instantiate();
  return ex;
}

/** Generation of the current instance (1 for the first; +1 per recovery). */
export function engineGeneration(): number {
  return generation;
}

/** Registers an object to rebuild after the instance is replaced. */
export function track(obj: Resettable): void {
  live.add(new WeakRef(obj));
}

/**
 * Frees the engine handle of a facade object: when the garbage collector
 * takes the object, or at once with `release` (dispose). A handle of an
 * instance since replaced (after a trap) is never freed: on the new
 * instance the same number may be a live object's.
 */
export class HandleFinalizer {
  readonly #free: (handle: number) => void;
  readonly #registry: FinalizationRegistry<{ handle: number; gen: number }> | undefined;

  /** `free` is called with a handle of the current instance. */
  constructor(free: (handle: number) => void) {
    this.#free = free;
    this.#registry =
      typeof FinalizationRegistry === 'undefined'
        ? undefined
        : new FinalizationRegistry(({ handle, gen }) => {
            if (gen === generation) this.#freeQuietly(handle);
          });
  }

  /** Frees `handle` when `owner` is garbage-collected. */
  track(owner: object, handle: number): void {
    this.#registry?.register(owner, { handle, gen: generation }, owner);
  }

  /** Stops tracking `owner` (its handle is gone or freed elsewhere). */
  forget(owner: object): void {
    this.#registry?.unregister(owner);
  }

  /** Frees `owner`'s `handle` now. */
  release(owner: object, handle: number): void {
    this.forget(owner);
    this.#freeQuietly(handle);
  }

  #freeQuietly(handle: number): void {
    try {
      this.#free(handle);
    } catch {
      // A trapped instance has nothing left to free; recovery replaces it.
    }
  }
}

/** Whether an error is a Wasm trap (the instance is then unusable). */
export function isTrap(err: unknown): boolean {
  return err instanceof WebAssembly.RuntimeError;
}

/**
 * Replaces a trapped instance with a fresh one and resets every tracked
 * object. State kept in the old instance is lost; the process keeps working.
 */
export function recover(err: unknown): void {
  traps++;
  lastTrap = err instanceof Error ? err.message : String(err);
  replaceInstance();
}

function replaceInstance(): void {
  instantiate();
  for (const ref of live) {
    const obj = ref.deref();
    if (obj === undefined) live.delete(ref);
    else obj.onEngineReset();
  }
}

/** Number of traps recovered from since start, and the last message. */
export function trapStats(): { traps: number; last_trap: string | undefined } {
  return { traps, last_trap: lastTrap };
}

/** A `Uint32Array` over the current linear memory (renewed after growth). */
export function memoryU32(): Uint32Array {
  // Growing the memory detaches the old buffer, which empties its views, so
  // a non-empty view is current (reading `memory.buffer` each time is slow).
  if (u32 === undefined || u32.length === 0) u32 = new Uint32Array(ex.memory.buffer);
  return u32;
}

/**
 * Test support: use another compiled module (e.g. one built with the
 * `test-trap` feature) and start a fresh instance from it.
 * @internal
 */
export function useModuleForTesting(source: () => WebAssembly.Module): void {
  moduleSource = source;
  if (ex !== undefined) replaceInstance();
}
