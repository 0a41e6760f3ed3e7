#!/usr/bin/env bash
# Runs every test suite and prints one total line: "N passed, N failed".
# Suites: unit (gtest), integration (gtest, drives the built binaries), and — as root —
# the acceptance suite in ../shared/acceptance (counted from the start, so its standing
# is always visible). Set AGENTSH_SKIP_ACCEPTANCE=1 to leave it out locally.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
BUILD=${BUILD:-build}
total_pass=0 total_fail=0
logdir=$(mktemp -d /tmp/agentsh-tests.XXXXXX)

# Reads gtest's summary lines from a log: "[  PASSED  ] N tests." / "[  FAILED  ] N tests,"
gtest_counts() {
  local log=$1 p f
  p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$log" | tail -n1 | grep -oE '[0-9]+' | head -n1)
  # --gtest_brief prints one "[  FAILED  ] Suite.Test (N ms)" line per failed test.
  f=$(grep -E '^\[  FAILED  \] [A-Za-z_0-9/]+\.[A-Za-z_0-9/]+' "$log" | sort -u | wc -l)
  echo "${p:-0} ${f:-0}"
}

run_gtest() {
  local name=$1 bin=$2 log=$logdir/$1.log
  if [[ ! -x $bin ]]; then
    echo "== $name: $bin missing"
    total_fail=$((total_fail + 1))
    return
  fi
  echo "== $name"
  "$bin" --gtest_brief=1 >"$log" 2>&1 </dev/null
  local rc=$?
  read -r p f < <(gtest_counts "$log")
  grep -E -A8 '^[^ ]+:[0-9]+: Failure' "$log" | head -n 80
  if [[ $rc -ne 0 && $f -eq 0 ]]; then
    echo "   $name exited $rc without a gtest summary (crash?); last lines:"
    tail -n 20 "$log" | sed 's/^/   | /'
    f=1
  fi
  echo "   $name: $p passed, $f failed"
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
}

run_gtest unit "$BUILD/tests/unit_tests"
run_gtest integration "$BUILD/tests/integration_tests"

# The acceptance suite (counted from the start, so its standing is always visible), and
# the same checks again with the hook switched off (the tracer alone must hold the line)
# and with the tracer switched off (the hook alone).
run_acceptance() {
  local name=$1 log=$logdir/$1.log line p f
  shift
  echo "== $name"
  env "$@" timeout 900 "$shared/acceptance/run.sh" "$top" >"$log" 2>&1
  line=$(grep -E '^[a-z_]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n1)
  grep -E '^FAILED|^NOTE' "$log" | head -n 120
  if [[ -n $line ]]; then
    p=$(sed -E 's/^[a-z_]+: ([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
  else
    echo "   $name did not report; last lines:"
    tail -n 20 "$log" | sed 's/^/   | /'
    p=0 f=1
  fi
  echo "   $name: $p passed, $f failed"
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
}

shared=$(cd "$top/../shared" 2>/dev/null && pwd)
if [[ ${AGENTSH_SKIP_ACCEPTANCE:-0} != 1 && $EUID -eq 0 && -n $shared && -x $shared/acceptance/run.sh ]]; then
  run_acceptance acceptance
  run_acceptance acceptance-tracer-only AGENTSH_LAB_INNER="$top/tests/acceptance/tracer_only.sh"
  # And with the tracer off (where ptrace is unavailable): the hook and its broker alone.
  run_acceptance acceptance-hook-only AGENTSH_LAB_INNER="$top/tests/acceptance/hook_exec_only.sh"
else
  echo "== acceptance: skipped (needs root and ../shared/acceptance)"
fi

# Operator scripts: install -> verify -> uninstall in private namespaces (root only).
if [[ ${AGENTSH_SKIP_OPS:-0} != 1 && $EUID -eq 0 && -x tests/ops/install_cycle.sh ]]; then
  run_gtest ops tests/ops/install_cycle.sh
fi
rm -rf "$logdir"
echo "$total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 ]]
