#!/usr/bin/env bash
# The slow distribution checks (opt-in: VENDORSCOPE_CI_IMAGE=1 bash .ci/extra/45-distribution.sh,
# or run this file directly, as root). Each is a full release build on 2 cores.
#  1. The static binary the Dockerfile builds (glibc, crt-static): `file` and `ldd` say static;
#     in a root file system holding nothing but the binary, the CA bundle and the files a
#     container runtime mounts (/etc/hosts, /etc/resolv.conf) it runs as 65532:65532, resolves
#     `localhost` and a name found only in that /etc/hosts, and crawls a local page through
#     them; without the CA bundle its HTTP client cannot start (why the image copies it).
#  2. The image: the Dockerfile's final stage built with buildah, the builder stage replaced by
#     a build context holding what that stage produces (base images cannot be pulled here and
#     no Docker daemon runs); then `vendorscope --version` in a container of it.
#  3. The pre-commit hook (.pre-commit-hooks.yaml) as a user installs it: pre-commit builds it
#     with cargo and runs it on a repository's files.
# Set VENDORSCOPE_SKIP_PRECOMMIT=1 to leave out 3, VENDORSCOPE_STATIC_BIN=PATH to check a static
# binary built before instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

host=$(rustc -vV | sed -n 's/^host: //p')
static_target=${VENDORSCOPE_STATIC_TARGET:-$root/target/static}

if [ -n "${VENDORSCOPE_STATIC_BIN:-}" ]; then
  echo "-- 1. static binary given: $VENDORSCOPE_STATIC_BIN (not built here)"
  bin=$VENDORSCOPE_STATIC_BIN
else
  echo "-- 1. static build ($host, crt-static, --locked --release), as the Dockerfile's builder stage"
  RUSTFLAGS='-C target-feature=+crt-static' CARGO_TARGET_DIR="$static_target" \
    cargo build --locked --release --target "$host" --bin vendorscope
  bin="$static_target/$host/release/vendorscope"
fi
file "$bin"
file "$bin" | grep -Eq 'static(-pie)? linked|statically linked' || { echo "not a static binary"; exit 1; }
ldd_out=$(ldd "$bin" 2>&1 || true)
echo "ldd: $ldd_out"
echo "$ldd_out" | grep -Eq 'not a dynamic executable|statically linked' || { echo "ldd lists libraries"; exit 1; }

ca=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca" ] || { apt-get update -qq && apt-get install -y -qq ca-certificates >/dev/null; }
rootfs="$work/rootfs"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc/ssl/certs" "$rootfs/home/vendorscope"
cp "$bin" "$rootfs/usr/local/bin/vendorscope"
cp "$ca" "$rootfs/etc/ssl/certs/ca-certificates.crt"
chown 65532:65532 "$rootfs/home/vendorscope"
# What a container runtime mounts: only /etc/hosts knows vendorscope-dns-check.test.
printf '127.0.0.1 localhost\n127.0.0.1 vendorscope-dns-check.test\n' > "$rootfs/etc/hosts"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > "$rootfs/etc/resolv.conf"
(cd "$rootfs" && find . -mindepth 1 | sort | tr '\n' ' ' && echo)
chroot_bin=$(command -v chroot)
in_root() {
  env -i HOME=/home/vendorscope SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    VENDORSCOPE_FINGERPRINT_KEY=ci-image-check "$chroot_bin" --userspec=65532:65532 "$rootfs" \
    /usr/local/bin/vendorscope "$@"
}
in_root --version

# A local page for the crawl (loopback: the chroot shares this network namespace).
mkdir -p "$work/site"
echo '<html><body><p>nothing to see</p></body></html>' > "$work/site/index.html"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The server's access log shows each page fetched.
python3 -u -m http.server "$port" --bind 127.0.0.1 --directory "$work/site" > "$work/access.log" 2>&1 &
server=$!
for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break; sleep 0.1; done
for name in localhost vendorscope-dns-check.test; do
  before=$(grep -c '"GET / HTTP' "$work/access.log" || true)
  out=$(in_root scan "http://$name:$port/" --allow-private-addresses --ignore-robots --format json --quiet) || [ $? -eq 1 ]
  echo "$out" | python3 -c "import json,sys; r=json.load(sys.stdin); errs=[e for e in r.get('errors',[]) if e.get('stage') in ('surface','crawl')]; assert not errs, errs" \
    || { echo "crawl of http://$name:$port/ failed in the static root: $out" | head -c 2000; exit 1; }
  after=$(grep -c '"GET / HTTP' "$work/access.log" || true)
  [ "$after" -gt "$before" ] || { echo "the page was not fetched through $name"; exit 1; }
  echo "static binary in an empty root: http://$name:$port/ resolved and the page fetched"
done
# An unknown name fails cleanly (no resolver answers: nothing but /etc/hosts and a dead DNS).
out=$(in_root scan "http://vendorscope-no-such-name.test:$port/" --allow-private-addresses --format json --quiet 2>&1) && rc=0 || rc=$?
echo "unknown name: exit $rc"
[ "$rc" -eq 3 ] || { echo "expected exit 3 for an unresolvable name, got $rc: $out" | head -c 2000; exit 1; }
# Without the CA bundle the HTTP client cannot be built: why the image copies it.
rm "$rootfs/etc/ssl/certs/ca-certificates.crt"
out=$(in_root scan "http://localhost:$port/" --allow-private-addresses --format json --quiet 2>&1) && rc=0 || rc=$?
echo "without CA bundle: exit $rc"
echo "$out" | grep -q "CA certificates" || { echo "expected a CA error without the bundle: $out" | head -c 2000; exit 1; }
cp "$ca" "$rootfs/etc/ssl/certs/ca-certificates.crt"

