# Shared by scripts/install.sh, verify.sh, uninstall.sh and demo.sh (sourced, never run).
#
# Output: every step prints one line "  <step> <status> <detail>" (status: installed,
# updated, started, created, removed, unchanged, skipped, kept, FAILED); a failure also
# prints what to do and exits 1. Colours only when stdout is a terminal (and NO_COLOR is
# unset), so logs and CI output stay plain.
#
# Paths: ROOT is "" for the real system or the --root tree; rp /etc/x prints $ROOT/etc/x.

# ---- colours ----------------------------------------------------------------------------
if [[ -t 1 && -z ${NO_COLOR:-} && ${TERM:-dumb} != dumb ]]; then
  C_RED=$'\e[31m' C_GREEN=$'\e[32m' C_YELLOW=$'\e[33m' C_BLUE=$'\e[34m' C_DIM=$'\e[2m'
  C_BOLD=$'\e[1m' C_OFF=$'\e[0m'
else
  C_RED='' C_GREEN='' C_YELLOW='' C_BLUE='' C_DIM='' C_BOLD='' C_OFF=''
fi

PROG=${PROG:-$(basename "$0" .sh)}
ROOT=${ROOT:-}
CURRENT_STEP=
CHANGED=0 UNCHANGED=0

rp() { printf '%s%s' "$ROOT" "$1"; }

# status STEP STATUS DETAIL…: one line per step outcome.
status() {
  local step=$1 st=$2 colour=$C_GREEN
  shift 2
  case $st in
    unchanged | skipped | kept) colour=$C_DIM ;;
    FAILED) colour=$C_RED ;;
    warning) colour=$C_YELLOW ;;
  esac
  case $st in
    unchanged) UNCHANGED=$((UNCHANGED + 1)) ;;
    skipped | kept | warning | FAILED) ;;
    *) CHANGED=$((CHANGED + 1)) ;;
  esac
  printf '  %-10s %s%-10s%s %s\n' "$step" "$colour" "$st" "$C_OFF" "$*"
}

# note TEXT: an indented detail line under the current step.
note() { printf '  %-10s %s%s%s\n' "" "$C_DIM" "$*" "$C_OFF"; }

# die_step WHAT HINT: the current step failed; say which, what happened and what to do.
die_step() {
  local what=$1 hint=${2:-}
  status "${CURRENT_STEP:-$PROG}" FAILED "$what"
  [[ -n $hint ]] && printf '  %-10s %sto fix:%s %s\n' "" "$C_BOLD" "$C_OFF" "$hint" >&2
  printf '%s: step "%s" failed; nothing after it was done.\n' "$PROG" "${CURRENT_STEP:-?}" >&2
  exit 1
}

usage_error() {
  printf '%s: %s\nTry %s --help.\n' "$PROG" "$1" "$0" >&2
  exit 2
}

need_root() {
  [[ $EUID -eq 0 ]] || { printf '%s: must run as root (try: sudo %s)\n' "$PROG" "$0" >&2; exit 2; }
}

# Refuse to run under agentsh's own policy: a TTY shell started through the shim (or any
# agentsh exec) is governed, and installing/removing agentsh from inside it cannot work.
refuse_if_governed() {
  if [[ -n ${AGENTSH_IN_SESSION:-} || -n ${AGENTSH_SNAPSHOT:-} ]]; then
    printf '%s: this shell runs under agentsh policy (AGENTSH_IN_SESSION is set), so it cannot\n' "$PROG" >&2
    printf '  change the system. Run it from an ungoverned shell, e.g.:\n    sudo /usr/bin/bash.real %s\n' "$0" >&2
    exit 2
  fi
}

sha() { sha256sum <"$1" 2>/dev/null | cut -d' ' -f1; }

# Lowest-common-denominator JSON: the string value of KEY in a one-line JSON document.
json_str() { grep -o "\"$1\": *\"[^\"]*\"" | head -n1 | sed 's/.*: *"\(.*\)"/\1/'; }

# The server's listen address from a config file (server.http.addr), default 127.0.0.1:18080.
config_addr() {
  local a=
  [[ -r $1 ]] && a=$(awk '
    /^[^[:space:]#]/ { top = $1 }
    top == "server:" && $1 == "addr:" { v = $2; gsub(/["'\'']/, "", v); print v; exit }' "$1")
  printf '%s' "${a:-127.0.0.1:18080}"
}

# health URL → 0 when GET URL/health answers "ok". Never through a proxy.
health() {
  local out
  out=$(curl -s --noproxy '*' --max-time 2 "$1/health" 2>/dev/null) || return 1
  [[ $out == ok* ]]
}

# pid_is PID WORD: the process exists and its command line mentions WORD (guards against
# a stale pid file naming a recycled pid).
pid_is() {
  local pid=$1 word=$2
  [[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/cmdline ]] &&
    tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | grep -q -- "$word"
}

# The real bash, never the agentsh shim (used for the scripts we run ourselves).
real_bash() {
  local b
  for b in /usr/bin/bash.real /bin/bash.real; do
    [[ -x $b ]] && { echo "$b"; return; }
  done
  echo "${BASH:-/bin/bash}"
}

# The install record written by install.sh (shell-quoted KEY=VALUE lines).
STATE_FILE_REL=/var/lib/agentsh/install.state
load_install_state() {
  local f
  f=$(rp "$STATE_FILE_REL")
  [[ -r $f ]] || return 1
  # Only our own KEY=VALUE lines (written with printf %q) are evaluated.
  local line
  while IFS= read -r line; do
    [[ $line =~ ^I_[A-Z_]+= ]] && eval "$line"
  done <"$f"
  return 0
}
