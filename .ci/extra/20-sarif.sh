#!/usr/bin/env bash
# SARIF from `demo` and from a scan of the fixtures must pass Microsoft's SARIF Multitool with
# 0 errors and 0 warnings; the demo's SARIF holds one result per failing or unknown finding,
# the kill chain among them.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --quiet
command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bin=target/debug/vendorscope
export VENDORSCOPE_FINGERPRINT_KEY=ci-sarif-check
(cd "$out" && "$OLDPWD/$bin" demo --out demo --quiet --color never > /dev/null)
# The fixtures hold synthetic keys, so the scan exits 1: that is expected here.
$bin scan fixtures/ --quiet --format json --output sarif="$out/scan.sarif" > /dev/null || [ $? -eq 1 ]
python3 - "$out/demo/run.json" "$out/demo/run.sarif" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
sarif = json.load(open(sys.argv[2]))
results = sarif["runs"][0]["results"]
want = [f for f in run["findings"] if f["status"] in ("fail", "unknown")]
assert len(results) == len(want), f"{len(results)} SARIF results, {len(want)} failing/unknown findings"
assert any(r["ruleId"] == "VKS-EXP-002" for r in results), "kill chain missing from SARIF"
fps = [json.dumps(r["partialFingerprints"], sort_keys=True) for r in results]
assert len(set(fps)) == len(fps), "duplicate partialFingerprints"
print(f"demo SARIF: {len(results)} results = failing + unknown findings; kill chain present")
PY
# A history scan's SARIF (`scan --git`): a key added, then removed, in a throwaway repository.
repo="$out/repo"
gitc() { GIT_CONFIG_GLOBAL=/dev/null git -C "$repo" -c user.name=ci -c user.email=ci@example.com "$@"; }
git init -q "$repo"
printf "const k='%s%s';\n" "sk_live_" "p5B1Id9Z850kEnydx9qWCA79" > "$repo/config.js"
gitc add -A && gitc commit -qm add && gitc rm -q config.js && gitc commit -qm remove
$bin scan --git "$repo" --quiet --format json --output sarif="$out/history.sarif" > /dev/null || [ $? -eq 1 ]
grep -q '"Introduced in commit' "$out/history.sarif" || { echo "history SARIF names no commit"; exit 1; }
bash .ci/sarif-validate.sh "$out/demo/run.sarif" "$out/scan.sarif" "$out/history.sarif"
