#!/usr/bin/env bash
# Git-history scan throughput (`scan --git`) on a generated web front-end repository, and the time
# of a pull-request scan (`--since`). Not part of CI.
#
#   bash bench/git-history.sh                       # 50,000 commits + a 100-commit PR, 5 runs
#   COMMITS=20000 PR_COMMITS=50 REPS=3 bash bench/git-history.sh
#   BIN=target/release/vendorscope bash bench/git-history.sh
#
# The history is written with `git fast-import` (cached in $WORK by its parameters) and packed
# as a clone's would be (`git repack -adf`): about 1,300 files (components, pages, hooks, styles,
# locales, tests), every commit a small edit to 1-3 files (a line changed, added or dropped; now
# and then a file added or removed), a few live keys added and removed again on main, and one in
# the PR branch. Reported: blobs/s and MiB/s of the full scan (the run's `history` counters over
# the median wall time), the median wall time of `--since main` over the PR branch, the peak RSS
# of each, the exposures each found, and `git cat-file --batch` reading every blob of the
# repository as the object-decoding reference, median of the same runs.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
command -v git > /dev/null || { echo "git-history bench: needs git"; exit 2; }
[ -x /usr/bin/time ] || { echo "git-history bench: needs GNU time (apt-get install time)"; exit 2; }
COMMITS=${COMMITS:-50000}
PR_COMMITS=${PR_COMMITS:-100}
REPS=${REPS:-5}
BIN=${BIN:-$here/target/release/vendorscope}
[ -x "$BIN" ] || (cd "$here" && cargo build --release --quiet)
work=${WORK:-/tmp/vendorscope-bench}
repo="$work/git-history-$COMMITS-$PR_COMMITS"
export VENDORSCOPE_FINGERPRINT_KEY=${VENDORSCOPE_FINGERPRINT_KEY:-bench-fingerprint-key-not-secret}

if [ ! -d "$repo/objects" ]; then
  rm -rf "$repo" "$repo.tmp"
  mkdir -p "$work"
  git init -q --bare "$repo.tmp"
  echo "generating $COMMITS commits + a $PR_COMMITS-commit PR branch in $repo ..."
  t0=$(date +%s)
  python3 - "$COMMITS" "$PR_COMMITS" <<'PY' | git -C "$repo.tmp" fast-import --quiet
import random, sys

commits, pr_commits = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(1)
out = sys.stdout.buffer
B62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
WORDS = ("cart checkout product price total order user account session token theme locale "
         "banner modal drawer button input form field error loading items count filter sort "
         "page size query result layout header footer nav menu image gallery review rating "
         "stock variant option address shipping payment coupon discount tax currency").split()

def ident():
    a, b = rnd.choice(WORDS), rnd.choice(WORDS)
    return a + b[0].upper() + b[1:]

def code_line():
    n = rnd.randrange(9)
    i, j = ident(), ident()
    return [
        f"  const [{i}, set{i[0].upper()}{i[1:]}] = useState<string>('');",
        f"  const {i} = useMemo(() => {j}.filter(Boolean).length, [{j}]);",
        f"  useEffect(() => {{ track('{i}', {{ {j} }}); }}, [{j}]);",
        f"  if (!{i}) return <Spinner label=\"{rnd.choice(WORDS)}\" />;",
        f"  // TODO({rnd.choice(WORDS)}): {' '.join(rnd.choices(WORDS, k=6))}",
        f"  const {i} = await api.get(`/v{rnd.randrange(1, 4)}/{rnd.choice(WORDS)}/${{{j}}}`);",
        f"      <{rnd.choice(['div', 'span', 'li', 'section'])} className={{styles.{i}}}>{{{j}}}</{rnd.choice(['div', 'span', 'li', 'section'])}>",
        f"  return {{ ...{i}, {j}: {rnd.randrange(1000)} }};",
        f"export const {i.upper()}_{rnd.randrange(100)} = '{rnd.choice(WORDS)}-{rnd.randrange(10000)}';",
    ][n]

def css_line():
    return f"  {rnd.choice(['margin', 'padding', 'gap', 'font-size', 'border-radius'])}: {rnd.randrange(1, 48)}px;"

def json_line():
    return f"  \"{ident()}\": \"{' '.join(rnd.choices(WORDS, k=rnd.randrange(2, 8)))}\","

