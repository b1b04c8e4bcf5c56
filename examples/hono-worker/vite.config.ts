// The Vite build MoodMash uses (@hono/vite-build's Cloudflare Pages adapter),
// plus bounded-services' plugin, which keeps the package's .wasm a Workers
// module: it is copied next to dist/pages/_worker.js and imported from it.
import { defineConfig } from 'vite';
import build from '@hono/vite-build/cloudflare-pages';
import { boundedServicesWasm } from 'bounded-services/vite';

export default defineConfig({
  plugins: [boundedServicesWasm(), build({ outputDir: 'dist/pages' })],
});
