#!/usr/bin/env bash
# The CI examples and the YAML snippets in the README parse as YAML.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -c "import yaml" 2>/dev/null || pip install -q pyyaml
python3 - <<'PY'
import re, yaml
for f in ["examples/github/vendorscope.yml", "examples/gitlab/.gitlab-ci.yml", ".pre-commit-hooks.yaml"]:
    yaml.safe_load(open(f))
    print(f"{f}: ok")
blocks = re.findall(r"```yaml\n(.*?)```", open("README.md").read(), re.S)
for i, b in enumerate(blocks):
    yaml.safe_load(b)
print(f"README.md: {len(blocks)} YAML block(s) ok")
PY
