#!/usr/bin/env bash
# `reconguard replay` throughput and peak memory on a generated audit log (benches/replay.py):
#   benches/replay.sh [--megabytes 1024]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q --bin reconguard
exec python3 benches/replay.py --binary target/release/reconguard "$@"
