#!/usr/bin/env bash
# The shared correlation store's cost, one command: builds the release binary the image ships (as
# benches/load.sh does), installs redis-server and h2load if missing, and runs benches/store.py:
# latency and throughput of a judged exec without and with --correlation-store (Redis on
# loopback), side by side, and Redis memory per identity at the caps.
#   benches/store.sh [--rounds 3] [--requests 20000] [--rate 500] [--rate-seconds 10] [--identities 10000]
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v h2load >/dev/null || missing+=(nghttp2-client)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
target=$(rustc -vV | sed -n 's/^host: //p')
RUSTFLAGS="-C target-feature=+crt-static" RECONGUARD_REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  cargo build --release --locked -q --target "$target" --target-dir target/static -p reconguard --bin reconguard
export RECONGUARD_BINARY="target/static/$target/release/reconguard"
exec python3 benches/store.py "$@"
