#!/usr/bin/env bash
# The HTML reassessment report renders in headless Chromium (network off) to a non-blank PNG.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --quiet
command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
target/debug/vendorscope report fixtures/runs/demo-run.json --format html > "$out/report.html"
bash .ci/html-render.sh "$out/report.html" "$out/report.png"
