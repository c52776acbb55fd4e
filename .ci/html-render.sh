#!/usr/bin/env bash
# Renders an HTML report in headless Chromium (network off) to a PNG and checks it is not blank.
# Usage: .ci/html-render.sh REPORT.html [OUT.png]
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 REPORT.html [OUT.png]" >&2; exit 2; }
html="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
png="${2:-${html%.html}.png}"
chrome="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
[ -n "$chrome" ] || { echo "chromium not found (apt-get install -y chromium)" >&2; exit 2; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
rm -f "$png"
timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --no-first-run --disable-default-apps --disable-sync \
  --proxy-server='http://127.0.0.1:9' --proxy-bypass-list='<-loopback>' \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1280,4000 \
  --screenshot="$png" "file://$html" >/dev/null 2>&1 || true
[ -s "$png" ] || { echo "no screenshot written" >&2; exit 1; }
python3 - "$png" <<'PY'
import sys, zlib, struct
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat, w, h, ctype = 8, b'', 0, 0, 0
while pos < len(data):
    n, t = struct.unpack('>I4s', data[pos:pos + 8]); body = data[pos + 8:pos + 8 + n]; pos += 12 + n
    if t == b'IHDR': w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
    elif t == b'IDAT': idat += body
raw = zlib.decompress(idat)
bpp = {2: 3, 6: 4}.get(ctype, 3)
stride = w * bpp + 1
colours, dark = set(), 0
prev = bytearray(stride - 1)
for y in range(h):
    line = raw[y * stride:(y + 1) * stride]; f, cur = line[0], bytearray(line[1:])
    for i in range(len(cur)):
        a = cur[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
        if f == 1: cur[i] = (cur[i] + a) & 255
        elif f == 2: cur[i] = (cur[i] + b) & 255
        elif f == 3: cur[i] = (cur[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    if y % 4 == 0:
        for x in range(0, w, 4):
            px = tuple(cur[x * bpp:x * bpp + 3]); colours.add(px)
            if sum(px) < 200: dark += 1
    prev = cur
print(f"{sys.argv[1]}: {w}x{h}, {len(colours)} distinct colours, {dark} dark samples")
if len(colours) < 8 or dark < 500:
    sys.exit('screenshot looks blank')
PY
