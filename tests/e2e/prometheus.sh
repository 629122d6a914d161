#!/usr/bin/env bash
# End to end with a real Prometheus: `reconguard serve` and `prometheus` (Debian package) on
# loopback, Prometheus scraping the metrics port every second with the chart's rules file loaded.
# Denied reviews are sent over HTTP/2 and TLS; the denial and high-risk alerts must go pending or
# firing in Prometheus's API, and every dashboard query must be accepted. Bounded: a few requests
# to 127.0.0.1, 90 s at most.
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=${RECONGUARD_BIN:-target/debug/reconguard}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$work"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
https=$(free_port); metrics=$(free_port); prom=$(free_port)

"$bin" certs --service localhost --namespace test --out "$work/certs" >/dev/null || fail "certs"
"$bin" serve --listen "127.0.0.1:$https" --metrics-listen "127.0.0.1:$metrics" \
  --tls-cert "$work/certs/tls.crt" --tls-key "$work/certs/tls.key" --decision-log "$work/decisions.jsonl" --shutdown-delay 0 \
  >"$work/serve.log" 2>&1 &
pids+=($!)

cat > "$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/charts/reconguard/files/alerts.yaml
scrape_configs:
  - job_name: reconguard
    static_configs:
      - targets: ["127.0.0.1:$metrics"]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom" >"$work/prometheus.log" 2>&1 &
pids+=($!)

wait_for() { # what, command...
  local what=$1; shift
  for _ in $(seq 1 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  fail "timed out waiting for $what"
}
wait_for "reconguard" curl -sf --cacert "$work/certs/ca.crt" "https://localhost:$https/readyz"
wait_for "prometheus" curl -sf "http://127.0.0.1:$prom/-/ready"
wait_for "the first scrape" bash -c "curl -sf 'http://127.0.0.1:$prom/api/v1/query?query=up' | grep -q '\"1\"'"

for review in exec-nmap-wrapped.json exec-reverse-shell.json exec-nmap-wrapped.json; do
  out=$(curl -s --http2 --cacert "$work/certs/ca.crt" -H 'content-type: application/json' \
    --data-binary "@tests/corpus/$review" "https://localhost:$https/validate")
  echo "$out" | grep -q '"allowed":false' || fail "expected a denial for $review: $out"
done
echo "PASS: reconguard denied 3 reviews over HTTP/2"

alert_active() { # alertname label=value...
  curl -sf "http://127.0.0.1:$prom/api/v1/alerts" | python3 -c '
import sys, json
name, *labels = sys.argv[1:]
alerts = json.load(sys.stdin)["data"]["alerts"]
want = dict(l.split("=", 1) for l in labels)
ok = any(a["labels"].get("alertname") == name and a["state"] in ("pending", "firing")
         and all(a["labels"].get(k) == v for k, v in want.items()) for a in alerts)
sys.exit(0 if ok else 1)
' "$@"
}
wait_for "ReconguardRequestsDenied for shop/exec-network-scan" alert_active ReconguardRequestsDenied namespace=shop rule=exec-network-scan
echo "PASS: ReconguardRequestsDenied is active with namespace=shop rule=exec-network-scan"
wait_for "ReconguardHighRiskExec for exec-reverse-shell" alert_active ReconguardHighRiskExec rule=exec-reverse-shell technique=T1059.004
echo "PASS: ReconguardHighRiskExec is active for exec-reverse-shell (T1059.004)"
if alert_active ReconguardWebhookDown; then fail "ReconguardWebhookDown is active while the webhook is up"; fi
echo "PASS: ReconguardWebhookDown stays quiet"

python3 - "$prom" <<'PY' || fail "dashboard queries"
import json, sys, urllib.parse, urllib.request
port = sys.argv[1]
dash = json.load(open("charts/reconguard/files/dashboard.json"))
for panel in dash["panels"]:
    for target in panel["targets"]:
        expr = target["expr"].replace("$__rate_interval", "1m")
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        body = json.load(urllib.request.urlopen(url))
        assert body["status"] == "success", (panel["title"], expr, body)
print(f"PASS: all {sum(len(p['targets']) for p in dash['panels'])} dashboard queries are accepted by Prometheus")
PY
echo "e2e prometheus: 5 passed, 0 failed"
