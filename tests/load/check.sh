#!/usr/bin/env bash
# The load harness in its smoke form: reconguard and the baseline webhook built in release mode,
# every body answered 200 with the expected verdict by both, fixed-rate runs and a policy reload
# plus a certificate rotation under load without a failed request. Never judged on timing.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/lib/check.sh
check "load harness smoke (benches/load.sh --smoke): no error, no wrong answer, reload and rotation under load" \
  benches/load.sh --smoke
checks_summary load
