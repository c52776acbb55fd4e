#!/usr/bin/env bash
# Long fuzzing runs of the targets in src/fuzz.rs (every parser of outside input).
#
#   bash bench/fuzz.sh [CASES]            proptest drivers (tests/fuzz.rs), CASES per target
#                                         (default 20000), release build; prints executions,
#                                         time and slowest case per target.
#   bash bench/fuzz.sh afl [SECONDS] [TARGET...]
#                                         coverage-guided: AFL++ through cargo-afl (stable
#                                         toolchain), SECONDS per target (default 300), all
#                                         targets unless named. Needs `cargo install cargo-afl`
#                                         once (it builds AFL++ itself). Findings land in
#                                         fuzz/out/TARGET/default/crashes; replay one with
#                                         fuzz/target/release/vendorscope-fuzz TARGET < FILE.
#
# CI runs the proptest drivers at their small default (VENDORSCOPE_FUZZ_CASES unset); this
# script is not part of CI.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

targets() { sed -n 's/^    ("\([a-z_]*\)", [a-z_]*),$/\1/p' src/fuzz.rs; }

if [ "${1:-}" != afl ]; then
  cases=${1:-20000}
  VENDORSCOPE_FUZZ_CASES=$cases cargo test --release --test fuzz -- --nocapture --test-threads 1 2>&1 \
    | grep -E '^(fuzz |test result|thread|failures)' || true
  exit "${PIPESTATUS[0]}"
fi

shift
seconds=${1:-300}
shift || true
[ $# -gt 0 ] || set -- $(targets)
command -v cargo-afl > /dev/null || { echo "fuzz: cargo-afl not found (cargo install cargo-afl)"; exit 2; }
(cd fuzz && cargo afl build --release --quiet)
# The seeds are the proptest drivers' own (tests/fuzz.rs writes them when asked).
VENDORSCOPE_FUZZ_SEEDS_DIR=$here/fuzz/seeds VENDORSCOPE_FUZZ_CASES=0 \
  cargo test --release --quiet --test fuzz > /dev/null
bin=$here/fuzz/target/release/vendorscope-fuzz
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
for t in "$@"; do
  in=fuzz/seeds/$t
  out=fuzz/out/$t
  mkdir -p "$out"
  # An existing output directory resumes ("-i -").
  if [ -d "$out/default/queue" ]; then src=-; else src=$in; fi
  cargo afl fuzz -V "$seconds" -t 5000 -i "$src" -o "$out" "$bin" "$t" > "$out/log.txt" 2>&1 || true
  stats=$out/default/fuzzer_stats
  if [ -f "$stats" ]; then
    execs=$(sed -n 's/^execs_done *: //p' "$stats")
    crashes=$(sed -n 's/^saved_crashes *: //p' "$stats")
    hangs=$(sed -n 's/^saved_hangs *: //p' "$stats")
    edges=$(sed -n 's/^edges_found *: //p' "$stats")
    echo "afl $t: $execs executions in ${seconds}s, $edges edges, $crashes crashes, $hangs hangs"
  else
    echo "afl $t: did not start; see $out/log.txt"; tail -5 "$out/log.txt"
  fi
done
