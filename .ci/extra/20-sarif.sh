#!/usr/bin/env bash
# SARIF from a saved demo-like run and from a scan of the fixtures must pass Microsoft's SARIF
# Multitool with 0 errors and 0 warnings.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --quiet
command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bin=target/debug/vendorscope
$bin report fixtures/runs/demo-run.json --format sarif > "$out/report.sarif"
# The fixtures hold synthetic keys, so the scan exits 1: that is expected here.
$bin scan fixtures/ --quiet --format json --output sarif="$out/scan.sarif" > /dev/null || [ $? -eq 1 ]
bash .ci/sarif-validate.sh "$out/report.sarif" "$out/scan.sarif"
