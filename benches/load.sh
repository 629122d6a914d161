#!/usr/bin/env bash
# Load harness for the webhook: a release build of `reconguard serve` on loopback with a generated
# certificate, driven by h2load (HTTP/2 over TLS, as the API server talks) with AdmissionReviews
# from the corpus. Bounded: a fixed number of requests to 127.0.0.1 only.
#   benches/load.sh [requests] [clients] [streams-per-client]
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-20000}
clients=${2:-8}
streams=${3:-4}
command -v h2load >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nghttp2-client >/dev/null; }
cargo build --release --locked -q
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
target/release/reconguard certs --service localhost --namespace default --out "$work" >/dev/null
target/release/reconguard serve --listen 127.0.0.1:18443 --metrics-listen 127.0.0.1:19090 \
  --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" --decision-log /dev/null --shutdown-delay 0 2>"$work/serve.log" &
pid=$!
for _ in $(seq 50); do curl -sf --cacert "$work/ca.crt" https://127.0.0.1:18443/healthz >/dev/null 2>&1 && break; sleep 0.1; done
for review in exec-connect.json exec-nmap-wrapped.json pod-create.json; do
  echo "== $review: $requests requests, $clients clients x $streams streams"
  h2load -n "$requests" -c "$clients" -m "$streams" -d "tests/corpus/$review" \
    -H 'content-type: application/json' https://127.0.0.1:18443/validate \
    | grep -E '^(finished in|requests:|status codes:|time for request:)'
done
