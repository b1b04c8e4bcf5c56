#!/usr/bin/env bash
# The demo (`npm start`): the example Hono worker (examples/hono-worker), on
# bounded-services, running in workerd — Cloudflare's Workers runtime, started
# locally by wrangler on 127.0.0.1 — under a short load over thousands of user
# ids; then what its cache, Wasm memory and /metrics show. Offline, loopback
# only; stops the worker when done. Under a minute once set up.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
EX=$ROOT/examples/hono-worker
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
export WRANGLER_LOG_PATH=$EX/.wrangler/logs NO_COLOR=1 FORCE_COLOR=0
REQUESTS=${DEMO_REQUESTS:-4000}
USERS=${DEMO_USERS:-5000}
T0=$SECONDS

say() { printf '[demo %3ss] %s\n' "$((SECONDS - T0))" "$*"; }

WORK=$(mktemp -d)
PID=""
cleanup() {
  local rc=$?
  if [ -n "$PID" ]; then
    kill "$PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    say "stopped workerd (pid $PID)"
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "checking the tools (scripts/setup.sh; installs only what is missing)..."
bash scripts/setup.sh 2>&1 | sed -u '/^$/d; s/^/           /'

say "building the Rust/Wasm core and the TypeScript package (about 20 s the first time)..."
bash scripts/build.sh

if [ ! -d "$EX/node_modules" ] || [ "$EX/package-lock.json" -nt "$EX/node_modules/.package-lock.json" ]; then
  say "installing the example's pinned dependencies (npm ci in examples/hono-worker)..."
  (cd "$EX" && npm ci --no-audit --no-fund --loglevel=error)
fi
mkdir -p "$WRANGLER_LOG_PATH"

say "bundling the worker with wrangler $(node -p "require('$EX/node_modules/wrangler/package.json').version")..."
rm -rf "$EX/dist/wrangler"
(cd "$EX" && node node_modules/wrangler/bin/wrangler.js deploy --dry-run --outdir dist/wrangler 2>&1 \
  | grep -E 'Total Upload' | sed 's/^/           /')

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
BASE=http://127.0.0.1:$PORT
say "starting workerd on $BASE..."
(cd "$EX" && exec node node_modules/wrangler/bin/wrangler.js dev dist/wrangler/index.js --no-bundle \
  --ip 127.0.0.1 --port "$PORT" --inspector-port 0 >"$WORK/wrangler.log" 2>&1) &
PID=$!
t=$SECONDS
until curl -fsS -o /dev/null --max-time 2 "$BASE/" 2>/dev/null; do
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/wrangler.log"; exit 1; }
  [ $((SECONDS - t)) -lt 60 ] || { cat "$WORK/wrangler.log"; echo "workerd not ready in 60 s"; exit 1; }
  sleep 0.2
done

say "sending $REQUESTS requests, 32 at a time: reads and writes of /api/moods/:userId (ids drawn from $USERS, half from a hot 100), and some failing /api/boom..."
load_rc=0
node "$EX/load.mjs" --base "$BASE" --requests "$REQUESTS" --users "$USERS" --concurrency 32 \
  --errors 20 --posts 50 --time-limit 60 --json "$WORK/load.json" || load_rc=$?

node --input-type=module - "$BASE" "$WORK/load.json" <<'EOF'
import { readFileSync } from 'node:fs';
const [base, loadPath] = process.argv.slice(2);
const load = JSON.parse(readFileSync(loadPath, 'utf8'));
const getJson = async (p) => (await fetch(base + p)).json();
const mem = await getJson('/api/health/memory');
const stats = await getJson('/api/cache/stats');
const res = await fetch(base + '/metrics');
const metrics = await res.text();
const first = load.samples[0]?.wasm_memory_bytes ?? mem.wasm_memory_bytes;
const peakCache = Math.max(...load.samples.map((s) => s.cache_size), mem.cache_size);
const mib = (b) => `${(b / 1048576).toFixed(2)} MiB`;
const later = load.samples.slice(Math.floor(load.samples.length / 2)).map((s) => s.wasm_memory_bytes);
const flat = later.every((b) => b === mem.wasm_memory_bytes);
const row = (k, v) => console.log(`  ${k.padEnd(22)} ${v}`);
console.log('\nResults (the example worker in workerd)');
row('requests served', `${load.sent} in ${(load.elapsed_ms / 1000).toFixed(1)} s (${load.requests_per_second}/s), ${load.wrong} unexpected responses`);
row('distinct users', `${load.distinct_users}`);
row('cache hit rate', `${stats.hit_rate.toFixed(1)} %  (${stats.hits} hits, ${stats.misses} misses; ${stats.db_reads} slow loads)`);
row('cache size', `${stats.total_entries} / ${stats.max_entries} entries (the bound; peak seen ${peakCache}), ${stats.evictions} LRU evictions`);
row('Wasm memory', `${mib(mem.wasm_memory_bytes)} (${mem.wasm_memory_bytes} bytes; ${mib(first)} at the first sample; ${flat ? 'flat over the second half' : 'still growing'})`);
row('metrics', `${mem.metrics_count} names, ${mem.metrics_series_count} series, ${mem.response_times_count} response times kept`);
row('errors counted', `${load.errors_sent} sent to /api/boom`);
row('latency', `p50 ${load.latency_ms.p50} ms, p95 ${load.latency_ms.p95} ms, p99 ${load.latency_ms.p99} ms (through wrangler's local proxy)`);
console.log(`\nGET /metrics  (Content-Type: ${res.headers.get('content-type')}), a few lines:`);
const wanted = [/^http_requests_total\{/, /^http_errors_total\{/, /^http_request_duration_seconds_bucket\{le="(10|50|\+Inf)"\}/, /^http_response_time_p9[59] /, /^cache_(entries|max_entries|hit_rate_percent) /];
for (const line of metrics.split('\n')) if (wanted.some((re) => re.test(line))) console.log(`  ${line}`);
// The fleet view: this isolate's changes shipped now, then the merge of
// the aggregator shards (their state persists under .wrangler/ across runs).
await fetch(base + '/api/fleet/flush');
const fleet = await (await fetch(base + '/metrics/fleet', { headers: { authorization: 'Bearer dev-only-token' } })).text();
const total = (name) => fleet.split('\n').filter((l) => l.startsWith(`${name}{`)).reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
console.log('\nGET /metrics/fleet (every isolate, merged by 2 MetricsAggregator Durable Objects; bearer token), a few lines:');
console.log(`  http_requests_total, all series: ${total('http_requests_total')} (since the aggregators' state began)`);
for (const line of fleet.split('\n')) if (/^bs_fleet_(isolates|response_time_ms\{quantile="0\.99"\}|deltas_total\{outcome="applied"\})/.test(line)) console.log(`  ${line}`);
if (load.wrong > 0) {
  console.log(`\n${load.wrong} unexpected responses, e.g. ${JSON.stringify(load.wrong_examples.slice(0, 3))}`);
}
EOF
if [ "$load_rc" -ne 0 ]; then
  echo "--- workerd log (errors) ---"
  grep -iE 'error|hung|warning' "$WORK/wrangler.log" | grep -v '/api/boom' | sed 's/\x1b\[[0-9;]*m//g' | head -10 || true
  say "the load saw unexpected responses (above)"
  exit 1
fi
say "done"
