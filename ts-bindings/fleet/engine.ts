// The fleet aggregator's WebAssembly instance: the same Rust core built
// with the aggregator's exports (pkg-fleet/, `--features fleet`), so the
// package's main .wasm, which every isolate loads, does not carry them.
// Created on first use from the module `#wasm-fleet-module` provides (a
// bundler import in Workers, a file read in Node). A trap replaces the
// instance: every aggregator of the old one is then gone, and its owner
// (the Durable Object) restores it from storage.
import * as glue from '../../pkg-fleet/bounded_services_bg.js';
import type * as Raw from '../../pkg-fleet/bounded_services_raw.js';
import { fleetWasmModule } from '#wasm-fleet-module';
import { errorOf } from '../errors.js';

export { glue as fleetGlue };

type Exports = typeof Raw & { __wbindgen_start?(): void };

let ex: Exports | undefined;
let generation = 0;
let f64: Float64Array | undefined;

/** The instance's exports, made on first use. */
export function fleetEngine(): Exports {
  if (ex === undefined) {
    const instance = new WebAssembly.Instance(fleetWasmModule(), {
      './bounded_services_bg.js': glue as unknown as WebAssembly.ModuleImports,
    });
    const exports = instance.exports as unknown as Exports;
    (glue as unknown as { __wbg_set_wasm(e: unknown): void }).__wbg_set_wasm(exports);
    exports.__wbindgen_start?.();
    ex = exports;
    generation++;
    f64 = undefined;
  }
  return ex;
}

/** Which instance handles belong to (+1 per replacement). */
export function fleetGeneration(): number {
  fleetEngine();
  return generation;
}

/** Drops a trapped instance: the next call makes a fresh one. */
export function dropFleetEngine(): void {
  ex = undefined;
}

/** Numbers the last call left in the out-buffer at `ptr`. */
export function fleetOut(ptr: number, count: number): number[] {
  const e = fleetEngine();
  if (f64 === undefined || f64.length === 0) f64 = new Float64Array(e.memory.buffer);
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = f64[(ptr >>> 3) + i] as number;
  return out;
}

/** The error the last refused call left (see src/bindings/error.rs). */
export function fleetError(who: string): Error {
  return errorOf(glue.engineErrorKind(), glue.engineTakeErrorMessage(), who);
}
