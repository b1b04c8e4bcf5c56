#!/usr/bin/env bash
# Runs every test: the Rust core natively, the bindings in headless
# Chromium, the TypeScript package in Node (imported by its name), and the
# example worker inside workerd. Installs what it needs first.
# BS_SOAK=1 adds the long soak tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

step() { printf '\n==== %s\n' "$*"; }

step "setup"
bash scripts/setup.sh

step "cargo test (core, natively)"
cargo test --quiet

step "cargo clippy (no unwrap/expect/panic in the core)"
cargo clippy --quiet --all-targets -- -D warnings
cargo clippy --quiet --target wasm32-unknown-unknown --lib -- -D warnings
cargo clippy --quiet --target wasm32-unknown-unknown --lib --features fleet -- -D warnings

step "build (wasm-pack + tsc)"
bash scripts/build.sh
BS_FEATURES=test-trap bash scripts/build.sh

step "typecheck matrix (a consumer of the public API; bundler, node16, nodenext, node)"
bash scripts/test-types.sh

step "wasm-pack test --headless --chrome (bindings in Chromium)"
wasm-pack test --headless --chrome --mode no-install

step "headless Chromium: trap recovery, and a plain Vite browser build of both services"
bash scripts/test-browser.sh

step "TypeScript tests in Node (package imported by name)"
node --expose-gc --import tsx --test --test-concurrency=1 tests/ts/*.test.ts

if [ -f scripts/test-workerd.sh ]; then
  step "example worker in workerd"
  bash scripts/test-workerd.sh
fi
# BS_FUZZ=1: the cargo-fuzz targets, FUZZ_SECONDS (default 30) each, or
# FUZZ_RUNS inputs each from a fixed seed.
if [ "${BS_FUZZ:-}" = 1 ]; then
  step "cargo fuzz"
  bash scripts/fuzz.sh
fi
step "all tests passed"
