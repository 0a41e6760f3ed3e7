#!/bin/sh
# Re-run under the real bash: /usr/bin/bash may be the agentsh shim.
if [ -z "${BASH_VERSION:-}" ]; then
  for b in /usr/bin/bash.real /bin/bash.real /usr/bin/bash /bin/bash; do
    [ -x "$b" ] && exec "$b" "$0" "$@"
  done
  echo "verify.sh: needs bash" >&2
  exit 2
fi
# scripts/verify.sh — checks an installed agentsh end to end, as root. One line per check
# (PASS/FAIL, what was seen), then "verify: N passed, N failed"; exit 1 when any failed.
#
# Nothing here changes the host: the file-write check runs in a private mount namespace
# with an overlay over /etc, and the private-address check in a private network namespace
# whose only "outside" is a listener on 10.0.0.1 inside it. Audit rows it causes are real
# (they are what the audit check looks for).
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=verify
# shellcheck source=lib/common.sh
source "$TOP/scripts/lib/common.sh"

case ${1:-} in
  -h | --help) echo "Usage: sudo scripts/verify.sh   (checks the agentsh that scripts/install.sh installed)"; exit 0 ;;
  "") ;;
  *) usage_error "unknown option '$1'" ;;
esac
need_root
exec </dev/null
unset AGENTSH_SHIM_FORCE AGENTSH_IN_SESSION AGENTSH_SNAPSHOT
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RBASH=$(real_bash)

load_install_state || true
PREFIX=${I_PREFIX:-/usr/local}
AGENTSH=$PREFIX/bin/agentsh
[[ -x $AGENTSH ]] || AGENTSH=$(command -v agentsh || echo "$PREFIX/bin/agentsh")
# What a login shell would get (install.sh writes it), else the install record.
if [[ -r /etc/profile.d/agentsh.sh ]]; then
  # shellcheck disable=SC1091
  source /etc/profile.d/agentsh.sh
