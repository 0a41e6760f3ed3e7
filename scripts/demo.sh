#!/bin/sh
# Re-run under the real bash (never the agentsh shim).
if [ -z "${BASH_VERSION:-}" ]; then
  for b in /usr/bin/bash.real /bin/bash.real /usr/bin/bash /bin/bash; do
    [ -x "$b" ] && exec "$b" "$0" "$@"
  done
  echo "demo.sh: needs bash" >&2
  exit 2
fi
# scripts/demo.sh [--keep] | --cleanup LABDIR — see agentsh work, without touching the host.
#
# Builds a throwaway lab (scripts/lab/lab.sh: private mount, pid and network namespaces,
# overlays over the system directories, a second network namespace playing the outside
# world with fake registries, private ranges and cloud metadata), installs agentsh into
# it with scripts/install.sh like an operator would, and runs the policy checks of
# scripts/lab/checks.sh: commands, escalation, network tools, system commands, signals,
# file operations, deletes and the trash, package installs, file policy, the shell shim,
# environment filtering, network policy, multi-context sudo, writes to system paths, the
# audit trail. Results are observed, never assumed: a check fails when the part that
# should enforce it does not.
#
#   --keep             leave the lab running and print how to enter and remove it
#   --cleanup LABDIR   remove a lab left by --keep
# Exit: 0 all checks passed, 1 some failed (or the lab could not be built), 2 usage.
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=demo
# shellcheck source=lib/common.sh
source "$TOP/scripts/lib/common.sh"
# shellcheck source=lab/lab.sh
source "$TOP/scripts/lab/lab.sh"

