// How Workers get the fleet aggregator's compiled module (pkg-fleet/): the
// bundler imports the .wasm as a module, as for the main one.
// @ts-ignore -- resolved by the Workers bundler, not by tsc
import compiled from '../pkg-fleet/bounded_services_bg.wasm';

/** The fleet build's compiled `.wasm` module. */
export function fleetWasmModule(): WebAssembly.Module {
  return compiled as WebAssembly.Module;
}
