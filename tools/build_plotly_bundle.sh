#!/usr/bin/env bash
# Builds the partial plotly.js bundle the dashboard serves, from pinned versions:
#   src/deepscope/app/assets/vendor/plotly-deepscope.min.js
# plotly.js v4.1.1 (the version the installed plotly.py and dash expect) with only the trace
# types listed in tools/plotly-bundle/entry.js. Needs Node and the npm registry (the committed file
# was built with Node 20.20 and npm 11.19; plotly.js 4.1.1 asks for Node 22 and npm warns); the
# install and build happen in a scratch folder (BUILD_DIR, default a new temporary folder), so
# the repository gets only the built file. After changing the trace list, run this and
# tests/app/test_plotly_bundle.py.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OUT="$ROOT/src/deepscope/app/assets/vendor/plotly-deepscope.min.js"
BUILD_DIR="${BUILD_DIR:-$(mktemp -d -t deepscope-plotly-XXXXXX)}"

mkdir -p "$BUILD_DIR" "$(dirname "$OUT")"
cp "$HERE/plotly-bundle/package.json" "$HERE/plotly-bundle/package-lock.json" \
    "$HERE/plotly-bundle/entry.js" "$HERE/plotly-bundle/build.mjs" "$BUILD_DIR/"
cd "$BUILD_DIR"
# npm ci installs exactly what package-lock.json pins; install scripts are not needed.
npm ci --ignore-scripts --no-audit --no-fund
node build.mjs "$OUT"
cp node_modules/plotly.js/LICENSE "$(dirname "$OUT")/plotly-deepscope.LICENSE.txt"

full=$(wc -c < node_modules/plotly.js/dist/plotly.min.js)
part=$(wc -c < "$OUT")
echo "plotly.min.js (every trace): $full bytes; partial bundle: $part bytes ($((100 * part / full))%)"
