#!/bin/sh
# Re-run under the real bash: /usr/bin/bash may be the agentsh shim, which would put this
# script under policy when started from a terminal.
if [ -z "${BASH_VERSION:-}" ]; then
  for b in /usr/bin/bash.real /bin/bash.real /usr/bin/bash /bin/bash; do
    [ -x "$b" ] && exec "$b" "$0" "$@"
  done
  echo "uninstall.sh: needs bash" >&2
  exit 2
fi
# scripts/uninstall.sh [--purge] [--root DIR] [--prefix P] — undoes scripts/install.sh:
#
#   server   stops it: systemd unit disabled and removed, or the supervisor (pid file
#            /var/lib/agentsh/supervisor.pid) sent SIGTERM, which stops the server
#   shim     agentsh shim uninstall-shell: /bin/bash.real renamed back, byte for byte
#            (checked against the checksum install.sh recorded)
#   profile  /etc/profile.d/agentsh.sh
#   files    PREFIX/bin/agentsh, agentsh-shell-shim, PREFIX/lib/agentsh/; /etc/agentsh
#            files that are still as shipped (edited ones are kept unless --purge)
#   data     the install record; audit data (events.db), sessions and logs are kept
#            unless --purge
#
# Safe to run twice (the second run finds nothing and says so). The Debian packages of
# `make deps` stay installed (other software may use them).
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=uninstall
# shellcheck source=lib/common.sh
source "$TOP/scripts/lib/common.sh"

usage() {
  cat <<EOF
Usage: sudo scripts/uninstall.sh [--purge] [--root DIR] [--prefix P]

  --purge       also remove audit data (/var/lib/agentsh), logs (/var/log/agentsh) and
                edited files under /etc/agentsh
  --root DIR    undo an install.sh --root DIR
  --prefix P    where the binaries are, when there is no install record (default /usr/local)

Run it from an ungoverned shell: interactive bash shells started after the install run
under policy (the shim). For example: sudo /usr/bin/bash.real -l, then scripts/uninstall.sh.
EOF
}

