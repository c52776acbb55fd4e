#!/usr/bin/env bash
# Renders an HTML report in headless Chromium (network off) to a PNG and checks it is not blank,
# then checks the DOM Chromium built (--dump-dom): the control-coverage chart lists its controls
# in natural order (A.5.9 before A.5.36; A.5 < A.6 < A.8), each with its title and its counts
# (pass / fail / unknown) or "not assessed", with an axis and a legend.
# Usage: .ci/html-render.sh REPORT.html [OUT.png]
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 REPORT.html [OUT.png]" >&2; exit 2; }
html="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
png="${2:-${html%.html}.png}"
chrome="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
[ -n "$chrome" ] || { echo "chromium not found (apt-get install -y chromium)" >&2; exit 2; }
profile="$(mktemp -d)"
dom="$(mktemp)"
trap 'rm -rf "$profile" "$dom"' EXIT
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

timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --no-first-run --disable-default-apps --disable-sync \
  --proxy-server='http://127.0.0.1:9' --proxy-bypass-list='<-loopback>' \
  --user-data-dir="$profile" --dump-dom "file://$html" >"$dom" 2>/dev/null || true
[ -s "$dom" ] || { echo "no DOM dumped" >&2; exit 1; }
python3 - "$dom" <<'PY'
import re, sys
from html.parser import HTMLParser

class Chart(HTMLParser):
    """Collects the coverage chart's rows: control id, status, texts."""
    def __init__(self):
        super().__init__()
        self.rows, self.row, self.texts, self.depth, self.in_chart = [], None, [], 0, False
        self.axis = self.legend = False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'svg' and a.get('id') == 'coverage-chart':
            self.in_chart = True
        if not self.in_chart:
            return
        cls = a.get('class', '')
        if tag == 'g' and cls == 'coverage-row':
            self.row = {'control': a.get('data-control'), 'status': a.get('data-status'), 'text': [], 'label': [], 'bars': 0, 'cur': ''}
        elif tag == 'g' and cls == 'axis':
            self.axis = True
        elif tag == 'g' and cls == 'legend':
            self.legend = True
        elif tag == 'rect' and self.row is not None:
            self.row['bars'] += 1
        elif tag == 'text' and self.row is not None:
            self.row['cur'] = cls
    def handle_endtag(self, tag):
        if tag == 'text' and self.row is not None:
            self.row['cur'] = ''
        if tag == 'g' and self.row is not None:
            self.rows.append(self.row); self.row = None
        if tag == 'svg':
            self.in_chart = False
    def handle_data(self, d):
        if self.row is not None and d.strip():
            self.row['text'].append(d.strip())
            if self.row['cur'] == 'control':
                self.row['label'].append(d.strip())

p = Chart(); p.feed(open(sys.argv[1], encoding='utf-8').read())
rows = p.rows
assert rows, 'no control-coverage chart rows in the rendered DOM'
key = lambda c: [int(x) for x in c.split('.')[1:]]
ids = [r['control'] for r in rows]
assert ids == sorted(ids, key=key), f'controls not in natural order: {ids}'
counts = re.compile(r'^\d+ pass · \d+ fail · \d+ unknown')
for r in rows:
    text = ' '.join(r['text'])
    label = r['label']
    assert label[:1] == [r['control']] and len(' '.join(label[1:])) > 3, f"{r['control']}: no title in {label!r}"
    if r['status'] == 'not assessed':
        assert 'not assessed' in text and r['bars'] == 0, f"{r['control']}: {text!r}"
    else:
        assert any(counts.match(t) for t in r['text']), f"{r['control']}: no counts in {text!r}"
        assert r['bars'] > 0, f"{r['control']}: no bar"
assert p.axis and p.legend, 'chart without axis or legend'
print(f"coverage chart: {len(rows)} controls in natural order ({ids[0]} … {ids[-1]}), each with title and counts")
PY
