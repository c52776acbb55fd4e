#!/usr/bin/env bash
# Validates SARIF files with Microsoft's SARIF Multitool (rule kinds Sarif + Gh).
# Usage: .ci/sarif-validate.sh FILE.sarif...   Exit 1 on any error or warning.
# Installs the Multitool with npm into $SARIF_TOOLS_DIR (default .tools/sarif, git-ignored).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 FILE.sarif..." >&2; exit 2; }
dir="${SARIF_TOOLS_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.tools/sarif}"
tool="$dir/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
if [ ! -x "$tool" ]; then
  mkdir -p "$dir"
  (cd "$dir" && npm install --no-audit --no-fund @microsoft/sarif-multitool-linux >/dev/null)
  chmod +x "$tool" 2>/dev/null || true
fi
status=0
for f in "$@"; do
  out="$(DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 "$tool" validate "$f" --rule-kind "Sarif;Gh" 2>&1)" || status=1
  errors=$(grep -c ': error ' <<<"$out" || true)
  warnings=$(grep -c ': warning ' <<<"$out" || true)
  echo "$f: $errors error(s), $warnings warning(s)"
  if [ "$errors" != 0 ] || [ "$warnings" != 0 ] || ! grep -q 'Analysis completed successfully' <<<"$out"; then
    echo "$out" >&2
    status=1
  fi
done
exit $status
