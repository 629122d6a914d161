#!/usr/bin/env bash
# The image as the chart runs it: built by scripts/build-image, started with `buildah run`
# (chroot isolation shares the host's network here), and spoken to over TLS as the API server
# would. Checks the embedded defaults (`serve` with no flags: self-signed, CA in the log), a
# denied exec review, the numeric non-root user, the OCI labels, the size, and that the chart's
# image reference is what the release pipeline pushes.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/lib/check.sh

export BUILDAH_FLAGS="--storage-driver vfs"
bh() { buildah --storage-driver vfs "$@"; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
work=$(mktemp -d)
container=""
cleanup() {
  # `buildah run` does not pass a signal on to the chroot'ed process: stop the server itself (by
  # its unique listen address), then the runner, then remove the container.
  if [ -n "${runner:-}" ]; then
    pkill -KILL -f -- "--listen 127.0.0.1:$port " 2>/dev/null
    kill "$runner" 2>/dev/null
    wait "$runner" 2>/dev/null
  fi
  [ -n "$container" ] && bh rm "$container" >/dev/null 2>&1
  # Earlier builds of the same tag are left untagged; drop them.
  bh rmi --prune >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

image=$(scripts/build-image 2>"$work/build.log" | tail -1)
check "scripts/build-image builds localhost/reconguard:$version" \
  bash -c "[ '$image' = 'localhost/reconguard:$version' ] || { cat '$work/build.log'; exit 1; }"

inspect() { bh inspect --type image "$image"; }
image_config() {
  inspect | python3 -c '
import json, sys
img = json.load(sys.stdin)
cfg = img["OCIv1"]["config"]
labels = cfg.get("Labels") or {}
want_version = sys.argv[1]
assert cfg.get("User") == "65532:65532", cfg.get("User")
assert cfg.get("Entrypoint") == ["/reconguard"], cfg.get("Entrypoint")
assert cfg.get("Cmd") == ["serve"], cfg.get("Cmd")
for key in ("source", "version", "revision", "licenses", "description"):
    assert labels.get("org.opencontainers.image." + key), key
assert labels["org.opencontainers.image.version"] == want_version, labels
assert labels["org.opencontainers.image.licenses"] == "Apache-2.0", labels
assert len(img["OCIv1"]["rootfs"]["diff_ids"]) == 1, "one layer: the binary"
' "$version"
}
check "image: user 65532, entrypoint /reconguard serve, OCI labels, one layer" image_config

# The budget was 20 MB until the Kubernetes client arrived (pod cache, Events, labeller, scan:
# kube-client, kube-runtime and their typed resources add about 9 MB); measured 24.3 MB.
size_under_30mb() {
  local bytes
  container=$(bh from "$image")
  local mount
  mount=$(bh mount "$container")
  bytes=$(du -sb "$mount" | cut -f1)
  bh umount "$container" >/dev/null
  echo "image content: $bytes bytes"
  [ "$bytes" -lt $((30 * 1024 * 1024)) ] && [ ! -e "$mount/bin/sh" ]
}
check "image content is under 30 MB and holds no shell" size_under_30mb

# Serve from the image with nothing but ports: the embedded policy and a self-signed
# certificate, whose CA is read from the log.
port=$((20000 + RANDOM % 20000))
metrics=$((port + 1))
[ -z "$container" ] && container=$(bh from "$image")
bh run --isolation chroot "$container" -- /reconguard serve \
  --listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$metrics" >"$work/serve.log" 2>&1 &
runner=$!

serving() {
  for _ in $(seq 1 100); do
    if [ -s "$work/ca.pem" ] && curl -fsS --cacert "$work/ca.pem" "https://localhost:$port/healthz" >/dev/null 2>&1; then
      return 0
    fi
    python3 - "$work/serve.log" >"$work/ca.pem" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
for line in text.splitlines():
    try:
        pem = json.loads(line).get("fields", {}).get("ca_pem")
    except ValueError:
        continue
    if pem:
        print(pem, end="")
        break
else:
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)
    print(m.group(0) if m else "")
PY
    sleep 0.2
  done
  cat "$work/serve.log"
  return 1
}
check "serve from the image on embedded defaults answers /healthz over TLS (CA from the log)" serving

denied() {
  local out
  out=$(curl -fsS --http2 --cacert "$work/ca.pem" -H 'Content-Type: application/json' \
    --data @tests/corpus/exec-reverse-shell.json "https://localhost:$port/validate")
  echo "$out" | python3 -c '
import json, sys
r = json.load(sys.stdin)["response"]
assert r["allowed"] is False and "exec-reverse-shell" in r["status"]["message"], r'
}
check "a reverse-shell exec review is denied by the webhook in the image" denied

uid_65532() {
  local pid
  pid=$(pgrep -f "^/reconguard serve --listen 127.0.0.1:$port" | head -1)
  [ -n "$pid" ] || { ps -ef | grep reconguard; return 1; }
  grep -E '^Uid:' "/proc/$pid/status"
  grep -qE '^Uid:\s+65532\s+65532' "/proc/$pid/status"
}
check "the webhook in the image runs as uid 65532" uid_65532

chart_matches_release() {
  python3 - "$version" <<'PY'
import sys, yaml, re
version = sys.argv[1]
chart = yaml.safe_load(open("charts/reconguard/Chart.yaml"))
values = yaml.safe_load(open("charts/reconguard/values.yaml"))
assert chart["appVersion"] == version, (chart["appVersion"], version)
assert chart["version"] == version, (chart["version"], version)
repo = values["image"]["repository"]
assert repo == "ghcr.io/reconguard/reconguard", repo
assert values["image"]["tag"] in ("", version), values["image"]["tag"]
PY
}
check "the chart's image and versions are what the release pushes (Cargo.toml $version)" chart_matches_release

version_line() {
  local line
  line=$(bh run --isolation chroot "$container" -- /reconguard --version)
  echo "$line"
  [[ "$line" == "reconguard $version (commit "*")" ]]
}
check "reconguard --version in the image names the version and the commit" version_line

checks_summary image
