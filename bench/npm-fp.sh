#!/usr/bin/env bash
# Real-world false-positive bench: scans the published tarballs of popular npm packages
# (minified bundles, source maps with sourcesContent, base64-embedded and binary WASM, fonts
# and images embedded as base64 in JS and CSS) and
# fails on any server-side-credential finding (public_by_design false, test-mode included:
# these packages hold no real secrets). Publishable keys (e.g. the pk_test_ keys in the
# @stripe/stripe-js README) are listed but do not count.
# Tarballs are fetched once with `npm pack` into the cache and unpacked there; later runs reuse
# them without the network. Skips (exit 0) when npm or the registry is unavailable and the cache
# is incomplete.
#   BIN=target/release/vendorscope bash bench/npm-fp.sh
# Env: BIN, NPM_FP_CACHE (default ~/.cache/vendorscope-npm-fp), NPM_FP_OUT (default
# $NPM_FP_CACHE/last-run: run.json, time.txt, stderr.txt), VENDORSCOPE_FINGERPRINT_KEY.
# Exit: 0 no server-side findings; 1 server-side findings or a failed scan.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

# Pinned by exact version (checked with `npm view NAME@VERSION version`); ~390 MiB unpacked.
packages=(
  react-dom@19.3.1           # minified UMD/CJS production bundles
  vue@3.5.45                 # minified runtime + compiler builds
  three@0.187.0              # large module bundle; examples embed base64 WASM, ship .wasm
  lodash@4.18.1              # thousands of small modules + lodash.min.js
  moment@2.31.0              # locales, min bundles, source maps
  chart.js@4.6.1             # UMD min bundle, source maps with sourcesContent
  d3@7.9.2                   # d3.min.js
  rxjs@7.8.2                 # ~1000 source maps, several module formats
  @angular/core@22.2.6       # FESM bundles, source maps with sourcesContent
  firebase@13.2.0            # compat bundles, ~150 source maps with sourcesContent
  @sentry/browser@11.12.0    # CDN bundles, ~300 source maps with sourcesContent
  monaco-editor@0.57.0       # largest: minified editor + language workers
  pdfjs-dist@6.5.438         # pdf.worker, source maps with sourcesContent, .wasm decoders
  esbuild-wasm@0.28.2        # esbuild.wasm binary + JS loader
  sql.js@1.17.0              # sql-wasm-inline.js: base64-embedded WASM; .wasm binaries
  @ffmpeg/core@0.12.10       # ffmpeg-core.wasm (~30 MiB) + emscripten glue
  @stripe/stripe-js@10.2.1   # README carries publishable pk_test_ keys (public by design)
  # Bundles that embed base64 assets heavily, where the base64 decoding layer works hardest:
  pdfmake@0.3.11             # build/vfs_fonts.js: the Roboto TTF fonts as base64 in JS
  video.js@8.24.1            # video-js.css: the icon font as a base64 data: URI
  hash-wasm@4.13.0           # every hash function's WASM as base64 in JS
  argon2-browser@1.18.0      # argon2-bundled.min.js: the WASM as base64 in JS
  swagger-ui-dist@5.35.0     # images and fonts as data: URIs in the CSS and JS bundles
)

cache=${NPM_FP_CACHE:-$HOME/.cache/vendorscope-npm-fp}
root="$cache/packages"          # one folder per package: NAME@VERSION with '/' as '+'
tgz="$cache/tarballs"
out=${NPM_FP_OUT:-$cache/last-run}
mkdir -p "$root" "$tgz" "$out"
export VENDORSCOPE_FINGERPRINT_KEY=${VENDORSCOPE_FINGERPRINT_KEY:-bench-fingerprint-key-not-secret}

dir_of() { printf '%s\n' "${1//\//+}"; }

missing=()
for spec in "${packages[@]}"; do
  [ -f "$root/$(dir_of "$spec")/.complete" ] || missing+=("$spec")
