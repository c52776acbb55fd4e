#!/usr/bin/env bash
# Exposure quality gate on the labelled corpus (only where ../shared/bench exists).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --quiet
bash bench/exposure.sh
