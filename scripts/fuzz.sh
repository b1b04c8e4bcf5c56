#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time each:
# FUZZ_SECONDS (default 30) per target. Installs cargo-fuzz if missing.
#
# Works on stable Rust: cargo-fuzz passes -Z flags to rustc, which
# RUSTC_BOOTSTRAP=1 allows. AddressSanitizer is used when its runtime is
# there, else no sanitizer (FUZZ_SANITIZER overrides: address, none, ...).
# Inputs that once crashed are kept in fuzz/regressions/<target>/ and are
# replayed first; a crash writes its input to fuzz/artifacts/<target>/ and
# fails the script. The growing corpus (fuzz/corpus/) is not committed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
secs="${FUZZ_SECONDS:-30}"
# FUZZ_RUNS=N: a fixed number of inputs from a fixed seed instead of a time
# budget, so a run is reproducible (CI uses this: a build must not fail on
# whatever a random run happened to reach). Exploration is the timed mode.
runs="${FUZZ_RUNS:-}"
if [ -n "$runs" ]; then amount="$runs inputs from seed 1"; else amount="${secs}s"; fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (cargo install cargo-fuzz --locked)"
  # --locked first; if the registry mirror lacks a locked version, let
  # cargo resolve (as scripts/setup.sh does for wasm-bindgen-cli).
  cargo install --quiet cargo-fuzz --locked || cargo install --quiet cargo-fuzz
fi
export RUSTC_BOOTSTRAP=1
cd fuzz

sanitizer="${FUZZ_SANITIZER:-}"
if [ -z "$sanitizer" ]; then
  if cargo fuzz build >/dev/null 2>fuzz-build.log; then
    sanitizer=address
  else
    echo "cargo fuzz build with AddressSanitizer failed; using -s none:"
    tail -5 fuzz-build.log
    sanitizer=none
  fi
  rm -f fuzz-build.log
fi
cargo fuzz build -s "$sanitizer"

failed=0
for target in $(cargo fuzz list); do
  mkdir -p "corpus/$target" "regressions/$target"
  echo "== fuzz $target for $amount (sanitizer: $sanitizer)"
  start=$SECONDS
  # The first corpus directory receives new inputs; regressions/ is read only.
  if [ -n "$runs" ]; then
    limit=(-runs="$runs" -seed=1)
  else
    limit=(-max_total_time="$secs")
  fi
  if cargo fuzz run -s "$sanitizer" "$target" "corpus/$target" "regressions/$target" -- \
      "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      >"$target.log" 2>&1; then
    # Its own name: overwriting $runs would turn a timed run of the next
    # target into a run of this one's input count.
    executed=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$target.log" | grep -o '[0-9]*$' || true)
    echo "   ok: ${executed:-?} inputs in $((SECONDS - start))s, corpus $(ls "corpus/$target" | wc -l) files"
    rm -f "$target.log"
  else
    failed=1
    echo "   FAILED: $target (log: fuzz/$target.log, input in fuzz/artifacts/$target/)"
    grep -v '^#' "$target.log" | tail -60
  fi
done
if [ "$failed" = 0 ]; then
  echo "fuzz: PASS (every target ran $amount without a crash)"
else
  echo "fuzz: FAIL"
  exit 1
fi