def new_file(path):
    if path.endswith(".css"):
        gen, n = css_line, rnd.randrange(20, 80)
        head, tail = [f".{ident()} {{"], ["}"]
    elif path.endswith(".json"):
        gen, n = json_line, rnd.randrange(40, 160)
        head, tail = ["{"], ["  \"_\": \"\"", "}"]
    else:
        gen, n = code_line, rnd.randrange(30, 160)
        head = ["import { useEffect, useMemo, useState } from 'react';",
                "import styles from './styles.module.css';", "",
                f"export default function {ident().capitalize()}() {{"]
        tail = ["}"]
    return {"gen": gen, "lines": head + [gen() for _ in range(n)] + tail}

files = {}
def add(path):
    files[path] = new_file(path)
for i in range(300):
    name = ident().capitalize() + str(i)
    for f in (f"{name}.tsx", "styles.module.css", "index.ts"):
        add(f"src/components/{name}/{f}")
for d, n, ext in (("src/pages", 60, "tsx"), ("src/hooks", 40, "ts"), ("src/utils", 40, "ts"),
                  ("src/api", 30, "ts"), ("tests", 150, "test.tsx")):
    for i in range(n):
        add(f"{d}/{ident()}{i}.{ext}")
for lang in ("en", "de", "fr", "es", "it", "nl", "pl", "pt", "sv", "ja"):
    for ns in ("common", "cart", "checkout", "account", "product", "errors", "emails", "seo"):
        add(f"public/locales/{lang}/{ns}.json")
