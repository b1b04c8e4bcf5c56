// bounded-services/vite — a Vite plugin for building a Cloudflare Worker or
// Pages `_worker.js` that uses bounded-services (e.g. with
// `@hono/vite-build/cloudflare-pages`), with Vite alone: no Cloudflare Vite
// plugin, no newer wrangler.
//
// Workers cannot compile WebAssembly from bytes at run time: the `.wasm` has
// to be uploaded as a module of the worker and imported, which gives a
// compiled `WebAssembly.Module`. Vite does not build such an import (it
// refuses `import m from './x.wasm'`). This plugin:
// - resolves the package's `#wasm-module` to its Workers entry
//   (`wasm-module.workerd.js`), whatever conditions the build uses;
// - keeps each plain `import m from '....wasm'` (no `?query`) as an
//   external import of a file beside the output chunk, and copies the
//   `.wasm` there.
// Wrangler (`wrangler pages dev|deploy`, which bundle `_worker.js`, or
// `wrangler dev|deploy` on the built script) then loads that file as a
// compiled Wasm module by its default module rules.
import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Options of {@link boundedServicesWasm}. */
export interface BoundedServicesVitePluginOptions {
  /**
   * Handle every plain `.wasm` import of the build, not only the package's
   * own. Default true (Vite cannot build any of them for Workers otherwise).
   */
  allWasmImports?: boolean;
}

/** A Vite (Rollup) plugin object; structurally a Vite `Plugin`. */
export interface BoundedServicesVitePlugin {
  name: string;
  enforce: 'pre';
  apply: 'build';
  buildStart(): void;
  resolveId(
    source: string,
    importer: string | undefined,
  ): { id: string; external: 'absolute' } | string | null;
  writeBundle(outputOptions: { dir?: string | undefined; file?: string | undefined }): void;
  renderChunk(code: string, chunk: { fileName: string }): { code: string; map: null } | null;
}

const MARK = '__bounded_services_wasm__/';
const here = dirname(fileURLToPath(import.meta.url));
const workerdEntry = resolve(here, 'wasm-module.workerd.js');
const fleetWorkerdEntry = resolve(here, 'wasm-fleet-module.workerd.js');

function stripQuery(id: string): string {
  const q = id.search(/[?#]/);
  return q < 0 ? id : id.slice(0, q);
}

/**
 * Vite plugin: builds bounded-services (and other plain `.wasm` imports)
 * for Cloudflare Workers and Pages. Put it before the build plugin:
 *
 * ```ts
 * import build from '@hono/vite-build/cloudflare-pages';
 * import { boundedServicesWasm } from 'bounded-services/vite';
 * export default defineConfig({ plugins: [boundedServicesWasm(), build()] });
 * ```
 */
export function boundedServicesWasm(options: BoundedServicesVitePluginOptions = {}): BoundedServicesVitePlugin {
  const all = options.allWasmImports ?? true;
  // Output file name -> absolute path of the .wasm copied there.
  let files = new Map<string, string>();
  const byPath = new Map<string, string>();

  function fileNameFor(path: string): string {
    const known = byPath.get(path);
    if (known !== undefined) return known;
    const base = basename(path);
    let name = base;
    for (let i = 1; files.has(name); i++) name = base.replace(/\.wasm$/, `-${i}.wasm`);
    files.set(name, path);
    byPath.set(path, name);
    return name;
  }

  return {
    name: 'bounded-services:wasm',
    enforce: 'pre',
    apply: 'build',
    buildStart() {
      files = new Map();
      byPath.clear();
    },
    resolveId(source, importer) {
      if (importer === undefined) return null;
      const from = stripQuery(importer);
      if (source === '#wasm-module' && resolve(dirname(from)) === here) return workerdEntry;
      if (source === '#wasm-fleet-module' && resolve(dirname(from)).startsWith(here)) return fleetWorkerdEntry;
      if (!source.endsWith('.wasm') || source.startsWith('\0')) return null;
      if (!all && stripQuery(from) !== workerdEntry) return null;
      if (!(source.startsWith('.') || source.startsWith('/'))) return null;
      const path = source.startsWith('/') ? source : resolve(dirname(from), source);
      return { id: MARK + fileNameFor(path), external: 'absolute' };
    },
    // Copied when the bundle is written (Vite drops emitted assets from SSR
    // builds, which is what Worker builds are).
    writeBundle(outputOptions) {
      const dir = outputOptions.dir ?? (outputOptions.file ? dirname(outputOptions.file) : undefined);
      if (dir === undefined) return;
      mkdirSync(dir, { recursive: true });
      for (const [fileName, path] of files) copyFileSync(path, resolve(dir, fileName));
    },
    renderChunk(code, chunk) {
      if (!code.includes(MARK)) return null;
      // The .wasm files are copied to the output root; point to them from the chunk.
      const depth = posix.dirname(chunk.fileName);
      const prefix = depth === '.' ? './' : posix.relative(depth, '.') + '/';
      return { code: code.split(MARK).join(prefix), map: null };
    },
  };
}

export default boundedServicesWasm;
