#!/usr/bin/env bash
# Stripe's own mock (only where ../shared/tools/stripe-mock exists): every request the Stripe
# connector sends for an sk_ and an rk_ key passes the mock's 2023-08-16 contract validation.
# The test starts the mock on loopback and always kills it.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x ../shared/tools/stripe-mock/stripe-mock ]; then
  echo "skipped: ../shared/tools/stripe-mock/stripe-mock not found"
  exit 0
fi
VENDORSCOPE_REQUIRE_STRIPE_MOCK=1 cargo test --quiet --test stripe_contract stripe_mock_rejects_no_request -- --nocapture