PURGE=0 PREFIX_ARG=
while [[ $# -gt 0 ]]; do
  case $1 in
    --purge) PURGE=1 ;;
    --root) [[ $# -ge 2 ]] || usage_error "--root needs a directory"; ROOT=$2; shift ;;
    --root=*) ROOT=${1#*=} ;;
    --prefix) [[ $# -ge 2 ]] || usage_error "--prefix needs a directory"; PREFIX_ARG=$2; shift ;;
    --prefix=*) PREFIX_ARG=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown option '$1'" ;;
  esac
  shift
done
if [[ -n $ROOT ]]; then
  [[ -d $ROOT ]] || usage_error "--root $ROOT is not a directory"
  ROOT=$(cd "$ROOT" && pwd)
  [[ $ROOT == / ]] && ROOT=
fi
need_root
refuse_if_governed
exec </dev/null
unset AGENTSH_SHIM_FORCE
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

HAVE_RECORD=0
load_install_state && HAVE_RECORD=1
PREFIX=${PREFIX_ARG:-${I_PREFIX:-/usr/local}}
PREFIX=${PREFIX%/}
ETC=$(rp /etc/agentsh) VARLIB=$(rp /var/lib/agentsh) LOGDIR=$(rp /var/log/agentsh)
BINDIR=$(rp "$PREFIX/bin") LIBDIR=$(rp "$PREFIX/lib/agentsh")
PROFILE=$(rp /etc/profile.d/agentsh.sh)
UNIT=$(rp /etc/systemd/system/agentsh.service)
SUP_PID=$VARLIB/supervisor.pid SRV_PID=$VARLIB/server.pid
LOGS=$(mktemp -d /tmp/agentsh-uninstall.XXXXXX)
trap 'rm -rf "$LOGS"' EXIT

PURGE_NOTE=
[[ $PURGE == 1 ]] && PURGE_NOTE=", purge"
echo "${C_BOLD}agentsh uninstall${C_OFF} (prefix $PREFIX${ROOT:+, root $ROOT}$PURGE_NOTE)"
[[ $HAVE_RECORD == 1 ]] || note "no install record ($(rp "$STATE_FILE_REL")): removing from the default places"

# ---- server -----------------------------------------------------------------------------
step_server() {
  CURRENT_STEP=server
  local did=()
  if [[ -f $UNIT ]]; then
    if [[ -z $ROOT && $(cat /proc/1/comm 2>/dev/null) == systemd && -d /run/systemd/system ]]; then
      systemctl disable --now agentsh.service >"$LOGS/systemctl.log" 2>&1 ||
        die_step "systemctl disable --now agentsh failed: $(tail -n1 "$LOGS/systemctl.log")" "systemctl status agentsh; then rerun"
      rm -f "$UNIT"
      systemctl daemon-reload
      did+=("agentsh.service stopped, disabled and removed")
    else
      rm -f "$UNIT"
      did+=("removed $UNIT")
    fi
  fi
  local pid i
  pid=$(cat "$SUP_PID" 2>/dev/null)
  if [[ -n $pid ]] && [[ -z $ROOT ]] && pid_is "$pid" agentsh-supervise; then
    kill -TERM "$pid"
    for ((i = 0; i < 100; i++)); do
      pid_is "$pid" agentsh-supervise || break
      sleep 0.1
    done
    if pid_is "$pid" agentsh-supervise; then
      kill -KILL "$pid" 2>/dev/null
      local spid
      spid=$(cat "$SRV_PID" 2>/dev/null)
      pid_is "$spid" agentsh && kill -KILL "$spid" 2>/dev/null
      did+=("supervisor pid $pid did not stop within 10 s: killed it")
    else
      did+=("stopped the supervisor (pid $pid) and its server")
    fi
  elif [[ -n $pid ]]; then
    did+=("removed a stale pid file (pid $pid is not a supervisor)")
  fi
  rm -f "$SUP_PID" "$SRV_PID"
  if [[ ${#did[@]} -eq 0 ]]; then
    status server unchanged "no unit, no supervisor running"
  else
    status server stopped "$(IFS=';'; echo "${did[*]}")"
  fi
  if [[ -z $ROOT ]]; then
    local addr
    addr=${I_ADDR:-$(config_addr "$ETC/config.yaml")}
    health "http://$addr" && note "warning: something still answers on http://$addr (not started by install.sh)"
  fi
  return 0
}

# ---- shim -------------------------------------------------------------------------------
step_shim() {
  CURRENT_STEP=shim
  local agentsh="" c bash_path
  for c in "$BINDIR/agentsh" "$TOP/build/bin/agentsh"; do
    [[ -x $c ]] && { agentsh=$c; break; }
  done
  bash_path=$(rp /usr/bin/bash)
  if [[ -z $agentsh ]]; then
    if [[ -e $bash_path.real || -e $(rp /usr/bin/sh).real ]]; then
      die_step "the shim looks installed ($bash_path.real exists) but no agentsh binary is left to remove it" \
        "rebuild (make) and rerun; build/bin/agentsh is used when $BINDIR/agentsh is gone"
    fi
    status shim unchanged "not installed"
    return
  fi
  local args=(shim uninstall-shell --root "${ROOT:-/}")
  [[ -z $ROOT ]] && args+=(--i-understand-this-modifies-the-host)
  if ! "$agentsh" "${args[@]}" >"$LOGS/shim.log" 2>&1; then
    sed 's/^/             | /' "$LOGS/shim.log"
    die_step "agentsh shim uninstall-shell refused or failed" \
      "read the message above ('$agentsh shim status' shows the state); nothing else was removed yet"
  fi
  if grep -q 'restored' "$LOGS/shim.log"; then
    local detail
    detail=$(grep 'restored' "$LOGS/shim.log" | paste -sd';')
    if [[ -n ${I_BASH_SHA:-} ]]; then
      if [[ $(sha "$bash_path") == "$I_BASH_SHA" ]]; then
        detail+=" — $bash_path matches the sha256 recorded before install"
      else
        status shim restored "$detail"
        die_step "$bash_path does not match the sha256 recorded before install ($I_BASH_SHA)" \
          "reinstall bash (apt-get install --reinstall bash)"
      fi
    fi
    status shim restored "$detail"
  else
    status shim unchanged "$(head -n1 "$LOGS/shim.log")"
  fi
}

# ---- profile ----------------------------------------------------------------------------
step_profile() {
  CURRENT_STEP=profile
  if [[ -e $PROFILE ]]; then
    rm -f "$PROFILE" || die_step "cannot remove $PROFILE" "remove it by hand"
    status profile removed "$PROFILE"
  else
    status profile unchanged "no $PROFILE"
  fi
}

# ---- files ------------------------------------------------------------------------------
REMOVED=() KEPT=()
rm_file() { [[ -e $1 || -L $1 ]] && { rm -f "$1" || die_step "cannot remove $1" "remove it by hand"; REMOVED+=("$1"); }; return 0; }
rm_dir_if_empty() { [[ -d $1 ]] && rmdir "$1" 2>/dev/null && REMOVED+=("$1/"); return 0; }
# rm_conf FILE SHIPPED_SHA REPO_COPY: remove FILE when it is as we shipped it, else keep it
# (remove it too with --purge). Our *.dist copies always go.
rm_conf() {
  local f=$1 shipped=$2 repo=$3 now
  rm_file "$f.dist"
  [[ -e $f ]] || return 0
  now=$(sha "$f")
  if [[ $PURGE == 1 || $now == "$shipped" || $now == "$(sha "$repo")" ]]; then
    rm_file "$f"
  else
    KEPT+=("$f (edited; --purge removes it)")
  fi
}
step_files() {
  CURRENT_STEP=files
  rm_file "$BINDIR/agentsh"
  rm_file "$BINDIR/agentsh-shell-shim"
  rm_file "$LIBDIR/libagentsh_hook.so"
  rm_file "$LIBDIR/agentsh-supervise"
  rm_dir_if_empty "$LIBDIR"
  rm_conf "$ETC/config.yaml" "${I_CONFIG_SHA:-}" "$TOP/conf/config.yaml"
  rm_conf "$ETC/policies/default.yaml" "${I_POLICY_SHA:-}" "$TOP/conf/policies/default.yaml"
  if [[ $PURGE == 1 && -d $ETC ]]; then
    rm -rf "$ETC" && REMOVED+=("$ETC/ (purge)")
  else
    rm_dir_if_empty "$ETC/policies"
    rm_dir_if_empty "$ETC"
    [[ -d $ETC ]] && KEPT+=("$ETC/ ($(cd "$ETC" && find . -mindepth 1 -maxdepth 2 ! -type d | sed 's|^\./||' | paste -sd' '))")
  fi
  if [[ ${#REMOVED[@]} -eq 0 ]]; then
    status files unchanged "nothing of agentsh under $(rp "$PREFIX") or $(rp /etc/agentsh)"
  else
    status files removed "${REMOVED[*]}"
  fi
  local k
  for k in "${KEPT[@]}"; do status files kept "$k"; done
  return 0
}

# ---- data -------------------------------------------------------------------------------
step_data() {
  CURRENT_STEP=data
  local had_record=0
  [[ -e $(rp "$STATE_FILE_REL") ]] && had_record=1
  rm -f "$(rp "$STATE_FILE_REL")"
  if [[ $PURGE == 1 ]]; then
    local gone=()
    [[ -d $VARLIB ]] && rm -rf "$VARLIB" && gone+=("$VARLIB")
    [[ -d $LOGDIR ]] && rm -rf "$LOGDIR" && gone+=("$LOGDIR")
    if [[ ${#gone[@]} -gt 0 ]]; then status data purged "${gone[*]} (audit data, sessions, logs)"
    elif [[ $had_record == 1 ]]; then status data removed "the install record"
    else status data unchanged "nothing to purge"; fi
    return
  fi
  rm_dir_if_empty "$VARLIB"
  rm_dir_if_empty "$LOGDIR"
  local kept=()
  [[ -d $VARLIB ]] && kept+=("$VARLIB (audit data, sessions)")
  [[ -d $LOGDIR ]] && kept+=("$LOGDIR")
  if [[ $had_record == 1 ]]; then status data removed "the install record $(rp "$STATE_FILE_REL")"
  else status data unchanged "no install record"; fi
  [[ ${#kept[@]} -gt 0 ]] && status data kept "${kept[*]}; --purge removes them"
  return 0
}

step_server
step_shim
step_profile
step_files
step_data
echo "${C_BOLD}uninstall: done${C_OFF} ($CHANGED changed, $UNCHANGED unchanged). The Debian packages of 'make deps' stay installed."
