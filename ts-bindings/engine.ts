// The one WebAssembly instance behind every cache and metrics collector of
// this package, the lifecycle of the objects holding state in it, and its
// recovery from traps.
//
// The instance is created lazily, on first use, with
// `new WebAssembly.Instance` from a module that the platform entry provides
// (`#wasm-module`: read from disk in Node, imported as a module by the
// bundler in Workers, fetched by `ready()` in browsers), so nothing is
// compiled from bytes in Workers and no top-level await is needed.
//
// A trap (a Rust panic with panic=abort, an out-of-memory) leaves a Wasm
// instance unusable: every later call traps again. `recover()` replaces the
// instance with a fresh one and tells every live facade object to rebuild
// its state there (what was cached is lost; the worker keeps serving).
//
// No public declaration reaches this module's: `trapStats` and `ready`
// live in traps.ts and platform.ts.
import * as glue from '../pkg/bounded_services_bg.js';
import type * as Raw from '../pkg/bounded_services_raw.js';
import { wasmModule } from '#wasm-module';
import { countTrap } from './traps.js';

/**
 * The instance's raw exports, typed by the declarations wasm-bindgen
 * generates for them: a call with the wrong number of arguments fails tsc.
 * Only the numeric ones are called on it directly (no glue in between);
 * the others go through the glue (`wbg`, glue.ts).
 */
export type EngineExports = typeof Raw & {
  engineTestTrap?(): void;
  __wbindgen_start?(): void;
};

/** What `getMemoryStats()` learns from a module-level cache or collector. */
export type InstanceFigures =
  | {
      kind: 'cache';
      entries: number;
      maxEntries: number;
      keyBytes: number;
      trackedBytes: number;
      coreBytes: number;
      policyBytes: number;
    }
  | {
      kind: 'metrics';
      metrics: number;
      series: number;
      responseTimes: number;
      coreBytes: number;
    };

/** Something holding state inside the instance. */
export interface Tracked {
  /** Called after the instance was replaced: drop every handle, start anew. */
  onEngineReset(): void;
  /** Its figures for `getMemoryStats()` (asked of module-level instances). */
  figures(): InstanceFigures;
}

/** The current instance's exports. Reassigned by `recover()`. */
export let ex: EngineExports = undefined as unknown as EngineExports;
let moduleSource: () => unknown = wasmModule;
let generation = 0;
let u32: Uint32Array | undefined;
let f64: Float64Array | undefined;
/** What `live` holds of an object: a `WeakRef`, or the object itself. */
interface Ref {
  deref(): Tracked | undefined;
}

/**
 * A weak reference where the platform has them; else a strong one.
 * Cloudflare Workers before compatibility date 2025-05-05 have neither
 * `WeakRef` nor `FinalizationRegistry`: there nothing is freed by the
 * garbage collector anyway (only by `dispose()`, which also drops this
 * reference), so holding the object strongly changes nothing else.
 */
const refTo: (owner: Tracked) => Ref =
  typeof WeakRef === 'undefined' ? (owner) => ({ deref: () => owner }) : (owner) => new WeakRef(owner);

/** Every object holding a handle of the current instance. */
const live = new Set<Ref>();

