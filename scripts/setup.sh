#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need, skipping what is
# already present. Safe to run again. Works offline except for the package
# registries (crates.io, npm, Debian).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n[setup] %s\n' "$*"; }

# wasm-bindgen-cli must match the wasm-bindgen version in Cargo.lock exactly,
# or wasm-pack tries to download one (and fails offline).
WBG_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
WASM_PACK_VERSION=0.15.1
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WBG_VERSION" ]; then
  say "cargo install wasm-bindgen-cli $WBG_VERSION"
  # --locked first; the registry mirror may lack a locked transitive version
  # (seen: webpki-roots 1.0.11), then let cargo pick the newest that exists.
  cargo install wasm-bindgen-cli --version "=$WBG_VERSION" --locked \
    || cargo install wasm-bindgen-cli --version "=$WBG_VERSION"
fi

if [ "$(wasm-pack --version 2>/dev/null | awk '{print $2}')" != "$WASM_PACK_VERSION" ]; then
  say "cargo install wasm-pack $WASM_PACK_VERSION"
  cargo install wasm-pack --version "=$WASM_PACK_VERSION" --locked \
    || cargo install wasm-pack --version "=$WASM_PACK_VERSION"
fi

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! python3 -c 'import prometheus_client' 2>/dev/null; then
  say "pip install prometheus_client"
  python3 -m pip install -q 'prometheus_client==0.26.0'
fi
# The reference policies of the hit-ratio test and benchmark (a wheel with
# its own libraries; installs offline from PyPI).
if ! python3 -c 'import libcachesim' 2>/dev/null; then
  say "pip install libcachesim"
  python3 -m pip install -q 'libcachesim==0.3.5'
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund
fi
say "ready"
