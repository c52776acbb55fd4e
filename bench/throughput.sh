#!/usr/bin/env bash
# Exposure-scan throughput, peak memory, recall and precision on the labelled corpus kit in
# ../shared/bench (outside the repository), side by side with `rg` searching the same tree for
# one literal (the read-speed reference), in one run.
#
#   bash bench/throughput.sh                  # 200 MB corpus (seed 1), 5 repetitions
#   SIZE_MB=1024 REPS=3 bash bench/throughput.sh
#   BIN=target/release/vendorscope CORPUS=/tmp/c200 bash bench/throughput.sh
#
# Decoding layers and source maps are on, as shipped. Repetitions alternate between the tools
# after a warm-up read of the tree; the median wall time and the largest peak RSS (VmHWM, via
# /usr/bin/time -v) are reported. Goals (issue #4): throughput >= 40% of rg's, recall 100%,
# precision >= 99%, peak memory <= 150 MB on a 1 GB tree. Exits 1 when a goal is missed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
kit="$here/../shared/bench"
[ -d "$kit" ] || { echo "throughput bench: $kit not found; skipped"; exit 0; }
command -v rg > /dev/null || { echo "throughput bench: needs ripgrep (apt-get install ripgrep)"; exit 2; }
[ -x /usr/bin/time ] || { echo "throughput bench: needs GNU time (apt-get install time)"; exit 2; }
SIZE_MB=${SIZE_MB:-200}
REPS=${REPS:-5}
BIN=${BIN:-$here/target/release/vendorscope}
[ -x "$BIN" ] || (cd "$here" && cargo build --release --quiet)
work=${WORK:-/tmp/vendorscope-bench}
mkdir -p "$work"
corpus=${CORPUS:-$work/corpus-$SIZE_MB}
if [ ! -d "$corpus" ]; then
  echo "generating a ${SIZE_MB} MB corpus in $corpus ..."
  python3 "$kit/gen_corpus.py" --out "$corpus" --size-mb "$SIZE_MB" --seed 1 > /dev/null
fi
labels="$corpus.labels.jsonl"
out=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$out"' EXIT
export VENDORSCOPE_FINGERPRINT_KEY=${VENDORSCOPE_FINGERPRINT_KEY:-bench-fingerprint-key-not-secret}

bytes=$(du -sb "$corpus" | cut -f1)
find "$corpus" -type f -exec cat {} + > /dev/null   # warm page cache

printf 'tool\trep\twall_s\tmaxrss_kb\trc\ttimed_out\n' > "$out/timings.tsv"
one() { # tool rep cmd...
  local tool=$1 rep=$2; shift 2
  local t0 t1 rc
  t0=$(date +%s.%N)
  set +e
  /usr/bin/time -v -o "$out/$tool.$rep.time" "$@" > /dev/null 2> "$out/$tool.$rep.err"
  rc=$?
  set -e
  t1=$(date +%s.%N)
  local rss
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$out/$tool.$rep.time")
  # Exit 1 is "found something" for both tools, not a failure.
  printf '%s\t%s\t%s\t%s\t%s\t0\n' "$tool" "$rep" "$(echo "$t1 - $t0" | bc)" "$rss" \
    "$([ "$rc" = 1 ] && echo 0 || echo "$rc")" >> "$out/timings.tsv"
  echo "$rc"
}
for rep in $(seq 1 "$REPS"); do
  one rg "$rep" rg -c --no-ignore --hidden --no-messages VENDORSCOPE_BENCH_ABSENT_LITERAL "$corpus" > /dev/null
  rc=$(one vendorscope "$rep" "$BIN" scan "$corpus" --quiet --output "json=$out/run.json")
  if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
    echo "throughput bench: vendorscope exited $rc"; cat "$out/vendorscope.$rep.err"; exit 1
  fi
done
python3 "$here/bench/run_to_jsonl.py" "$out/run.json" > "$out/vendorscope.findings.jsonl"
printf 'tool\tversion\nvendorscope\t%s\nrg\t%s\n' "$("$BIN" --version)" "$(rg --version | head -1)" > "$out/versions.tsv"
printf 'corpus_bytes\t%s\n' "$bytes" > "$out/corpus.tsv"
python3 "$kit/score.py" --corpus "$corpus" --labels "$labels" --out-dir "$out" \
  --extra-tool vendorscope --json "$out/score.json" > /dev/null

python3 - "$out" "$bytes" "$SIZE_MB" <<'PY'
import csv, json, statistics, sys
out, size, size_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = list(csv.DictReader(open(f"{out}/timings.tsv"), delimiter="\t"))
def stats(tool):
    rs = [r for r in rows if r["tool"] == tool]
    wall = statistics.median(float(r["wall_s"]) for r in rs)
    rss = max(int(r["maxrss_kb"] or 0) for r in rs) / 1024
    return size / wall / 2**20, rss, wall
score = json.load(open(f"{out}/score.json"))["results"]["vendorscope"]
rg, vs = stats("rg"), stats("vendorscope")
ratio = vs[0] / rg[0]
mib = size / 2**20
print(f"corpus: {mib:,.0f} MiB, {len(rows) // 2} repetitions per tool (median wall, max peak RSS)")
print(f"{'tool':<24}{'MiB/s':>10}{'wall s':>9}{'peak RSS MB':>13}{'recall':>8}{'precision':>11}")
print(f"{'rg (one literal)':<24}{rg[0]:>10,.0f}{rg[2]:>9.3f}{rg[1]:>13.0f}{'-':>8}{'-':>11}")
print(f"{'vendorscope':<24}{vs[0]:>10,.0f}{vs[2]:>9.3f}{vs[1]:>13.0f}"
      f"{score['recall']:>8.3f}{score['precision']:>11.3f}")
print(f"vendorscope throughput = {ratio:.0%} of rg's")
failed = []
if ratio < 0.40: failed.append("throughput below 40% of rg's")
if score["recall"] < 1.0: failed.append("recall below 100%")
if score["precision"] < 0.99: failed.append("precision below 99%")
if size_mb >= 1000 and vs[1] > 150: failed.append("peak memory above 150 MB on a 1 GB tree")
for f in failed: print("goal missed:", f)
sys.exit(1 if failed else 0)
PY
