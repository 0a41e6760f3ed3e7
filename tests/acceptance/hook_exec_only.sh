#!/usr/bin/env bash
# The acceptance checks again in hook-only mode (sandbox.ptrace.enabled: false): the
# LD_PRELOAD hook and its broker decide exec — in-process through the snapshot's exec
# fast table where it settles the exec, through the broker otherwise. Run through the
# shared lab (which starts the inner script with a clean environment):
#   AGENTSH_LAB_INNER=$PWD/tests/acceptance/hook_exec_only.sh ../shared/acceptance/run.sh .
# To compare with every exec going to the broker, change AGENTSH_HOOK_EXEC_FAST below
# to 0. (run.sh sets HERE to the shared acceptance directory.)
set -u
source "$HERE/setup.sh"
python3 - <<'PY'
import re
p = "/etc/agentsh/config.yaml"
s = open(p).read()
s = re.sub(r"(?m)^(  ptrace:\n    enabled:) true", r"\1 false", s, count=1)
if "ptrace:\n    enabled: false" not in s:
    s = re.sub(r"(?m)^sandbox:\n", "sandbox:\n  ptrace:\n    enabled: false\n", s, count=1)
open(p, "w").write(s)
PY
export AGENTSH_HOOK_EXEC_FAST=1
kill "$AGENTSH_SERVER_PID" 2>/dev/null; wait "$AGENTSH_SERVER_PID" 2>/dev/null
agentsh server --config /etc/agentsh/config.yaml >"$LAB/server.log" 2>&1 &
AGENTSH_SERVER_PID=$!
for _ in $(seq 100); do
  curl -s --max-time 1 http://127.0.0.1:18080/health 2>/dev/null | grep -q ok && break
  sleep 0.1
done
echo "NOTE: hook-only mode, AGENTSH_HOOK_EXEC_FAST=$AGENTSH_HOOK_EXEC_FAST"
checks=$(mktemp /tmp/hook-exec-only-checks.XXXXXX)
sed '0,/^source "\$HERE\/setup.sh"/d' "$HERE/inner.sh" > "$checks"
source "$checks"
rm -f "$checks"
