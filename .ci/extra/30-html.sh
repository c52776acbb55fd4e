#!/usr/bin/env bash
# The demo's HTML reassessment report renders in headless Chromium (network off) to a non-blank
# PNG and shows values specific to the demo in its sections; its control-coverage chart, in the
# DOM Chromium built, lists controls in natural order, each with title and counts.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --quiet
command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bin="$PWD/target/debug/vendorscope"
(cd "$out" && "$bin" demo --out demo --quiet --color never > /dev/null)
html="$out/demo/report.html"
for want in "Example Shop SAS (demo)" "DPA-2018-007" "example-shop.myshopify.com" \
            "iterable.ts:12" "VKS-EXP-002" "A.5.19" "A.15.1.1" "customers.export" \
            "Customer e-mails and name" "KILL CHAIN" "ExampleShopECOM"; do
  grep -qF -- "$want" "$html" || { echo "report.html lacks: $want" >&2; exit 1; }
done
if grep -qiE '<(script|link|img)[^>]+(src|href)="https?:' "$html"; then
  echo "report.html fetches external resources" >&2; exit 1
fi
bash .ci/html-render.sh "$html" "$out/report.png"
