// How browsers get the compiled WebAssembly module: `ready()` fetches the
// `.wasm` shipped beside the package (bundlers such as Vite and webpack 5
// emit the file for the `new URL(..., import.meta.url)` pattern and rewrite
// the URL) and compiles it asynchronously, as browsers require for modules
// of this size; after that, every call is synchronous. No Node API, no
// top-level await.
const url = new URL('../pkg/bounded_services_bg.wasm', import.meta.url);

// A Vite SSR build (a Worker build such as @hono/vite-build's) resolves the
// `browser` condition and would bundle this entry, which cannot load Wasm on
// Cloudflare Workers: make that build fail, naming the fix. Vite replaces
// `import.meta.env.SSR` at build time; the import of an unresolvable
// specifier is then a build error. Elsewhere the branch is dead.
declare global {
  interface ImportMeta {
    /** Vite's build-time constants (absent elsewhere). */
    readonly env?: { readonly SSR?: boolean };
  }
}
if (import.meta.env && import.meta.env.SSR) {
  import(
    (import.meta.env.SSR &&
      'bounded-services: this Vite SSR build resolved the browser entry of the package, which cannot load WebAssembly on Cloudflare Workers. Add boundedServicesWasm() from "bounded-services/vite" to the Vite plugins, before the build plugin (README: Install and load)') as string
  ).catch(() => {});
}

let compiled: WebAssembly.Module | undefined;
let pending: Promise<void> | undefined;

/** The package's compiled `.wasm` module (after `ready()`). */
export function wasmModule(): WebAssembly.Module {
  if (compiled === undefined) {
    throw new Error('bounded-services: in a browser, `await ready()` once before the first use (it fetches and compiles the .wasm)');
  }
  return compiled;
}

/** Fetches and compiles the `.wasm` (once; again after a failure). */
export function ready(): Promise<void> {
  if (compiled !== undefined) return Promise.resolve();
  pending ??= load().catch((err: unknown) => {
    pending = undefined;
    throw err;
  });
  return pending;
}

async function load(): Promise<void> {
  const res = await fetch(url);
  const type = res.headers.get('content-type') ?? '';
  if (!res.ok || type.startsWith('text/html')) {
    throw new Error(
      `bounded-services: could not fetch ${url.href} (HTTP ${res.status}, ${type || 'no content type'}). ` +
        "With Vite's dev server, exclude the package from dependency pre-bundling: optimizeDeps: { exclude: ['bounded-services'] }",
    );
  }
  if (typeof WebAssembly.compileStreaming === 'function') {
    try {
      compiled = await WebAssembly.compileStreaming(res.clone());
      return;
    } catch (err) {
      // A server sending the .wasm without `application/wasm`: compile the bytes.
      if (!(err instanceof TypeError)) throw err;
    }
  }
  compiled = await WebAssembly.compile(await res.arrayBuffer());
}

/** The default clock of caches and collectors here. Browsers' `Date.now()` advances during synchronous work: read it at every call (exact). */
export const defaultClock = 'call' as const;
