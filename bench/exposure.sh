#!/usr/bin/env bash
# Exposure-scan quality gate on the labelled corpus kit in ../shared/bench (outside the repo).
# Generates the small corpus, scans it with the debug binary, scores it, and fails below
# recall 100% or precision 99% (gate-relevant findings: not public by design, not test-mode).
# Skips (exit 0) where ../shared/bench does not exist, e.g. in a user's fresh clone.
#   BIN=target/release/vendorscope bash bench/exposure.sh [CORPUS_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
kit="$here/../shared/bench"
[ -d "$kit" ] || { echo "exposure bench: $kit not found; skipped"; exit 0; }
BIN=${BIN:-$here/target/debug/vendorscope}
[ -x "$BIN" ] || (cd "$here" && cargo build --quiet)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
corpus=${1:-$work/corpus-small}
if [ ! -d "$corpus" ]; then
  python3 "$kit/gen_corpus.py" --out "$corpus" --small > /dev/null
fi
labels="$corpus.labels.jsonl"
out="$work/out"
mkdir -p "$out"
export VENDORSCOPE_FINGERPRINT_KEY=${VENDORSCOPE_FINGERPRINT_KEY:-bench-fingerprint-key-not-secret}
start=$(date +%s.%N)
set +e
/usr/bin/env time -v -o "$out/time.txt" "$BIN" scan "$corpus" --quiet --output json="$out/run.json" > /dev/null 2> "$out/stderr.txt"
rc=$?
set -e
end=$(date +%s.%N)
if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
  echo "exposure bench: scan exited $rc"; cat "$out/stderr.txt"; exit 1
fi
python3 "$here/bench/run_to_jsonl.py" "$out/run.json" > "$out/vendorscope.findings.jsonl"
bytes=$(du -sb "$corpus" | cut -f1)
rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$out/time.txt" 2>/dev/null || echo "?")
printf 'tool\trep\twall_s\tmaxrss_kb\trc\ttimed_out\nvendorscope\t1\t%s\t%s\t0\t0\n' \
  "$(echo "$end - $start" | bc)" "${rss:-0}" > "$out/timings.tsv"
printf 'tool\tversion\nvendorscope\t%s\n' "$("$BIN" --version)" > "$out/versions.tsv"
printf 'corpus_bytes\t%s\n' "$bytes" > "$out/corpus.tsv"
python3 "$kit/score.py" --corpus "$corpus" --labels "$labels" --out-dir "$out" \
  --extra-tool vendorscope --json "$out/score.json"
python3 - "$out/score.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["results"]["vendorscope"]
rec, prec = r.get("recall"), r.get("precision")
print(f"vendorscope: recall {rec}, precision {prec}, MiB/s {r.get('mib_s')}, peak RSS MB {r.get('rss_mb')}")
if rec is None or prec is None or rec < 1.0 or prec < 0.99:
    print("exposure bench: below recall 100% / precision 99%"); sys.exit(1)
PY
