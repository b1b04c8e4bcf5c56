#!/usr/bin/env bash
# The typecheck matrix: tests/types/consumer.ts, which uses the whole public
# API, type-checked against the built package (dist/) by its name, with
# tsc --strict under moduleResolution bundler, node16, nodenext and node, ES
# lib only and no ambient types; and the Vite plugin against Vite's Plugin.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
# The consumer finds the package by name, as an installed dependency.
mkdir -p tests/types/node_modules
ln -sfn ../../.. tests/types/node_modules/bounded-services
failed=0
for mode in bundler node16 nodenext node; do
  if tsc -p "tests/types/tsconfig.$mode.json"; then
    echo "   ok: moduleResolution $mode"
  else
    echo "   FAILED: moduleResolution $mode"
    failed=1
  fi
done
# The README's Worker sample (the fleet section), as a user copies it, with
# Cloudflare's types and Hono's.
mkdir -p tests/types/generated
node -e '
  const fs = require("fs");
  const md = fs.readFileSync("README.md", "utf8");
  const at = md.indexOf("## `bounded-services/fleet`");
  const m = at < 0 ? null : /```ts[^\n]*\n([\s\S]*?)```/.exec(md.slice(at));
  if (!m) { console.error("README: no ts sample in the fleet section"); process.exit(1); }
  fs.writeFileSync("tests/types/generated/readme-fleet.ts", m[1]);
'
if tsc -p tests/types/tsconfig.worker.json; then
  echo "   ok: the README's fleet Worker sample (workers-types, Hono)"
else
  echo "   FAILED: the README's fleet Worker sample"
  failed=1
fi
if tsc -p tests/types/tsconfig.vite.json; then
  echo "   ok: boundedServicesWasm() is a Vite Plugin (exactOptionalPropertyTypes)"
else
  echo "   FAILED: the Vite plugin type"
  failed=1
fi
[ "$failed" = 0 ] && echo "types: PASS" || { echo "types: FAIL"; exit 1; }
