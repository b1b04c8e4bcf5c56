// `#wasm-module` for the browser test page (mapped by its import map). The
// page compiles the test-trap .wasm with WebAssembly.compileStreaming and
// hands it to the facade with useModuleForTesting() before first use, so
// this default is never called; if it is, the test fails loudly.
export function wasmModule() {
  throw new Error('browser test: useModuleForTesting() was not called before first use');
}
