// A Vite config using the plugin, type-checked against Vite's own `Plugin`
// type (with exactOptionalPropertyTypes) by scripts/test-types.sh.
import { defineConfig, type Plugin } from 'vite';
import { boundedServicesWasm } from 'bounded-services/vite';

const plugin: Plugin = boundedServicesWasm();
export default defineConfig({ plugins: [plugin, boundedServicesWasm({ allWasmImports: false })] });
