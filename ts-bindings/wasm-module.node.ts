// How Node (and Deno, Bun) get the compiled WebAssembly module: read the
// .wasm beside the package and compile it synchronously on first use.
import { readFileSync } from 'node:fs';

let compiled: WebAssembly.Module | undefined;

/** The package's compiled `.wasm` module. */
export function wasmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(
    readFileSync(new URL('../pkg/bounded_services_bg.wasm', import.meta.url)),
  );
  return compiled;
}

/** Nothing to wait for: the module is compiled on first use. */
export function ready(): Promise<void> {
  return Promise.resolve();
}

/** The default clock of caches and collectors here. Node's `Date.now()` advances during synchronous work: read it at every call (exact). */
export const defaultClock = 'call' as const;
