// How Cloudflare Workers (workerd) get the compiled WebAssembly module.
// Workers forbid compiling Wasm from bytes at run time, so the `.wasm` is
// imported as a module: wrangler (esbuild) and Cloudflare's Vite plugin turn
// this import into a `WebAssembly.Module` at build time. No top-level await,
// no fetch.
// @ts-ignore -- resolved by the Workers bundler, not by tsc
import compiled from '../pkg/bounded_services_bg.wasm';

/** The package's compiled `.wasm` module. */
export function wasmModule(): WebAssembly.Module {
  return compiled as WebAssembly.Module;
}

/** Nothing to wait for: the bundler imported the module. */
export function ready(): Promise<void> {
  return Promise.resolve();
}

/** The default clock of caches and collectors here. Workers advance `Date.now()` only at I/O: one reading per turn is exact there. */
export const defaultClock = 'turn' as const;
