#!/usr/bin/env bash
# The package inside Cloudflare's runtime (workerd, through wrangler 4.86 on
# this machine, offline, loopback only):
#   1. builds examples/hono-worker both ways a MoodMash user can: wrangler
#      (esbuild) and Vite 6 + @hono/vite-build/cloudflare-pages with the
#      package's bounded-services/vite plugin;
#   2. for each build: starts it in workerd on 127.0.0.1 (the wrangler build
#      with `wrangler dev --no-bundle`, the Vite build with `wrangler pages
#      dev`), sends a bounded load (load.mjs: thousands of requests over
#      thousands of user ids, bounded concurrency, a hard time limit) and
#      checks (check.py) responses, the cache bound, Wasm memory after
#      warm-up, error counts, route labels, and the Prometheus text with
#      prometheus_client and promtool;
#   3. trap recovery: examples/trap-worker loads the test-trap core, traps
#      it through a route, and must keep serving;
#   4. Vitest inside workerd (tests/workerd-vitest): fake timers and the
#      per-turn clock, as an app's own tests run them;
#   5. the tiered cache (tests/workerd-tiered): two workers in one
#      `wrangler dev` sharing a KV namespace and the Cache API;
#   6. fleet metrics (tests/workerd-fleet): three workers shipping deltas to
#      two aggregator Durable Objects (with injected faults and a reset),
#      the fleet view checked, then again after a restart of workerd.
# Every server is stopped by its process id, also on failure.
# Needs scripts/setup.sh to have run (npm ci at the root, promtool,
# prometheus_client); runs `npm ci` in the example itself.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
EX=$ROOT/examples/hono-worker
TRAP=$ROOT/examples/trap-worker
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
export WRANGLER_LOG_PATH=$EX/.wrangler/logs NO_COLOR=1 FORCE_COLOR=0
# Bounds of the load (overridable for a quicker or a longer run).
WARMUP_REQUESTS=${BS_WARMUP_REQUESTS:-3000}
LOAD_REQUESTS=${BS_LOAD_REQUESTS:-5000}
CONCURRENCY=${BS_CONCURRENCY:-32}
TIME_LIMIT=${BS_LOAD_TIME_LIMIT:-120}

