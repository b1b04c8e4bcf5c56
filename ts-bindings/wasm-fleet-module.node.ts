// How Node gets the fleet aggregator's compiled module (pkg-fleet/): read
// beside the package and compiled synchronously on first use.
import { readFileSync } from 'node:fs';

let compiled: WebAssembly.Module | undefined;

/** The fleet build's compiled `.wasm` module. */
export function fleetWasmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(
    readFileSync(new URL('../pkg-fleet/bounded_services_bg.wasm', import.meta.url)),
  );
  return compiled;
}
