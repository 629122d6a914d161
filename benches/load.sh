#!/usr/bin/env bash
# The server load harness, one command: builds the release binary the image ships and the baseline webhook
# (benches/baseline), installs h2load if missing, and runs benches/load.py, which
# drives both side by side on loopback and prints every figure as a ratio to the baseline.
#   benches/load.sh [--smoke] [--rounds 3] [--requests 40000] [--rate-seconds 10] [--soak 600]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v h2load >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nghttp2-client >/dev/null
}
# The binary the image ships: built as scripts/build-image builds it (static, same flags, target
# and revision), so after an image build only the baseline's one file is left to compile (a package
# of its own: an example would first compile every dev-dependency in release mode).
target=$(rustc -vV | sed -n 's/^host: //p')
RUSTFLAGS="-C target-feature=+crt-static" RECONGUARD_REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  cargo build --release --locked -q --target "$target" --target-dir target/static \
  -p reconguard --bin reconguard -p baseline-webhook --bin baseline_webhook
export RECONGUARD_BINARY="target/static/$target/release/reconguard"
export BASELINE_BINARY="target/static/$target/release/baseline_webhook"
exec python3 benches/load.py "$@"