echo "-- 2. the image (buildah; final stage of the Dockerfile)"
command -v buildah >/dev/null || { apt-get update -qq && apt-get install -y -qq buildah >/dev/null; }
buildah --version
ctx="$work/builder"
mkdir -p "$ctx/etc/ssl/certs" "$ctx/rootfs/home/vendorscope"
cp "$bin" "$ctx/vendorscope"
cp "$ca" "$ctx/etc/ssl/certs/ca-certificates.crt"
store=(--storage-driver vfs --root "$work/storage" --runroot "$work/run")
buildah "${store[@]}" build --isolation chroot --layers=false \
  --build-context "builder=$ctx" -f Dockerfile -t localhost/vendorscope:ci .
buildah "${store[@]}" inspect --format '{{.OCIv1.Config.User}} {{.OCIv1.Config.Entrypoint}} {{.OCIv1.Config.Env}}' localhost/vendorscope:ci
user=$(buildah "${store[@]}" inspect --format '{{.OCIv1.Config.User}}' localhost/vendorscope:ci)
[ "$user" = "65532:65532" ] || { echo "image user is $user"; exit 1; }
# The runtime provides /etc/hosts (with --add-host) and /etc/resolv.conf, as Docker would.
ctr=$(buildah "${store[@]}" from --add-host vendorscope-dns-check.test:127.0.0.1 localhost/vendorscope:ci)
files=$(cd "$(buildah "${store[@]}" mount "$ctr")" && find . -mindepth 1 | sort | tr '\n' ' ')
echo "image files: $files"
version=$(buildah "${store[@]}" run --isolation chroot "$ctr" -- /usr/local/bin/vendorscope --version)
echo "in the image: $version"
[ "$version" = "vendorscope $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)" ] || { echo "unexpected version output"; exit 1; }
before=$(grep -c '"GET / HTTP' "$work/access.log" || true)
buildah "${store[@]}" run --isolation chroot --network host -e VENDORSCOPE_FINGERPRINT_KEY=ci-image-check "$ctr" -- \
  /usr/local/bin/vendorscope scan "http://vendorscope-dns-check.test:$port/" --allow-private-addresses --ignore-robots --quiet --format json > "$work/image-scan.json"
after=$(grep -c '"GET / HTTP' "$work/access.log" || true)
[ "$after" -gt "$before" ] || { echo "the image did not fetch the page through the runtime's /etc/hosts"; exit 1; }
echo "in the image: a name from the runtime's /etc/hosts resolved and the page fetched"
buildah "${store[@]}" rm "$ctr" >/dev/null

if [ "${VENDORSCOPE_SKIP_PRECOMMIT:-}" != 1 ]; then
  echo "-- 3. the pre-commit hook"
  pip install -q --disable-pip-version-check pre-commit 2>&1 | grep -v "Running pip as the 'root' user" || true
  rev=$(git rev-parse HEAD)
  repo="$work/user-repo"
  mkdir -p "$repo"
  gitc() { GIT_CONFIG_GLOBAL=/dev/null git -C "$repo" -c user.name=ci -c user.email=ci@example.com "$@"; }
  gitc init -q
  printf 'repos:\n  - repo: %s\n    rev: %s\n    hooks:\n      - id: vendorscope-scan\n' "$root" "$rev" > "$repo/.pre-commit-config.yaml"
  echo "just text" > "$repo/clean.txt"
  gitc add .
  # pre-commit runs `cargo install --path .` (without --locked); the static build's flags and
  # target folder let it reuse the dependencies compiled in step 1.
  (cd "$repo" && PRE_COMMIT_HOME="$work/pre-commit" RUSTFLAGS='-C target-feature=+crt-static' \
    CARGO_BUILD_TARGET="$host" CARGO_TARGET_DIR="$static_target" pre-commit install-hooks)
  (cd "$repo" && PRE_COMMIT_HOME="$work/pre-commit" VENDORSCOPE_FINGERPRINT_KEY=ci pre-commit run --all-files)
  echo "pre-commit: a clean repository passes"
  # A synthetic Stripe test key in a staged file: the hook fails the commit.
  key="sk_test_$(python3 -c 'import random,string; r=random.Random(7); print("".join(r.choice(string.ascii_letters+string.digits) for _ in range(24)))')"
  printf 'STRIPE_SECRET_KEY=%s\n' "$key" > "$repo/config.env"
  gitc add config.env
  if (cd "$repo" && PRE_COMMIT_HOME="$work/pre-commit" VENDORSCOPE_FINGERPRINT_KEY=ci pre-commit run > "$work/hook.txt" 2>&1); then
    cat "$work/hook.txt"; echo "the hook passed a staged key"; exit 1
  fi
  grep -q "config.env" "$work/hook.txt" || { cat "$work/hook.txt"; echo "the hook did not name the file"; exit 1; }
  if grep -qF "$key" "$work/hook.txt"; then echo "the hook printed the key"; exit 1; fi
  echo "pre-commit: a staged key fails the hook, named by file, never printed"
fi
echo "distribution build checks passed"