done
# Drop folders of packages no longer pinned, so the scan covers exactly the pinned set.
for d in "$root"/*; do
  [ -e "$d" ] || continue
  keep=no
  for spec in "${packages[@]}"; do
    [ "$(basename "$d")" = "$(dir_of "$spec")" ] && keep=yes
  done
  [ "$keep" = yes ] || rm -rf "$d"
done

if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v npm > /dev/null 2>&1; then
    echo "npm-fp bench: npm not found and ${#missing[@]} package(s) not cached; skipped"; exit 0
  fi
  if ! timeout 60 npm view "${packages[0]}" version > /dev/null 2>&1; then
    echo "npm-fp bench: npm registry unreachable and ${#missing[@]} package(s) not cached; skipped"
    exit 0
  fi
  for spec in "${missing[@]}"; do
    name=$(dir_of "$spec")
    echo "npm-fp bench: fetching $spec" >&2
    rm -rf "${tgz:?}/$name.tmp" "${root:?}/$name" "${root:?}/$name.tmp"
    mkdir -p "$tgz/$name.tmp" "$root/$name.tmp"
    file=$(cd "$tgz/$name.tmp" && npm pack "$spec" --silent 2> /dev/null | tail -n 1) || {
      echo "npm-fp bench: npm pack $spec failed"; exit 1; }
    [ -f "$tgz/$name.tmp/$file" ] || { echo "npm-fp bench: npm pack $spec wrote no tarball"; exit 1; }
    mv "$tgz/$name.tmp/$file" "$tgz/$name.tgz"
    rmdir "$tgz/$name.tmp"
    tar -xzf "$tgz/$name.tgz" -C "$root/$name.tmp" --no-same-owner
    touch "$root/$name.tmp/.complete"
    mv "$root/$name.tmp" "$root/$name"
  done
fi

BIN=${BIN:-$here/target/release/vendorscope}
[ -x "$BIN" ] || (cd "$here" && cargo build --release --quiet)

timer=()
if [ -x /usr/bin/time ]; then
  timer=(/usr/bin/time -v -o "$out/time.txt")
else
  echo "npm-fp bench: /usr/bin/time not found; peak RSS not measured" >&2
fi
rm -f "$out/run.json" "$out/time.txt"
start=$(date +%s.%N)
set +e
"${timer[@]}" "$BIN" scan "$root" --quiet --output json="$out/run.json" > "$out/stdout.txt" 2> "$out/stderr.txt"
rc=$?
set -e
end=$(date +%s.%N)
case "$rc" in
  0 | 1) ;;
  3) echo "npm-fp bench: scan exited 3 (incomplete: something could not be read); see errors below" ;;
  *) echo "npm-fp bench: scan exited $rc"; cat "$out/stderr.txt"; exit 1 ;;
esac
[ -s "$out/run.json" ] || { echo "npm-fp bench: no run document written"; cat "$out/stderr.txt"; exit 1; }

python3 - "$root" "$out" "$start" "$end" "$rc" "$BIN" "${packages[@]}" <<'PY'
import json, os, sys

root, out, start, end, rc, binary = sys.argv[1:7]
specs = sys.argv[7:]
dirs = {spec.replace("/", "+"): spec for spec in specs}
MiB = 1024 * 1024

stats = {spec: [0, 0] for spec in specs}  # files, bytes
for d, spec in dirs.items():
    for base, _, names in os.walk(os.path.join(root, d)):
        for n in names:
            if n == ".complete" and base == os.path.join(root, d):
                continue
            p = os.path.join(base, n)
            if os.path.isfile(p) and not os.path.islink(p):
                stats[spec][0] += 1
                stats[spec][1] += os.path.getsize(p)

wall = float(end) - float(start)
rss_kb = None
try:
    for line in open(os.path.join(out, "time.txt")):
        line = line.strip()
        if line.startswith("Maximum resident set size"):
            rss_kb = int(line.rsplit(":", 1)[1])
        elif line.startswith("Elapsed (wall clock)"):
            parts = line.rsplit(": ", 1)[1].split(":")
            secs = 0.0
            for part in parts:
                secs = secs * 60 + float(part)
            wall = secs or wall
except OSError:
    pass

run = json.load(open(os.path.join(out, "run.json")))
exps = run.get("exposures", [])

def spec_of(path):
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    return dirs.get(rel.split(os.sep, 1)[0], "?"), rel

per = {spec: [0, 0] for spec in specs}  # server-side, public by design
per["?"] = [0, 0]
rows = []
for e in exps:
    loc = e.get("location") or {}
    spec, rel = spec_of(loc.get("path") or "")
    public = bool(e.get("public_by_design"))
    per[spec][1 if public else 0] += 1
    where = f"{rel}:{loc.get('line')}"
    orig = loc.get("original")
    if isinstance(orig, dict) and orig.get("path"):
        where += f" (original {orig.get('path')}:{orig.get('line')})"
    elif loc.get("container"):
        where += f" (in {loc.get('container')})"
    red = (e.get("evidence") or {}).get("redacted")
    key = (spec, rel, loc.get("line") or 0, loc.get("column") or 0)
    rows.append((0 if not public else 1, key, spec, e.get("rule"), e.get("environment"), where, red))

print(f"vendorscope: {binary}")
w = max(len(s) for s in specs)
print(f"{'package@version':<{w}}  {'files':>6}  {'MiB':>7}  server-side  public")
tf = tb = 0
for spec in specs:
    f, b = stats[spec]
    tf += f; tb += b
    print(f"{spec:<{w}}  {f:>6}  {b / MiB:>7.1f}  {per[spec][0]:>11}  {per[spec][1]:>6}")
server = sum(v[0] for v in per.values())
public = sum(v[1] for v in per.values())
if per["?"] != [0, 0]:
    print(f"{'(outside packages)':<{w}}  {'':>6}  {'':>7}  {per['?'][0]:>11}  {per['?'][1]:>6}")
print(f"{'total':<{w}}  {tf:>6}  {tb / MiB:>7.1f}  {server:>11}  {public:>6}")
rate = (tb / MiB) / wall if wall > 0 else float("nan")
rss = f"{rss_kb / 1024:.1f}" if rss_kb is not None else "?"
print(f"scan: exit {rc}, wall {wall:.2f} s, {rate:.1f} MiB/s, peak RSS {rss} MB")

for kind, label in ((0, "server-side credential findings (false positives)"),
                    (1, "public-by-design findings (not counted)")):
    sel = [r for r in rows if r[0] == kind]
    if sel:
        print(f"\n{label}: {len(sel)}")
        for _, _, spec, rule, env, where, red in sorted(sel, key=lambda r: r[1]):
            print(f"  {rule}  [{env or '-'}]  {where}  {red}")

errs = run.get("errors") or []
if errs:
    print(f"\nrun errors: {len(errs)}")
    for e in errs[:20]:
        print("  " + (json.dumps(e) if not isinstance(e, str) else e)[:300])
warns = run.get("warnings") or []
if warns:
    print(f"\nrun warnings: {len(warns)}")
    for e in warns[:20]:
        print("  " + (json.dumps(e) if not isinstance(e, str) else e)[:300])

print(f"\nrun document: {os.path.join(out, 'run.json')}")
if server:
    print(f"npm-fp bench: FAIL, {server} server-side credential finding(s)")
    sys.exit(1)
print("npm-fp bench: OK, zero server-side credential findings")
PY
