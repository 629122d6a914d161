# Sourced by the shell check scripts (tests/chart, tests/image, tests/workflows): `check NAME
# COMMAND...` runs the command, prints PASS or FAIL (with the tail of its output), and counts;
# `checks_summary WHAT` prints the tally and fails if anything failed.
passed=0
failed=0

check() {
  local name=$1
  shift
  local out
  if out=$("$@" 2>&1); then
    echo "PASS: $name"
    passed=$((passed + 1))
  else
    echo "FAIL: $name"
    echo "$out" | sed 's/^/    /' | tail -40
    failed=$((failed + 1))
  fi
}

checks_summary() {
  echo "$1 checks: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
