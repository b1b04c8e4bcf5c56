#!/usr/bin/env bash
# Builds the Wasm package (pkg/) and the TypeScript facade (dist/).
# Set BS_FEATURES=test-trap to build the test-only trap export into
# pkg-test/ instead (used by the trap-recovery tests; never published).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

# wasm_build OUT [cargo features]: one wasm-pack build into OUT/.
wasm_build() {
  local out=$1
  shift
  local features=()
  if [ $# -gt 0 ]; then features=(-- --features "$*"); fi
  # --mode no-install: never download a tool; wasm-bindgen comes from PATH
  # (scripts/setup.sh), wasm-opt from npm's binaryen.
  wasm-pack --quiet build --release --target bundler --mode no-install \
    --out-dir "$out" --out-name bounded_services --no-pack "${features[@]}"
  rm -f "$out/.gitignore"
  # Types for the glue module the facade instantiates the .wasm with
  # (wasm-pack types only the bundler entry).
  cat > "$out/bounded_services_bg.d.ts" <<'DTS'
export * from './bounded_services.js';
export function __wbg_set_wasm(exports: unknown): void;
DTS
  # The raw exports' types under a name TypeScript resolves (it does not map
  # `x.wasm` to `x.wasm.d.ts`): the facade types the instance's exports by them.
  cp "$out/bounded_services_bg.wasm.d.ts" "$out/bounded_services_raw.d.ts"
}

out=pkg
if [ -n "${BS_FEATURES:-}" ]; then
  out=pkg-test
  wasm_build pkg-test "$BS_FEATURES"
else
  wasm_build pkg
  # The fleet aggregator's build (bounded-services/fleet): the same core
  # with the engineFleet* exports, loaded only where an aggregator runs.
  wasm_build pkg-fleet fleet
fi
if [ "$out" = pkg ]; then
  rm -rf dist  # no stale files from a removed source
  tsc -p ts-bindings/tsconfig.json
fi