fi
SERVER=${AGENTSH_SERVER:-http://${I_ADDR:-$(config_addr /etc/agentsh/config.yaml)}}
SID=${AGENTSH_SESSION_ID:-${I_SESSION_ID:-}}
unset AGENTSH_SESSION_ID
TAG=verify-$$-$RANDOM
WORK=$(mktemp -d /tmp/agentsh-verify.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

PASS=0 FAIL=0
pass() { PASS=$((PASS + 1)); printf '%sPASS%s %-14s %s\n' "$C_GREEN" "$C_OFF" "$1" "$2"; }
fail() { FAIL=$((FAIL + 1)); printf '%sFAIL%s %-14s %s\n' "$C_RED" "$C_OFF" "$1" "$2"; }
# first line of a command's output, for messages
first() { head -n1 <<<"$1" | cut -c1-160; }
SESSION_ARGS=()
ax() { "$AGENTSH" exec "${SESSION_ARGS[@]}" -- "$@"; }

echo "${C_BOLD}agentsh verify${C_OFF} ($AGENTSH, server $SERVER${SID:+, session $SID})"

# ---- the installed files ------------------------------------------------------------------
if ver=$("$AGENTSH" --version 2>&1) && [[ -x $PREFIX/bin/agentsh-shell-shim && -r $PREFIX/lib/agentsh/libagentsh_hook.so ]]; then
  pass binaries "$(first "$ver"); shim and hook library in $PREFIX"
else
  fail binaries "missing or broken under $PREFIX: ${ver:-no agentsh} (rerun scripts/install.sh)"
fi
if out=$("$AGENTSH" policy validate /etc/agentsh/policies/default.yaml 2>&1); then
  pass policy "$(first "$out")"
else
  fail policy "$(first "$out")"
fi

# ---- server and session -------------------------------------------------------------------
if health "$SERVER"; then
  pass server "$SERVER/health answers ok"
else
  fail server "$SERVER/health does not answer ok (supervisor log: /var/log/agentsh/server.log, or journalctl -u agentsh)"
fi
if [[ -z $SID ]]; then
  fail session "no session id in /etc/profile.d/agentsh.sh or the install record (rerun scripts/install.sh)"
elif "$AGENTSH" session list --json 2>/dev/null | grep -q "\"id\": *\"$SID\""; then
  pass session "$SID exists"
  SESSION_ARGS=(--session "$SID")
else
  fail session "$SID is not in 'agentsh session list' (expired? rerun scripts/install.sh to make a new one)"
fi

# ---- commands ---------------------------------------------------------------------------
code=0
out=$(ax sudo true "$TAG" 2>&1) || code=$?
if [[ $code -eq 126 && $out == *"blocked by policy"* ]]; then
  pass blocked-cmd "sudo: exit 126, $(first "$out")"
else
  fail blocked-cmd "sudo: expected exit 126 and 'blocked by policy', got exit $code: $(first "$out")"
fi
code=0
out=$(ax /bin/echo "$TAG-allowed" 2>&1) || code=$?
if [[ $code -eq 0 && $out == *"$TAG-allowed"* ]]; then
  pass allowed-cmd "/bin/echo ran (exit 0)"
else
  fail allowed-cmd "/bin/echo: expected exit 0 and its output, got exit $code: $(first "$out")"
fi

# ---- a write to /etc, inside a private mount namespace (an overlay takes any write) --------
# The overlay's upper layer sits on a tmpfs of that namespace (an overlay cannot have its
# upper layer on another overlay, as in containers); the namespace reports what landed.
if command -v unshare >/dev/null; then
  target=/etc/agentsh-$TAG
  mkdir -p "$WORK/ov"
  out=$(unshare --mount --propagation private "$RBASH" -c '
      ov=$1 name=$2; shift 2
      mount -t tmpfs tmpfs "$ov" && mkdir "$ov/u" "$ov/w" &&
        mount -t overlay overlay -o "lowerdir=/etc,upperdir=$ov/u,workdir=$ov/w" /etc ||
        { echo "overlay failed"; exit 99; }
      "$@"; rc=$?
      [ -e "$ov/u/$name" ] && echo "AGENTSH-VERIFY-WRITTEN"
      exit $rc' _ "$WORK/ov" "${target#/etc/}" \
      "$AGENTSH" exec "${SESSION_ARGS[@]}" -- /usr/bin/touch "$target" 2>&1)
  code=$?
  if [[ $code -eq 99 ]]; then
    fail file-write "could not build the private /etc overlay: $(first "$out")"
  elif [[ $out == *AGENTSH-VERIFY-WRITTEN* ]]; then
    fail file-write "touch $target succeeded under policy (exit $code): the write was not stopped (it landed in a throwaway overlay)"
  elif [[ $code -ne 0 ]]; then
    pass file-write "touch $target refused (exit $code): $(first "$out")"
  else
    fail file-write "touch $target exited 0 but wrote nothing: unexpected"
  fi
else
  fail file-write "unshare (util-linux) is missing: cannot test a write safely"
fi

# ---- a private address: the policy's answer, then a real connect in a private netns ------
out=$("$AGENTSH" debug policy-test --op net_connect --path 10.0.0.1:80 2>&1)
if grep -q '^Decision: *DENY' <<<"$out"; then
  pass net-policy "10.0.0.1:80: $(grep -m1 '^Rule:' <<<"$out" | tr -s ' ')"
else
  fail net-policy "10.0.0.1:80 is not denied by the policy: $(first "$out")"
fi
if command -v python3 >/dev/null && command -v ip >/dev/null && command -v curl >/dev/null; then
  out=$(unshare --net "$RBASH" -c '
      ip link set lo up && ip addr add 10.0.0.1/32 dev lo || { echo "netns setup failed"; exit 99; }
      python3 -c "
import socket, sys
s = socket.socket(); s.bind((\"10.0.0.1\", 80)); s.listen(4); s.settimeout(12)
open(sys.argv[1] + \".ready\", \"w\").close()
try:
    c, _ = s.accept(); open(sys.argv[1], \"w\").write(\"connected\")
except OSError:
    pass
" "$1" & lp=$!
      for i in $(seq 50); do [ -e "$1.ready" ] && break; sleep 0.1; done
      shift; "$@"; rc=$?; kill $lp 2>/dev/null; wait $lp 2>/dev/null; exit $rc' \
    _ "$WORK/net-hit" "$AGENTSH" exec "${SESSION_ARGS[@]}" -- curl -s -o /dev/null --noproxy '*' --max-time 5 "http://10.0.0.1/$TAG" 2>&1)
  code=$?
  if [[ $code -eq 99 ]]; then
    fail net-connect "could not build the private network namespace: $(first "$out")"
  elif [[ -e $WORK/net-hit ]]; then
    fail net-connect "curl http://10.0.0.1/ reached the listener (in a private netns): the connection was not blocked"
  else
    pass net-connect "curl http://10.0.0.1/ never reached the listener (curl exit $code)"
  fi
else
  fail net-connect "needs python3, ip and curl to test a real connection"
fi

# ---- environment filtering -----------------------------------------------------------------
out=$(AWS_SECRET_ACCESS_KEY="$TAG-secret" ax /usr/bin/env 2>&1)
if [[ $out == *"$TAG-secret"* ]]; then
  fail env-filter "AWS_SECRET_ACCESS_KEY reached the command"
elif [[ $out == *PATH=* ]]; then
  pass env-filter "AWS_SECRET_ACCESS_KEY filtered, PATH passed"
else
  fail env-filter "env did not run: $(first "$out")"
fi

# ---- the shell shim ---------------------------------------------------------------------------
out=$("$AGENTSH" shim status 2>&1)
if grep -q '^bash: installed' <<<"$out"; then
  detail="/bin/bash is the shim, the real shell is /usr/bin/bash.real"
  if [[ ${I_SHIM:-bash-only} == bash-only ]] && grep -q '^sh: installed' <<<"$out"; then
    fail shim "--bash-only install, but /bin/sh is shimmed too"
  elif [[ $(/bin/bash -c "echo $TAG-bypass" 2>&1) != "$TAG-bypass" ]]; then
    fail shim "$detail, but a non-TTY 'bash -c echo' does not pass through"
  else
    code=0
    forced=$(AGENTSH_SHIM_FORCE=1 /bin/bash -c "sudo true" 2>&1) || code=$?
    if [[ $code -eq 126 ]]; then
      pass shim "$detail; non-TTY passes through; AGENTSH_SHIM_FORCE=1 bash -c sudo: exit 126"
    else
      fail shim "$detail, but AGENTSH_SHIM_FORCE=1 bash -c 'sudo true' gave exit $code: $(first "$forced")"
    fi
  fi
elif [[ ${I_SHIM:-} == none ]]; then
  pass shim "not installed (install.sh --no-shim)"
else
  fail shim "$(grep -m1 '^bash:' <<<"$out" || first "$out")"
fi

# ---- the audit trail ---------------------------------------------------------------------------
out=$("$AGENTSH" events query --since 10m --limit 2000 --json 2>&1)
if grep -q "$TAG" <<<"$out" && grep "$TAG" <<<"$out" | grep -q '"decision": *"deny"'; then
  rows=$(grep -c "$TAG" <<<"$out")
  pass audit "$rows rows of this run in the audit store, the sudo denial among them"
elif grep -q "$TAG" <<<"$out"; then
  fail audit "rows of this run found, but no deny row for sudo"
else
  fail audit "no audit row of this run in 'agentsh events query': $(first "$out")"
fi

# ---- the HTTP API -----------------------------------------------------------------------------
if [[ -n $SID ]]; then
  out=$(curl -s --noproxy '*' --max-time 30 -X POST "$SERVER/api/v1/sessions/$SID/exec" \
    -H 'Content-Type: application/json' \
    -d "{\"command\":\"/bin/echo\",\"args\":[\"$TAG-api\"]}" 2>&1)
  if [[ $out == *'"exit_code":0'* && $out == *"$TAG-api"* ]]; then
    pass api-exec "POST /api/v1/sessions/$SID/exec ran echo (exit 0)"
  else
    fail api-exec "POST /api/v1/sessions/$SID/exec: $(first "$out")"
  fi
else
  fail api-exec "no session to run a command in"
fi

echo "verify: $PASS passed, $FAIL failed"
[[ $FAIL -eq 0 ]]
