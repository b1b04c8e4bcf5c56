// Vitest with @cloudflare/vitest-pool-workers: every test runs inside workerd.
// preserveSymlinks: bounded-services is a `file:` link to the repository;
// following it would serve the .wasm from a path workerd cannot load.
import { defineConfig } from 'vitest/config';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';

export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: './wrangler.toml' } })],
  resolve: { preserveSymlinks: true },
});
