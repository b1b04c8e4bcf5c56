#!/usr/bin/env bash
# Trap recovery of the facade in headless Chromium: serves dist/ and the
# test-trap build pkg-test/ from a small Node server on 127.0.0.1, loads
# tests/browser/trap-recovery.html (which compiles the .wasm with
# WebAssembly.compileStreaming and hands it to the facade), and checks the
# JSON result the page writes into its DOM.
# Needs: bash scripts/build.sh && BS_FEATURES=test-trap bash scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."

for f in dist/cache.js dist/engine.js pkg-test/bounded_services_bg.wasm pkg-test/bounded_services_bg.js; do
  if [ ! -f "$f" ]; then
    echo "browser trap recovery: $f is missing; run: bash scripts/build.sh && BS_FEATURES=test-trap bash scripts/build.sh" >&2
    exit 1
  fi
done
chromium="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || { echo "browser trap recovery: $chromium not found (apt-get install chromium)" >&2; exit 1; }

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

node tests/browser/server.mjs 0 >"$work/server.out" 2>&1 &
server_pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/^listening \([0-9][0-9]*\)$/\1/p' "$work/server.out")
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "browser trap recovery: the static server did not start:" >&2
  cat "$work/server.out" >&2
  exit 1
fi

url="http://127.0.0.1:$port/tests/browser/trap-recovery.html"
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
  --disable-background-networking --disable-component-update --disable-sync --no-first-run \
  --user-data-dir="$work/profile" --virtual-time-budget=10000 --dump-dom "$url" \
  >"$work/dom.html" 2>"$work/chromium.log" || {
  echo "browser trap recovery: chromium failed (exit $?):" >&2
  tail -20 "$work/chromium.log" >&2
  exit 1
}

node - "$work/dom.html" <<'JS'
const { readFileSync } = require('node:fs');
const dom = readFileSync(process.argv[2], 'utf8');
const m = /<pre id="result"[^>]*>([\s\S]*?)<\/pre>/.exec(dom);
const text = m && m[1]
  .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
let result;
try {
  result = JSON.parse(text);
} catch {
  console.log(`browser trap recovery: FAIL (no result in the page: ${JSON.stringify(text ?? dom.slice(0, 500))})`);
  process.exit(1);
}
for (const [name, status] of Object.entries(result.checks)) {
  console.log(`  ${status === true ? 'ok  ' : 'FAIL'} ${name}${status === true ? '' : ` - ${status}`}`);
}
console.log(`  trap: ${result.facts.trap}; browser: ${result.facts.userAgent}`);
if (!result.ok) {
  console.log('browser trap recovery: FAIL');
  process.exit(1);
}
console.log(`browser trap recovery: PASS (${Object.keys(result.checks).length} checks in headless Chromium)`);
JS