step() { printf '\n---- %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

WORK=$(mktemp -d)
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    # wrangler stops its workerd children when it exits; wait for it.
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
cleanup() {
  local rc=$?
  stop_server
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_server LOG URL_PATH DIR -- wrangler args...: starts wrangler in DIR
# (its .wrangler/ state stays there) as the node process itself, so its PID
# is the one to stop; waits until it answers URL_PATH.
start_server() {
  local log=$1 probe=$2 dir=$3
  shift 4
  PORT=$(free_port)
  BASE=http://127.0.0.1:$PORT
  (cd "$dir" && exec node "$EX/node_modules/wrangler/bin/wrangler.js" "$@" \
    --ip 127.0.0.1 --port "$PORT" --inspector-port 0 >"$log" 2>&1) &
  SERVER_PID=$!
  local t0=$SECONDS
  until curl -fsS -o /dev/null --max-time 2 "$BASE$probe" 2>/dev/null; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      cat "$log" >&2
      fail "wrangler exited before it was ready"
    fi
    if [ $((SECONDS - t0)) -ge 60 ]; then
      cat "$log" >&2
      fail "wrangler not ready within 60 s"
    fi
    sleep 0.2
  done
  echo "  workerd ready on $BASE (pid $SERVER_PID) in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------------------
step "build the package (pkg/, dist/) and the test-trap core (pkg-test/)"
newest_src=$(find src ts-bindings Cargo.toml Cargo.lock scripts/build.sh -type f -newer dist/index.js 2>/dev/null | head -1 || true)
if [ ! -f dist/index.js ] || [ ! -f pkg/bounded_services_bg.wasm ] || [ -n "$newest_src" ]; then
  bash scripts/build.sh
fi
if [ ! -f pkg-test/bounded_services_bg.wasm ] || [ pkg/bounded_services_bg.wasm -nt pkg-test/bounded_services_bg.wasm ]; then
  BS_FEATURES=test-trap bash scripts/build.sh
fi

step "npm ci in examples/hono-worker (bounded-services as file:../..)"
if [ ! -d "$EX/node_modules" ] || [ "$EX/package-lock.json" -nt "$EX/node_modules/.package-lock.json" ]; then
  (cd "$EX" && npm ci --no-audit --no-fund --loglevel=error)
fi
mkdir -p "$WRANGLER_LOG_PATH"
[ "$(readlink -f "$EX/node_modules/bounded-services")" = "$ROOT" ] || fail "bounded-services is not linked to the repo"
echo "  wrangler $(node "$EX/node_modules/wrangler/bin/wrangler.js" --version 2>/dev/null | tail -1), vite $(node -p "require('$EX/node_modules/vite/package.json').version"), @hono/vite-build $(node -p "require('$EX/node_modules/@hono/vite-build/package.json').version"), hono $(node -p "require('$EX/node_modules/hono/package.json').version"), node $(node --version)"

step "build 1: wrangler (esbuild) -> examples/hono-worker/dist/wrangler"
rm -rf "$EX/dist/wrangler"
(cd "$EX" && node node_modules/wrangler/bin/wrangler.js deploy --dry-run --outdir dist/wrangler 2>&1 | grep -E 'Total Upload|dry-run' | sed 's/^/  /')
WRANGLER_SCRIPT=$EX/dist/wrangler/index.js
[ -f "$WRANGLER_SCRIPT" ] || fail "wrangler build produced no index.js"

step "build 2: Vite + @hono/vite-build/cloudflare-pages -> examples/hono-worker/dist/pages"
rm -rf "$EX/dist/pages"
(cd "$EX" && node node_modules/vite/bin/vite.js build --logLevel warn)
ls -l "$EX/dist/pages" | sed 's/^/  /'
[ -f "$EX/dist/pages/_worker.js" ] || fail "vite build produced no _worker.js"
[ -f "$EX/dist/pages/bounded_services_bg.wasm" ] || fail "vite build did not copy the .wasm beside _worker.js"

step "build 3: the same Vite build without the package's plugin fails at build time, naming the fix"
# Without the plugin, Vite resolves the package's \`browser\` entry for this
# SSR build; that entry turns such a build into an error (it would fail at
# run time in workerd otherwise).
cat > "$EX/vite.no-plugin.config.mjs" <<'JS'
import { defineConfig } from 'vite';
import build from '@hono/vite-build/cloudflare-pages';
export default defineConfig({ plugins: [build({ outputDir: 'dist/no-plugin' })] });
JS
if (cd "$EX" && node node_modules/vite/bin/vite.js build --config vite.no-plugin.config.mjs --logLevel error >"$WORK/no-plugin.log" 2>&1); then
  rm -f "$EX/vite.no-plugin.config.mjs"
  fail "a Vite build without boundedServicesWasm() succeeded (it must fail at build time)"
fi
rm -f "$EX/vite.no-plugin.config.mjs"
rm -rf "$EX/dist/no-plugin"
grep -q 'boundedServicesWasm() from "bounded-services/vite"' "$WORK/no-plugin.log" \
  || { cat "$WORK/no-plugin.log" >&2; fail "the build error does not name the fix"; }
echo "  ok   fails with: $(grep -o 'bounded-services: this Vite SSR build[^.]*' "$WORK/no-plugin.log" | head -1)"

step "production builds carry no test-only export"
node --input-type=module - "$EX"/dist/wrangler/*.wasm "$EX"/dist/pages/*.wasm "$ROOT"/pkg/*.wasm <<'EOF'
import { readFileSync } from 'node:fs';
for (const f of process.argv.slice(2)) {
  const names = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(f))).map((e) => e.name);
  if (names.includes('engineTestTrap')) { console.error(`FAIL: ${f} exports engineTestTrap`); process.exit(1); }
  console.log(`  ok   ${f.replace(process.cwd() + '/', '')}: ${names.length} exports, no engineTestTrap`);
}
EOF
if grep -l "engineTestTrap\|pkg-test" "$WRANGLER_SCRIPT" "$EX/dist/pages/_worker.js" >/dev/null 2>&1; then
  # The facade's type declares the optional export; no code may call it.
  if grep -q "engineTestTrap()" "$WRANGLER_SCRIPT" "$EX/dist/pages/_worker.js"; then fail "a production bundle calls engineTestTrap"; fi
fi

# run_target NAME wrangler-args...: start (in RUN_DIR, default the example), smoke, load, check, stop.
run_target() {
  local name=$1
  shift
  step "$name: start in workerd"
  start_server "$WORK/$name.log" / "${RUN_DIR:-$EX}" -- "$@"

  step "$name: smoke"
  curl -fsS "$BASE/api/moods/smoke-1" -o /dev/null -D "$WORK/h1" || fail "GET /api/moods/smoke-1"
  curl -fsS "$BASE/api/moods/smoke-1" -o "$WORK/b2" -D "$WORK/h2" || fail "GET /api/moods/smoke-1 (2)"
  grep -qi '^x-cache: MISS' "$WORK/h1" || fail "first read should miss"
  grep -qi '^x-cache: HIT' "$WORK/h2" || fail "second read should hit"
  grep -q '"userId":"smoke-1"' "$WORK/b2" || fail "wrong body: $(cat "$WORK/b2")"
  curl -fsS -X POST -H 'content-type: application/json' -d '{"mood":"calm"}' "$BASE/api/moods/smoke-1" -o /dev/null || fail "POST"
  curl -fsS "$BASE/api/moods/smoke-1" -o /dev/null -D "$WORK/h3"
  grep -qi '^x-cache: MISS' "$WORK/h3" || fail "read after POST should miss (CacheInvalidation.onMoodChange)"
  code=$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/api/boom")
  [ "$code" = 500 ] || fail "GET /api/boom answered $code"
  echo "  ok   miss, hit, invalidation on POST, 500 from the failing route"
  # A key of this run only: the stores persist under .wrangler/ across targets and runs.
  local tk="smoke-$name-$$-$RANDOM"
  curl -fsS "$BASE/api/tiered/moods/$tk" -o /dev/null -D "$WORK/t1" || fail "GET /api/tiered/moods/$tk"
  curl -fsS "$BASE/api/tiered/moods/$tk" -o /dev/null -D "$WORK/t2" || fail "GET /api/tiered/moods/$tk (2)"
  curl -fsS -X POST "$BASE/api/tiered/moods/$tk" -o /dev/null || fail "POST /api/tiered/moods/$tk"
  curl -fsS "$BASE/api/tiered/moods/$tk" -o /dev/null -D "$WORK/t3" || fail "GET /api/tiered/moods/$tk (3)"
  grep -qi '^x-cache: MISS' "$WORK/t1" && grep -qi '^x-cache: HIT' "$WORK/t2" && grep -qi '^x-cache: MISS' "$WORK/t3" \
    || fail "tiered route: expected MISS, HIT, MISS after the POST"
  curl -fsS "$BASE/api/tiered/stats" -o "$WORK/tstats.json"
  node -e '
    const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const bad = s.tiers.slice(1).filter((t) => t.errors + t.timeouts + t.write_errors > 0);
    if (s.tiers[0].hits !== 1 || s.loads !== 2 || bad.length) { console.error("FAIL: tiered stats", JSON.stringify(s)); process.exit(1); }
    console.log(`  ok   tiered route through ${s.tiers.map((t) => t.tier).join(" -> ")}: MISS, HIT, MISS after the POST; stores written ${s.tiers.slice(1).map((t) => t.writes).join("/")} times, no store errors`);
  ' "$WORK/tstats.json" || fail "tiered stats"
  # The fleet view: a Durable Object in the wrangler build; Pages cannot define one.
  local fcode
  fcode=$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/metrics/fleet")
  if [ "$name" = wrangler-build ]; then
    [ "$fcode" = 401 ] || fail "GET /metrics/fleet without the token answered $fcode"
    curl -fsS "$BASE/api/fleet/flush" -o "$WORK/$name.flush.json" || fail "GET /api/fleet/flush"
    curl -fsS -H 'authorization: Bearer dev-only-token' "$BASE/metrics/fleet" -o "$WORK/$name.fleet.txt" || fail "GET /metrics/fleet"
    grep -q '^bs_fleet_isolates ' "$WORK/$name.fleet.txt" && grep -q '^http_requests_total{method="GET",path="/api/moods/:userId"} ' "$WORK/$name.fleet.txt" \
      || fail "fleet view lacks the isolate's requests: $(head -c 600 "$WORK/$name.fleet.txt")"
    local prc=0
    promtool check metrics <"$WORK/$name.fleet.txt" >/dev/null 2>&1 || prc=$?
    [ "$prc" = 0 ] || [ "$prc" = 3 ] || fail "promtool cannot parse the fleet view (exit $prc)"
    echo "  ok   /metrics/fleet: 401 without the token; after a flush, the isolate's requests merged by the aggregator; promtool parses it"
  else
    [ "$fcode" = 404 ] || fail "GET /metrics/fleet on Pages answered $fcode (404 expected: no Durable Object binding)"
    echo "  ok   /metrics/fleet: 404 on Pages (no Durable Object binding)"
  fi
  curl -fsS "$BASE/metrics" -o "$WORK/$name.before.txt"

  step "$name: warm-up load ($WARMUP_REQUESTS requests, concurrency $CONCURRENCY, limit ${TIME_LIMIT}s)"
  node "$EX/load.mjs" --base "$BASE" --requests "$WARMUP_REQUESTS" --users 5000 --user-offset 0 \
    --concurrency "$CONCURRENCY" --errors 20 --posts 60 --time-limit "$TIME_LIMIT" \
    --json "$WORK/$name.load1.json" || true
  local wasm_after_warmup
  wasm_after_warmup=$(curl -fsS "$BASE/api/health/memory" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).wasm_memory_bytes))')
  echo "  Wasm memory after warm-up: $wasm_after_warmup bytes"

  step "$name: measured load ($LOAD_REQUESTS requests over new user ids)"
  node "$EX/load.mjs" --base "$BASE" --requests "$LOAD_REQUESTS" --users 10000 --user-offset 100000 \
    --concurrency "$CONCURRENCY" --errors 30 --posts 100 --time-limit "$TIME_LIMIT" \
    --json "$WORK/$name.load2.json" || true
  node -e '
    for (const f of process.argv.slice(1)) {
      const d = JSON.parse(require("fs").readFileSync(f, "utf8"));
      console.log(`  ${d.sent} requests in ${d.elapsed_ms} ms (${d.requests_per_second}/s), ${d.distinct_users} users, hits ${d.hits}, misses ${d.misses}, wrong ${d.wrong}, p50 ${d.latency_ms.p50} ms, p99 ${d.latency_ms.p99} ms`);
    }' "$WORK/$name.load1.json" "$WORK/$name.load2.json"

  step "$name: checks"
  if ! python3 "$EX/check.py" "$BASE" "$WORK/$name.before.txt" "$WORK/$name.load1.json" "$WORK/$name.load2.json" "$wasm_after_warmup"; then
    echo "  --- workerd log (errors) ---" >&2
    grep -iE 'error|warning|hung' "$WORK/$name.log" | grep -v '/api/boom' | sed 's/\x1b\[[0-9;]*m//g' | head -20 >&2 || true
    fail "$name: checks failed"
  fi
  stop_server
}

# Each part runs in its own subshell (its server stopped on the way out), so
# one failing part does not hide the others' results.
FAILED=()
# BS_WORKERD_ONLY=<part name>: run that part alone (while working on it).
part() {
  local name=$1
  shift
  if [ -n "${BS_WORKERD_ONLY:-}" ] && [ "$name" != "$BS_WORKERD_ONLY" ]; then return 0; fi
  set +e
  (
    set -e
    trap stop_server EXIT
    "$@"
  )
  local rc=$?
  set -e
  [ "$rc" -eq 0 ] || FAILED+=("$name")
}

trap_recovery() {
step "trap recovery in workerd (examples/trap-worker, test-trap core)"
start_server "$WORK/trap.log" /stats "$TRAP" -- dev --config "$TRAP/wrangler.toml"
node --input-type=module - "$BASE" <<'EOF'
const base = process.argv[2];
const get = async (p) => {
  const r = await fetch(base + p, { signal: AbortSignal.timeout(10_000) });
  return { status: r.status, body: await r.json() };
};
let passed = 0;
const check = (ok, what, detail) => {
  if (!ok) { console.error(`  FAIL ${what}: ${JSON.stringify(detail)}`); process.exit(1); }
  passed++;
  console.log(`  ok   ${what}`);
};
const fill = await get('/fill?n=50');
check(fill.status === 200 && fill.body.stored === 50, 'filled 50 entries', fill);
const s0 = (await get('/stats')).body;
check(s0.test_export && s0.cache_size === 50 && s0.traps === 0 && s0.generation === 1, 'before: test-trap core loaded, 50 entries, no trap', s0);
const t = await get('/trap');
check(t.status === 200 && t.body.trapped === true, `trapped the instance (${t.body.error})`, t);
const s1 = await get('/stats');
check(s1.status === 200, 'the next request is served (200)', s1);
check(s1.body.traps === 1 && s1.body.generation === 2, 'the trap is counted in trapStats() and a fresh instance serves', s1.body);
check(s1.body.cache_size === 0 && s1.body.k0 === null, 'the cached state is lost, as documented', s1.body);
check(s1.body.max_entries === 100, 'the configured bound survives the recovery', s1.body);
const again = await get('/fill?n=20');
check(again.status === 200 && again.body.k0?.i === 0, 'the cache works again after recovery', again);
const s2 = (await get('/stats')).body;
check(s2.cache_size === 20 && s2.traps === 1, 'later requests are served normally, no further traps', s2);
const m = await fetch(base + '/metrics');
check(m.status === 200 && (await m.text()).includes('fills_total{route="/fill"} 1'), 'metrics recovered too (counted anew after the trap)', m.status);
console.log(`  ${passed} passed, 0 failed`);
EOF
stop_server
}

vitest_in_workerd() {
  step "Vitest inside workerd (tests/workerd-vitest, @cloudflare/vitest-pool-workers): test clocks and the per-turn clock"
  local dir=$ROOT/tests/workerd-vitest
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  # Vitest stops the workerd it starts when the run ends; the timeout bounds it.
  (cd "$dir" && timeout 300 node node_modules/vitest/vitest.mjs run --reporter=verbose 2>&1 | sed 's/^/  /')
}

tiered_in_workerd() {
  step "tiered cache in workerd (tests/workerd-tiered): two workers, miniflare's Cache API and KV"
  local dir=$ROOT/tests/workerd-tiered
  # The workers import the package by name: link it as an installed package would be.
  mkdir -p "$dir/node_modules"
  ln -sfn ../../.. "$dir/node_modules/bounded-services"
  rm -rf "$WORK/tiered-state"
  start_server "$WORK/tiered.log" /stats "$dir" -- dev -c "$dir/a.toml" -c "$dir/b.toml" --persist-to "$WORK/tiered-state"
  if ! timeout 120 node "$dir/driver.mjs" "$BASE"; then
    grep -iE 'error|warn' "$WORK/tiered.log" | sed 's/\x1b\[[0-9;]*m//g' | head -20 >&2 || true
    fail "tiered cache checks failed"
  fi
  stop_server
}

fleet_in_workerd() {
  step "fleet metrics in workerd (tests/workerd-fleet): three workers ship to two aggregator Durable Objects"
  local dir=$ROOT/tests/workerd-fleet
  mkdir -p "$dir/node_modules"
  ln -sfn ../../.. "$dir/node_modules/bounded-services"
  rm -rf "$WORK/fleet-state" "$dir/.expected.json"
  local configs=(-c "$dir/w1.toml" -c "$dir/w2.toml" -c "$dir/w3.toml" -c "$dir/agg.toml" --persist-to "$WORK/fleet-state")
  start_server "$WORK/fleet.log" /ready "$dir" -- dev "${configs[@]}"
  if ! timeout 180 node "$dir/driver.mjs" "$BASE" load; then
    grep -iE 'error|warn' "$WORK/fleet.log" | sed 's/\x1b\[[0-9;]*m//g' | head -20 >&2 || true
    fail "fleet checks failed"
  fi
  stop_server
  # A restart of the whole runtime: the aggregators come back from storage.
  start_server "$WORK/fleet2.log" /ready "$dir" -- dev "${configs[@]}"
  if ! timeout 60 node "$dir/driver.mjs" "$BASE" reread; then
    grep -iE 'error|warn' "$WORK/fleet2.log" | sed 's/\x1b\[[0-9;]*m//g' | head -20 >&2 || true
    fail "fleet state lost across a restart"
  fi
  stop_server
}

part "wrangler build under load" run_target "wrangler-build" dev dist/wrangler/index.js --no-bundle
# From a copy outside the example: wrangler.toml's Durable Object binding is
# the Worker's (a Pages project cannot define a Durable Object), and wrangler
# looks for a config in every parent directory.
mkdir -p "$WORK/pages-run" && cp -r "$EX/dist/pages" "$WORK/pages-run/pages"
RUN_DIR=$WORK/pages-run part "Vite (Pages) build under load" run_target "vite-pages-build" pages dev pages --compatibility-date 2025-09-01 --kv MOODS_KV
part "trap recovery" trap_recovery
part "Vitest inside workerd" vitest_in_workerd
part "tiered cache in workerd" tiered_in_workerd
part "fleet metrics in workerd" fleet_in_workerd

if [ ${#FAILED[@]} -gt 0 ]; then
  printf '\n---- workerd tests FAILED: %s\n' "$(IFS=,; echo "${FAILED[*]}" | sed 's/,/, /g')"
  exit 1
fi
step "workerd tests passed"
