#!/usr/bin/env bash
# The package in headless Chromium, two pages, each served by a small Node
# server on 127.0.0.1 (stopped by its PID, also on failure), each writing a
# JSON result into its DOM that is checked here:
# 1. trap recovery of the facade: serves dist/ and the test-trap build
#    pkg-test/, loads tests/browser/trap-recovery.html (which compiles the
#    .wasm with WebAssembly.compileStreaming and hands it to the facade);
# 2. a real browser build: tests/browser-vite/ (both services, imported by
#    the package's name) built by plain Vite, which selects the package's
#    `browser` entry and emits the .wasm as an asset.
# Needs: bash scripts/build.sh && BS_FEATURES=test-trap bash scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

for f in dist/cache.js dist/engine.js pkg-test/bounded_services_bg.wasm pkg-test/bounded_services_bg.js; do
  if [ ! -f "$f" ]; then
    echo "browser tests: $f is missing; run: bash scripts/build.sh && BS_FEATURES=test-trap bash scripts/build.sh" >&2
    exit 1
  fi
done
chromium="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || { echo "browser tests: $chromium not found (apt-get install chromium)" >&2; exit 1; }

work=$(mktemp -d)
server_pid=
stop_server() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  server_pid=
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

# page NAME PATH [SITE_DIR]: serve (the repository, or SITE_DIR at /), load
# PATH in headless Chromium, check the page's JSON result.
page() {
  local name=$1 path=$2 site=${3:-} port=
  node tests/browser/server.mjs 0 $site >"$work/server.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening \([0-9][0-9]*\)$/\1/p' "$work/server.out")
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "$name: the static server did not start:" >&2
    cat "$work/server.out" >&2
    return 1
  fi
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --disable-background-networking --disable-component-update --disable-sync --no-first-run \
    --user-data-dir="$work/profile" --virtual-time-budget=10000 --dump-dom "http://127.0.0.1:$port$path" \
    >"$work/dom.html" 2>"$work/chromium.log" || {
    echo "$name: chromium failed (exit $?):" >&2
    tail -20 "$work/chromium.log" >&2
    stop_server
    return 1
  }
  stop_server
  node - "$name" "$work/dom.html" <<'JS'
const { readFileSync } = require('node:fs');
const [name, file] = process.argv.slice(2);
const dom = readFileSync(file, 'utf8');
const m = /<pre id="result"[^>]*>([\s\S]*?)<\/pre>/.exec(dom);
const text = m && m[1]
  .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
let result;
try {
  result = JSON.parse(text);
} catch {
  console.log(`${name}: FAIL (no result in the page: ${JSON.stringify(text ?? dom.slice(0, 500))})`);
  process.exit(1);
}
for (const [check, status] of Object.entries(result.checks)) {
  console.log(`  ${status === true ? 'ok  ' : 'FAIL'} ${check}${status === true ? '' : ` - ${status}`}`);
}
if (result.error) console.log(`  error: ${result.error}`);
if (result.facts) console.log(`  trap: ${result.facts.trap}; browser: ${result.facts.userAgent}`);
if (!result.ok) {
  console.log(`${name}: FAIL`);
  process.exit(1);
}
console.log(`${name}: PASS (${Object.keys(result.checks).length} checks in headless Chromium)`);
JS
}

page "browser trap recovery" /tests/browser/trap-recovery.html

echo "[browser] vite build of tests/browser-vite (plain Vite, the package by its name)"
mkdir -p tests/browser-vite/node_modules
ln -sfn ../../.. tests/browser-vite/node_modules/bounded-services
vite build --config tests/browser-vite/vite.config.js --outDir "$work/site"
ls "$work/site/assets" | grep -q '\.wasm$' || { echo "vite build emitted no .wasm asset" >&2; exit 1; }
if grep -rq 'readFileSync\|node:fs' "$work/site/assets"; then
  echo "vite browser build contains Node APIs (the Node entry was bundled)" >&2
  exit 1
fi
page "browser (Vite build)" / "$work/site"