paths = sorted(files)
hot = paths[: len(paths) // 10]   # a tenth of the files take half of the edits

def body(path):
    return ("\n".join(files[path]["lines"]) + "\n").encode()

def data(b):
    out.write(b"data %d\n" % len(b))
    out.write(b)
    out.write(b"\n")

clock = 1_600_000_000
mark = 0
def commit(ref, msg, ops, parent=None):
    global clock, mark
    clock += rnd.randrange(60, 7200)
    mark += 1
    out.write(f"commit {ref}\nmark :{mark}\n".encode())
    who = rnd.choice(["Ana <ana@example.com>", "Bo <bo@example.com>", "Cy <cy@example.com>"])
    out.write(f"author {who} {clock} +0100\ncommitter {who} {clock} +0100\n".encode())
    data(msg.encode())
    if parent:
        out.write(f"from {parent}\n".encode())
    for op in ops:
        if op[0] == "M":
            out.write(f"M 100644 inline {op[1]}\n".encode())
            data(op[2])
        else:
            out.write(f"D {op[1]}\n".encode())
    return mark

def key(prefix, n, alphabet=B62):
    return prefix + "".join(rnd.choice(alphabet) for _ in range(n))

def edit(path):
    f = files[path]
    lines, k = f["lines"], rnd.randrange(3)
    i = rnd.randrange(4, max(5, len(lines) - 1))
    if k == 0 or len(lines) > 220:
        lines[i] = f["gen"]()
    elif k == 1:
        lines.insert(i, f["gen"]())
    else:
        del lines[i]
    return ("M", path, body(path))

def step():
    ops = []
    r = rnd.random()
    if r < 0.01:
        d = rnd.choice(["src/components", "src/hooks", "src/utils", "tests"])
        p = f"{d}/{ident()}{rnd.randrange(10**6)}.ts"
        add(p)
        paths.append(p)
        ops.append(("M", p, body(p)))
    elif r < 0.013 and len(paths) > 1000:
        p = paths.pop(rnd.randrange(len(paths)))
        if p in hot:
            hot.remove(p)
        del files[p]
        ops.append(("D", p))
    for _ in range(rnd.choice([1, 1, 1, 2, 2, 3])):
        p = rnd.choice(hot) if rnd.random() < 0.5 else rnd.choice(paths)
        ops.append(edit(p))
    return ops

# Keys on main: (commit, path, text) added, removed `life` commits later.
stripe = "sk_" + "live_"
shop = "shp" + "at_"
events = {}
for at, path, text, life in (
    (commits // 10, "src/config/payments.ts",
     f"export const STRIPE_SECRET = '{key(stripe, 24)}';\n", 40),
    (commits * 4 // 10, ".env.production",
     f"SHOPIFY_ADMIN_TOKEN={key(shop, 32, '0123456789abcdef')}\n", 3),
    (commits * 7 // 10, "src/api/stripe.ts",
     f"const stripe = new Stripe('{key(stripe, 99)}');\n", 250),
):
    events.setdefault(at, []).append(("M", path, text.encode()))
    events.setdefault(at + life, []).append(("D", path))

ops = [("M", p, body(p)) for p in paths]
commit("refs/heads/main", "initial import", ops)
for i in range(1, commits):
    ops = step() + events.get(i, [])
    commit("refs/heads/main", f"{rnd.choice(WORDS)}: {' '.join(rnd.choices(WORDS, k=5))}", ops)
tip = mark
pr_key_at = pr_commits // 2
for i in range(pr_commits):
    ops = step()
    if i == pr_key_at:
        ops.append(("M", "src/api/checkout.ts", f"const sk = '{key(stripe, 24)}';\n".encode()))
    commit("refs/heads/pr", f"pr: {' '.join(rnd.choices(WORDS, k=4))}", ops,
           parent=f":{tip}" if i == 0 else None)
PY
  git -C "$repo.tmp" repack -adf -q
  mv "$repo.tmp" "$repo"
  echo "generated in $(( $(date +%s) - t0 )) s"
fi

out=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$out"' EXIT
pack_bytes=$(du -sb "$repo/objects" | cut -f1)
blob_ids="$out/blobs.txt"
git -C "$repo" cat-file --batch-all-objects --batch-check='%(objecttype) %(objectname)' \
  | awk '$1 == "blob" {print $2}' > "$blob_ids"
cat "$repo"/objects/pack/* > /dev/null   # warm page cache

printf 'what\trep\twall_s\tmaxrss_kb\n' > "$out/timings.tsv"
one() { # what rep cmd...
  local what=$1 rep=$2; shift 2
  local t0 t1 rc
  t0=$(date +%s.%N)
  set +e
  /usr/bin/time -v -o "$out/$what.$rep.time" "$@" > "$out/$what.$rep.out" 2> "$out/$what.$rep.err"
  rc=$?
  set -e
  t1=$(date +%s.%N)
  # Exit 1 is "found something", not a failure.
  if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
    echo "git-history bench: $what exited $rc"; cat "$out/$what.$rep.err"; exit 1
  fi
  printf '%s\t%s\t%s\t%s\n' "$what" "$rep" "$(echo "$t1 - $t0" | bc)" \
    "$(awk -F': ' '/Maximum resident/ {print $2}' "$out/$what.$rep.time")" >> "$out/timings.tsv"
}
for rep in $(seq 1 "$REPS"); do
  one cat-file "$rep" git -C "$repo" cat-file --batch < "$blob_ids"
  one full "$rep" "$BIN" scan --git "$repo" --quiet --output "json=$out/full.json"
  one pr "$rep" "$BIN" scan --git "$repo" --since main --quiet --output "json=$out/pr.json"
done

python3 - "$out" "$pack_bytes" "$("$BIN" --version)" "$(git --version)" <<'PY'
import csv, json, statistics, sys
out, pack, version, git = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = list(csv.DictReader(open(f"{out}/timings.tsv"), delimiter="\t"))
def med(what):
    rs = [r for r in rows if r["what"] == what]
    return (statistics.median(float(r["wall_s"]) for r in rs),
            max(int(r["maxrss_kb"] or 0) for r in rs) / 1024)
full, pr = json.load(open(f"{out}/full.json")), json.load(open(f"{out}/pr.json"))
h, hp = full["history"], pr["history"]
(fw, frss), (pw, prss), (cw, _) = med("full"), med("pr"), med("cat-file")
mib = h["bytes_scanned"] / 2**20
print(f"{version}, {git}; medians of {len(rows) // 3} runs")
print(f"repository: {h['commits']:,} commits reachable, {h['blobs_scanned']:,} distinct blobs "
      f"({mib:,.0f} MiB), {h['blob_versions']:,} blob versions met, objects {pack / 2**20:,.0f} MiB packed")
print(f"full scan (--git):     {fw:6.2f} s  {h['blobs_scanned'] / fw:9,.0f} blobs/s  "
      f"{mib / fw:7.1f} MiB/s  peak RSS {frss:5.0f} MB  {len(full['exposures'])} exposures")
print(f"PR scan (--since main): {pw:5.2f} s  {hp['commits']} commits, {hp['blobs_scanned']} blobs  "
      f"peak RSS {prss:5.0f} MB  {len(pr['exposures'])} exposure(s)")
print(f"reference: git cat-file --batch reads every blob in {cw:.2f} s ({mib / cw:.1f} MiB/s)")
PY
