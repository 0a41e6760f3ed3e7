#!/usr/bin/env bash
# The acceptance checks again, with the LD_PRELOAD hook switched off
# (sandbox.hook.enabled: false): the tracer alone must hold the line. Run through the
# shared lab:  AGENTSH_LAB_INNER=tests/acceptance/tracer_only.sh ../shared/acceptance/run.sh .
# (run.sh sets HERE to the shared acceptance directory.)
set -u
source "$HERE/setup.sh"
# setup.sh installed the reference config; switch the hook off in the lab's overlay of
# /etc and restart the server on it.
python3 - <<'PY'
import re
p = "/etc/agentsh/config.yaml"
s = open(p).read()
s = re.sub(r"(?m)^sandbox:\n", "sandbox:\n  hook:\n    enabled: false\n", s, count=1)
open(p, "w").write(s)
PY
kill "$AGENTSH_SERVER_PID" 2>/dev/null; wait "$AGENTSH_SERVER_PID" 2>/dev/null
agentsh server --config /etc/agentsh/config.yaml >"$LAB/server.log" 2>&1 &
AGENTSH_SERVER_PID=$!
for _ in $(seq 100); do
  curl -s --max-time 1 http://127.0.0.1:18080/health 2>/dev/null | grep -q ok && break
  sleep 0.1
done
out=$(agentsh exec -- /bin/sh -c 'echo "${LD_PRELOAD:-no-hook}"' 2>&1)
[[ $out == no-hook ]] || echo "NOTE: the hook is still injected: $out"
# The checks themselves: inner.sh without its first `source setup.sh`.
checks=$(mktemp /tmp/tracer-only-checks.XXXXXX)
sed '0,/^source "\$HERE\/setup.sh"/d' "$HERE/inner.sh" > "$checks"
source "$checks"
rm -f "$checks"
