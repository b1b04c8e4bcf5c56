#!/usr/bin/env bash
# `npm run bench`: the benchmark suite. Writes BENCHMARKS.md and
# bench/results/latest.json. Stages (each writes bench/results/parts.tmp/*.json):
#   1. node      cache + metrics operations (mitata) and the worst single call
#                during a mass expiry, one process, every baseline side by side;
#   1b. fleet    the middleware with and without fleet shipping, a flush's
#                take and payload, an aggregator's merge, save and scrape;
#   2. memory    heap after forced GC + Wasm memory after 1M-operation soaks,
#                one child process per scenario;
#   3. footprint .wasm size, instantiation time, npm pack size;
#   3b. hitratio every eviction policy, lru-cache and libCacheSim's reference
#                policies on seeded traces (bench/hitratio/), SVG charts in
#                bench/charts/;
#   4. workerd   hot operations inside workerd (wrangler dev on 127.0.0.1),
#                stopped by a trap on exit, failure included;
#   5. report    BENCHMARKS.md + bench/results/latest.json.
# Env: BENCH_QUICK=1 (short measurements), BENCH_SKIP_SETUP=1 (no setup/build),
#      BENCH_SKIP_WORKERD=1, BENCH_SKIP_HITRATIO=1, BENCH_HITRATIO_REFRESH=1
#      (recompute libCacheSim's figures), BENCH_PORT (default 8799).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"

if [ -z "${BENCH_SKIP_SETUP:-}" ]; then
  bash scripts/setup.sh
  bash scripts/build.sh
fi

PARTS=bench/results/parts.tmp
rm -rf "$PARTS"
mkdir -p "$PARTS"
start=$(date +%s)
log() { printf '\n[bench %3ss] %s\n' "$(( $(date +%s) - start ))" "$*" >&2; }

WRANGLER_PID=""
stop_wrangler() {
  if [ -n "$WRANGLER_PID" ] && kill -0 "$WRANGLER_PID" 2>/dev/null; then
    kill "$WRANGLER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$WRANGLER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$WRANGLER_PID" 2>/dev/null || true
  fi
  WRANGLER_PID=""
}
trap stop_wrangler EXIT
trap 'exit 130' INT TERM

log "node: cache, metrics, worst case"
node --expose-gc --import tsx bench/node.ts

log "fleet: the request path with shipping, a flush, an aggregator's merge and save"
node --expose-gc --import tsx bench/fleet.ts

log "memory soaks (one process each)"
node --import tsx bench/memory.ts

log "footprint"
node --import tsx bench/footprint.ts

if [ -z "${BENCH_SKIP_HITRATIO:-}" ]; then
  log "hit ratios (every policy, lru-cache, libCacheSim; the first run takes ~15 min)"
  node --import tsx bench/hitratio.ts
fi

if [ -z "${BENCH_SKIP_WORKERD:-}" ]; then
  log "workerd (wrangler dev)"
  node --import tsx bench/workerd-driver.ts --prepare
  PORT=${BENCH_PORT:-8799}
  export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
  export WRANGLER_LOG_PATH="$ROOT/$PARTS/wrangler-logs"
  export XDG_CONFIG_HOME="$ROOT/$PARTS/xdg"
  # Run wrangler's own entry (not the npx/bin wrapper, which re-spawns node),
  # so $! is the wrangler node process that owns workerd.
  (cd bench/workerd && exec node --no-warnings --experimental-vm-modules \
      "$ROOT/node_modules/wrangler/wrangler-dist/cli.js" dev \
      --ip 127.0.0.1 --port "$PORT" --inspector-port 0 --log-level warn \
      >"$ROOT/$PARTS/wrangler.out" 2>&1) &
  WRANGLER_PID=$!
  ready=""
  for _ in $(seq 1 300); do
    if curl -sf "http://127.0.0.1:$PORT/info" -o /dev/null 2>/dev/null; then ready=1; break; fi
    kill -0 "$WRANGLER_PID" 2>/dev/null || break
    sleep 0.2
  done
  if [ -z "$ready" ]; then
    echo "wrangler dev did not become ready; its output:" >&2
    cat "$PARTS/wrangler.out" >&2 || true
    exit 1
  fi
  node --import tsx bench/workerd-driver.ts "http://127.0.0.1:$PORT"
  stop_wrangler
  rm -rf bench/workerd/.wrangler # wrangler's bundle scratch space
fi

log "report"
node --import tsx bench/report.ts "$@"
log "done: BENCHMARKS.md, bench/results/latest.json"
