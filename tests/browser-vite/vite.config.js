// Plain Vite, no plugin: what a browser app of a bounded-services user has.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  logLevel: 'warn',
  build: { emptyOutDir: true },
});