KEEP=0 CLEANUP=
while [[ $# -gt 0 ]]; do
  case $1 in
    --keep) KEEP=1 ;;
    --cleanup) [[ $# -ge 2 ]] || usage_error "--cleanup needs the lab directory"; CLEANUP=$2; shift ;;
    -h | --help) sed -n '10,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage_error "unknown option '$1'" ;;
  esac
  shift
done
need_root
refuse_if_governed
exec </dev/null
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
unset AGENTSH_SHIM_FORCE AGENTSH_SESSION_ID AGENTSH_SERVER

if [[ -n $CLEANUP ]]; then
  [[ $CLEANUP == /var/tmp/agentsh-demo.* ]] || usage_error "$CLEANUP is not a demo lab (/var/tmp/agentsh-demo.*)"
  lab_load "$CLEANUP" || { echo "demo: no lab state in $CLEANUP" >&2; exit 1; }
  lab_destroy
  echo "demo: removed the lab $CLEANUP"
  exit 0
fi

for a in build/bin/agentsh build/bin/agentsh-shell-shim build/lib/libagentsh_hook.so; do
  [[ -e $TOP/$a ]] || { echo "demo: $TOP/$a is missing: run 'make demo' (or make first)" >&2; exit 2; }
done

WS=/home/project
finish() {
  local rc=$?
  if [[ $KEEP == 1 && -n ${LAB_INIT_PID:-} ]]; then
    echo
    lab_hint
  else
    lab_destroy
  fi
  exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM

echo "${C_BOLD}agentsh demo${C_OFF}: a throwaway lab (private mount, pid and network namespaces; nothing on this host changes)"
if ! lab_create; then
  echo "demo: could not build the lab (above); nothing was changed" >&2
  exit 1
fi
echo "  lab ${C_DIM}$LAB, agent side netns $LAB_NS_IN, outside world netns $LAB_NS_OUT${C_OFF}"

# /bin/sh as the lab sees it before the install (the shim must leave it alone).
SH_TARGET=$(lab_exec readlink -f /bin/sh)
SH_SUM=$(lab_exec sh -c 'sha256sum < "$(readlink -f /bin/sh)"')

echo
echo "${C_BOLD}Installing agentsh in the lab${C_OFF} (scripts/install.sh --no-deps --no-build --workspace $WS)"
lab_exec env -i PATH="$PATH" HOME=/root TERM=dumb NO_COLOR=1 "${BASH:-/bin/bash}" "$TOP/scripts/install.sh" \
  --no-deps --no-build --service supervisor --workspace "$WS" >"$LAB/install.log" 2>&1
install_rc=$?
sed -n '/^  [a-z]/p' "$LAB/install.log" | sed "s/^/  /"
if [[ $install_rc -ne 0 ]]; then
  grep -v '^  [a-z]' "$LAB/install.log" | sed 's/^/    | /'
  echo "  ${C_YELLOW}install.sh failed in the lab (exit $install_rc); the checks run anyway and show what works${C_OFF}"
fi

# ---- run the checks inside the lab, render them as they come -------------------------------
declare -A CAT_PASS CAT_TOTAL CAT_LAYER
CATS=() PASSED=0 FAILED=0 COMPLETE=0
render() {
  local kind a b c d _ mark
  while IFS=$'\t' read -r kind a b c d _; do
    case $kind in
      CAT)
        CATS+=("$a")
        CAT_PASS[$a]=0 CAT_TOTAL[$a]=0 CAT_LAYER[$a]=$b
        printf '\n%s%s%s %s— %s%s\n' "$C_BOLD" "$a" "$C_OFF" "$C_DIM" "$b" "$C_OFF"
        cur=$a
        ;;
      CHECK)
        # a=name b=expected c=got d=detail
        CAT_TOTAL[$cur]=$((CAT_TOTAL[$cur] + 1))
        if [[ $b == "$c" ]]; then
          PASSED=$((PASSED + 1))
          CAT_PASS[$cur]=$((CAT_PASS[$cur] + 1))
          if [[ -n $C_GREEN ]]; then mark="${C_GREEN}✔${C_OFF}"; else mark=PASS; fi
          printf '  %s %-44s %s%s%s\n' "$mark" "$a" "$C_DIM" "$c" "$C_OFF"
        else
          FAILED=$((FAILED + 1))
          if [[ -n $C_RED ]]; then mark="${C_RED}✘${C_OFF}"; else mark=FAIL; fi
          printf '  %s %-44s %sexpected %s, got %s%s%s\n' "$mark" "$a" "$C_RED" "$b" "$c" "$C_OFF" \
            "${d:+$C_DIM — $d$C_OFF}"
        fi
        ;;
      DONE) COMPLETE=1 ;;
      *) [[ -n $kind$a ]] && printf '  %s%s%s\n' "$C_DIM" "$kind${a:+ $a}" "$C_OFF" ;;
    esac
  done
}
cur=other
render < <(lab_exec env -i PATH="$PATH" HOME=/root TERM=dumb LAB="$LAB" WS="$WS" \
  SH_TARGET="$SH_TARGET" SH_SUM="$SH_SUM" /bin/sh "$TOP/scripts/lab/checks.sh" 2>&1)

echo
echo "${C_BOLD}Summary${C_OFF}"
for c in "${CATS[@]}"; do
  p=${CAT_PASS[$c]} t=${CAT_TOTAL[$c]}
  if [[ $p -eq $t ]]; then
    printf '  %-26s %s%3d/%-3d%s\n' "$c" "$C_GREEN" "$p" "$t" "$C_OFF"
  else
    printf '  %-26s %s%3d/%-3d%s %senforced by: %s%s\n' "$c" "$C_RED" "$p" "$t" "$C_OFF" "$C_DIM" "${CAT_LAYER[$c]}" "$C_OFF"
  fi
done
if [[ $COMPLETE != 1 ]]; then
  echo "  ${C_RED}the checks stopped before the end${C_OFF}"
  FAILED=$((FAILED + 1))
fi
[[ $install_rc -ne 0 ]] && echo "  ${C_YELLOW}install.sh failed in the lab: see above${C_OFF}"
if [[ $FAILED -eq 0 ]]; then
  echo "${C_GREEN}${C_BOLD}demo: $PASSED passed, 0 failed${C_OFF}"
else
  echo "${C_BOLD}demo: $PASSED passed, ${C_RED}$FAILED failed${C_OFF}"
  echo "${C_DIM}A failed check is what the lab observed: the part named under 'enforced by' did not stop it.${C_OFF}"
fi
[[ $FAILED -eq 0 && $install_rc -eq 0 ]]
