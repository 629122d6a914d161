#!/usr/bin/env bash
# The server load harness, one command: builds the release binary and the baseline webhook
# (benches/baseline_webhook.rs), installs h2load if missing, and runs benches/load.py, which
# drives both side by side on loopback and prints every figure as a ratio to the baseline.
#   benches/load.sh [--smoke] [--rounds 3] [--requests 40000] [--rate-seconds 10] [--soak 600]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v h2load >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nghttp2-client >/dev/null
}
cargo build --release --locked -q --bin reconguard --example baseline_webhook
exec python3 benches/load.py "$@"