function instantiate(): void {
  const old = ex;
  const instance = new WebAssembly.Instance(moduleSource() as WebAssembly.Module, {
    './bounded_services_bg.js': glue as unknown as WebAssembly.ModuleImports,
  });
  const exports = instance.exports as unknown as EngineExports;
  (glue as unknown as { __wbg_set_wasm(e: unknown): void }).__wbg_set_wasm(exports);
  ex = exports;
  generation++;
  u32 = undefined;
  f64 = undefined;
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

interface Held {
  handle: number;
  gen: number;
  ref: Ref;
}

/**
 * The lifecycle of one kind of facade object (caches, collectors): which
 * live objects hold a handle (rebuilt after a trap), and freeing a handle
 * at once (`dispose`) or when the
 * garbage collector takes its object. A handle of an instance since
 * replaced (after a trap) is never freed: on the new instance the same
 * number may be a live object's.
 */
export class Lifecycle {
  readonly #free: (handle: number) => void;
  readonly #refs = new WeakMap<Tracked, Ref>();
  readonly #registry: FinalizationRegistry<Held> | undefined;

  /** `free` is called with a handle of the current instance. */
  constructor(free: (handle: number) => void) {
    this.#free = free;
    this.#registry =
      typeof FinalizationRegistry === 'undefined'
        ? undefined
        : new FinalizationRegistry(({ handle, gen, ref }) => {
            live.delete(ref);
            if (gen === generation) this.#freeQuietly(handle);
          });
  }

  /** `owner` now holds `handle` of the current instance. */
  adopt(owner: Tracked, handle: number): void {
    let ref = this.#refs.get(owner);
    if (ref === undefined) {
      ref = refTo(owner);
      this.#refs.set(owner, ref);
    }
    live.add(ref);
    this.#registry?.unregister(owner);
    this.#registry?.register(owner, { handle, gen: generation, ref }, owner);
  }

  /** Frees `owner`'s `handle` now and stops tracking it (dispose). */
  release(owner: Tracked, handle: number): void {
    this.#registry?.unregister(owner);
    const ref = this.#refs.get(owner);
    if (ref !== undefined) live.delete(ref);
    this.#refs.delete(owner);
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

/** The module-level cache and collector, made on demand, by kind. */
const defaults = new Map<InstanceFigures['kind'], () => Tracked>();

/**
 * Registers how to get a module-level instance (its module was imported),
 * so `getMemoryStats()` can report it without importing that module.
 */
export function provideDefault(kind: InstanceFigures['kind'], get: () => Tracked): void {
  defaults.set(kind, get);
}

/** Figures of every module-level instance of an imported module (made if need be). */
export function defaultFigures(): InstanceFigures[] {
  return [...defaults.values()].map((get) => get().figures());
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
  countTrap(err);
  replaceInstance();
}

/**
 * Runs `fn`; on a Wasm trap, recovers the instance and runs it once more (a
 * second trap propagates: an input that always traps must not loop). Hot
 * paths inline the same try/catch to save the closure.
 */
export function guarded<R>(fn: () => R): R {
  try {
    return fn();
  } catch (err) {
    if (!isTrap(err)) throw err;
    recover(err);
    return fn();
  }
}

function replaceInstance(): void {
  const before = [...live];
  live.clear();
  instantiate();
  for (const ref of before) ref.deref()?.onEngineReset();
}

export { trapStats } from './traps.js';

/** A `Uint32Array` over the current linear memory (renewed after growth). */
export function memoryU32(): Uint32Array {
  // Growing the memory detaches the old buffer, which empties its views, so
  // a non-empty view is current (reading `memory.buffer` each time is slow).
  if (u32 === undefined || u32.length === 0) u32 = new Uint32Array(ex.memory.buffer);
  return u32;
}

/**
 * Numbers the last engine call left in its out-buffer (`ptr` is the byte
 * offset it returned): structured results come back this way, so no
 * JavaScript runs during an engine call (see src/bindings/mod.rs).
 */
export function outNumbers(ptr: number, count: number): number[] {
  if (f64 === undefined || f64.length === 0) f64 = new Float64Array(ex.memory.buffer);
  const base = ptr >>> 3;
  const values = new Array<number>(count);
  for (let i = 0; i < count; i++) values[i] = f64[base + i] as number;
  return values;
}

/**
 * Test support: use another compiled module (e.g. one built with the
 * `test-trap` feature) and start a fresh instance from it.
 * @internal
 */
export function useModuleForTesting(source: () => unknown): void {
  moduleSource = source;
  if (ex !== undefined) replaceInstance();
}
