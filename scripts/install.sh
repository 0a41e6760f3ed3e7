#!/bin/sh
# Re-run under the real bash: after the first install /usr/bin/bash is the agentsh shim,
# which would put this script under policy when started from a terminal.
if [ -z "${BASH_VERSION:-}" ]; then
  for b in /usr/bin/bash.real /bin/bash.real /usr/bin/bash /bin/bash; do
    [ -x "$b" ] && exec "$b" "$0" "$@"
  done
  echo "install.sh: needs bash" >&2
  exit 2
fi
# scripts/install.sh — install agentsh on a Debian/Ubuntu machine (VM, container, CI
# runner) from this repository, as root:
#
#   deps     the Debian packages of `make deps` (skipped when all are installed)
#   build    `make all` (as the repository's owner when that is not root)
#   files    what `make install PREFIX=…` installs (scripts/install-files.sh): agentsh,
#            agentsh-shell-shim, libagentsh_hook.so, /etc/agentsh/config.yaml and
#            policies/default.yaml (an edited one is kept; ours lands beside it as .dist),
#            plus the server supervisor PREFIX/lib/agentsh/agentsh-supervise
#   dirs     /var/lib/agentsh, /var/lib/agentsh/sessions, /var/log/agentsh (root, 0750)
#   shim     agentsh-shell-shim as /bin/bash (agentsh shim install-shell --bash-only)
#   server   `agentsh server`: a systemd unit when systemd is PID 1, else a supervised
#            background process (pid files in /var/lib/agentsh, log /var/log/agentsh)
#   session  one session for the workspace (default: the current directory)
#   profile  /etc/profile.d/agentsh.sh: AGENTSH_SERVER and AGENTSH_SESSION_ID
#   record   /var/lib/agentsh/install.state, what scripts/uninstall.sh undoes
#
# Idempotent: a second run changes nothing and says "unchanged" for every step. A failed
# step says what failed and what to do, and stops there. Exit 0 done, 1 failed, 2 usage.
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=install
# shellcheck source=lib/common.sh
source "$TOP/scripts/lib/common.sh"

usage() {
  cat <<EOF
Usage: sudo scripts/install.sh [options]

  --prefix P          install binaries under P (default /usr/local)
  --workspace DIR     the agent's workspace for the session (default: current directory)
  --bash-only         shim /bin/bash only, leave /bin/sh alone (the default)
  --all-shells        shim /bin/sh too
  --no-shim           do not install the shell shim
  --no-server         do not start the server
  --service MODE      auto (default), systemd or supervisor
  --no-deps           do not install Debian packages (make deps)
  --no-build          use build/ as it is (do not run make)
  --root DIR          install into the tree DIR instead of this machine (for tests and
                      images): implies --no-deps; nothing is started, no session is made
  -h, --help          this help

Run it again at any time: unchanged steps say so. Undo with scripts/uninstall.sh.
EOF
}

PREFIX=/usr/local WORKSPACE=$PWD SHIM=bash-only SERVICE=auto
DO_DEPS=1 DO_BUILD=1 DO_SERVER=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --prefix) [[ $# -ge 2 ]] || usage_error "--prefix needs a directory"; PREFIX=$2; shift ;;
    --prefix=*) PREFIX=${1#*=} ;;
    --workspace) [[ $# -ge 2 ]] || usage_error "--workspace needs a directory"; WORKSPACE=$2; shift ;;
    --workspace=*) WORKSPACE=${1#*=} ;;
    --root) [[ $# -ge 2 ]] || usage_error "--root needs a directory"; ROOT=$2; shift ;;
    --root=*) ROOT=${1#*=} ;;
    --service) [[ $# -ge 2 ]] || usage_error "--service needs auto, systemd or supervisor"; SERVICE=$2; shift ;;
    --service=*) SERVICE=${1#*=} ;;
    --bash-only) SHIM=bash-only ;;
    --all-shells) SHIM=all ;;
    --no-shim) SHIM=none ;;
    --no-server) DO_SERVER=0 ;;
    --no-deps) DO_DEPS=0 ;;
    --no-build) DO_BUILD=0 ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown option '$1'" ;;
  esac
  shift
done
[[ $PREFIX == /* ]] || usage_error "--prefix must be an absolute path (got '$PREFIX')"
PREFIX=${PREFIX%/}
[[ -n $PREFIX ]] || usage_error "--prefix / is not supported; use /usr"
case $SERVICE in auto | systemd | supervisor) ;; *) usage_error "--service must be auto, systemd or supervisor" ;; esac
if [[ -n $ROOT ]]; then
  [[ -d $ROOT ]] || usage_error "--root $ROOT is not a directory"
  ROOT=$(cd "$ROOT" && pwd)
  [[ $ROOT == / ]] && ROOT=
fi
[[ -n $ROOT ]] && DO_DEPS=0
[[ -n $ROOT || -d $WORKSPACE ]] || usage_error "workspace $WORKSPACE does not exist (pass --workspace DIR)"

need_root
refuse_if_governed
# Everything we start runs with stdin off the terminal and without forced shim
# enforcement, so a shimmed /bin/bash passes our own helper scripts straight through.
exec </dev/null
unset AGENTSH_SHIM_FORCE AGENTSH_SESSION_ID
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RBASH=$(real_bash)

ETC=$(rp /etc/agentsh) VARLIB=$(rp /var/lib/agentsh) LOGDIR=$(rp /var/log/agentsh)
BINDIR=$(rp "$PREFIX/bin") LIBDIR=$(rp "$PREFIX/lib/agentsh")
AGENTSH=$BINDIR/agentsh
CONF_REL=/etc/agentsh/config.yaml
PROFILE=$(rp /etc/profile.d/agentsh.sh)
UNIT=$(rp /etc/systemd/system/agentsh.service)
SUP_PID=$VARLIB/supervisor.pid SRV_PID=$VARLIB/server.pid SRV_LOG=$LOGDIR/server.log
LOGS=$(mktemp -d /tmp/agentsh-install.XXXXXX)
trap 'rm -rf "$LOGS"' EXIT
FILES_CHANGED=0

load_install_state || true

echo "${C_BOLD}agentsh install${C_OFF} (prefix $PREFIX, ${ROOT:+root $ROOT, }workspace $WORKSPACE)"

# ---- deps -------------------------------------------------------------------------------
step_deps() {
  CURRENT_STEP=deps
  if [[ $DO_DEPS == 0 ]]; then
    status deps skipped "$([[ -n $ROOT ]] && echo "--root" || echo "--no-deps"): not installing Debian packages"
    return
  fi
  command -v dpkg-query >/dev/null && command -v apt-get >/dev/null ||
    die_step "this is not a Debian/Ubuntu system (no dpkg-query/apt-get)" \
      "install the packages named by DEPS_APT in the Makefile by hand, then rerun with --no-deps"
  local pkgs missing=() p st
  # DEPS_APT read from the Makefile directly (continuation lines joined): a fresh machine
  # may not even have make yet.
  pkgs=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$TOP/Makefile" |
    sed -n 's/^DEPS_APT[[:space:]]*:\{0,1\}=[[:space:]]*//p' | tr -s ' \t' '  ')
  [[ -n $pkgs ]] || die_step "cannot read DEPS_APT from $TOP/Makefile" "run install.sh from an intact checkout"
  for p in $pkgs; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)
    [[ $st == installed ]] || missing+=("$p")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    status deps unchanged "all $(wc -w <<<"$pkgs") Debian packages are installed"
    return
  fi
  note "missing: ${missing[*]}"
  # `make deps` when make is there; before that, the same two apt-get commands it runs.
  local cmd=(make -C "$TOP" deps) list
  read -r -a list <<<"$pkgs"
  command -v make >/dev/null ||
    cmd=(sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"' _ "${list[@]}")
  if ! "${cmd[@]}" >"$LOGS/deps.log" 2>&1; then
    tail -n 15 "$LOGS/deps.log" | sed 's/^/             | /'
    die_step "make deps (apt-get install) failed" \
      "check the network and apt sources (apt-get update), or install the packages above by hand and rerun with --no-deps"
  fi
  status deps installed "${#missing[@]} Debian packages (${missing[*]})"
}

# ---- build ------------------------------------------------------------------------------
ARTIFACTS=(build/bin/agentsh build/bin/agentsh-shell-shim build/lib/libagentsh_hook.so)
artifact_sums() { local a; for a in "${ARTIFACTS[@]}"; do sha "$TOP/$a"; echo; done; }
step_build() {
  CURRENT_STEP=build
  local a
  if [[ $DO_BUILD == 0 ]]; then
    for a in "${ARTIFACTS[@]}"; do
      [[ -f $TOP/$a ]] || die_step "--no-build, but $TOP/$a is missing" "run make in $TOP first, or drop --no-build"
    done
    status build skipped "--no-build: using $TOP/build as it is"
    return
  fi
  local before after owner run=()
  before=$(artifact_sums)
  owner=$(stat -c %U "$TOP")
  # Build as whoever owns the checkout, so root does not leave root-owned files in it.
  if [[ $owner != root && $owner != UNKNOWN ]] && id "$owner" >/dev/null 2>&1 && command -v runuser >/dev/null; then
    run=(runuser -u "$owner" --)
  fi
  if ! "${run[@]}" make -C "$TOP" -j"$(nproc)" all >"$LOGS/build.log" 2>&1; then
    grep -E 'error|Error|missing' "$LOGS/build.log" | head -n 15 | sed 's/^/             | /'
    die_step "make all failed (full log: run 'make' in $TOP)" \
      "fix the error above; missing headers or libraries mean: sudo make deps"
  fi
  after=$(artifact_sums)
  if [[ $before == "$after" ]]; then
    status build unchanged "build/ is up to date"
  else
    status build built "agentsh, agentsh-shell-shim, libagentsh_hook.so${run[*]:+ (as $owner)}"
  fi
}

# ---- files ------------------------------------------------------------------------------
# conf_current SRC DST: DST is what install-files.sh would leave (ours, or an edited one
# with ours beside it as .dist).
conf_current() {
  local src=$1 dst=$2
  [[ -f $dst ]] || return 1
  cmp -s "$src" "$dst" && return 0
  cmp -s "$src" "$dst.dist"
}
files_current() {
  cmp -s "$TOP/build/bin/agentsh" "$BINDIR/agentsh" &&
    cmp -s "$TOP/build/bin/agentsh-shell-shim" "$BINDIR/agentsh-shell-shim" &&
    cmp -s "$TOP/build/lib/libagentsh_hook.so" "$LIBDIR/libagentsh_hook.so" &&
    cmp -s "$TOP/scripts/lib/agentsh-supervise" "$LIBDIR/agentsh-supervise" &&
    conf_current "$TOP/conf/config.yaml" "$ETC/config.yaml" &&
    conf_current "$TOP/conf/policies/default.yaml" "$ETC/policies/default.yaml"
}
step_files() {
  CURRENT_STEP=files
  if files_current; then
    status files unchanged "$PREFIX/bin/agentsh, agentsh-shell-shim, $PREFIX/lib/agentsh/, /etc/agentsh/"
    return
  fi
  # The same script `make install` runs, started with the real bash (see the top).
  if ! "$RBASH" "$TOP/scripts/install-files.sh" "$ROOT" "$PREFIX" /etc >"$LOGS/files.log" 2>&1; then
    sed 's/^/             | /' "$LOGS/files.log"
    die_step "scripts/install-files.sh (make install) failed" "check free space and that $(rp "$PREFIX") and $(rp /etc) are writable"
  fi
  install -m 0755 "$TOP/scripts/lib/agentsh-supervise" "$LIBDIR/agentsh-supervise" ||
    die_step "cannot install $LIBDIR/agentsh-supervise" "check that $LIBDIR is writable"
  FILES_CHANGED=1
  status files installed "$PREFIX/bin/agentsh, agentsh-shell-shim, $PREFIX/lib/agentsh/{libagentsh_hook.so,agentsh-supervise}"
  local line
  while IFS= read -r line; do
    case $line in *kept\ your\ edited* | *installed\ "$ETC"/*) note "$line" ;; esac
  done <"$LOGS/files.log"
  "$AGENTSH" --version >/dev/null 2>&1 ||
    die_step "the installed $AGENTSH does not run" "check the build (make) and that $(rp "$PREFIX") is not mounted noexec"
}

# ---- state directories --------------------------------------------------------------------
# ensure_dir PATH MODE: exists, root-owned, MODE; says what it did.
DIRS_DONE=() DIRS_FIXED=()
ensure_dir() {
  local d=$1 mode=$2 cur
  if [[ ! -d $d ]]; then
    install -d -m "$mode" -o root -g root "$d" || die_step "cannot create $d" "check that $(dirname "$d") is writable"
    DIRS_DONE+=("$d")
    return
  fi
  cur=$(stat -c '%a %U %G' "$d")
  if [[ $cur != "${mode#0} root root" ]]; then
    chown root:root "$d" && chmod "$mode" "$d" || die_step "cannot set owner/mode of $d" "fix it by hand: chown root:root $d; chmod $mode $d"
    DIRS_FIXED+=("$d (was $cur)")
  fi
}
step_dirs() {
  CURRENT_STEP=dirs
  # 0750 like the server's own session store: sessions and the audit trail are root's.
  ensure_dir "$VARLIB" 0750
  ensure_dir "$VARLIB/sessions" 0750
  ensure_dir "$LOGDIR" 0750
  if [[ ${#DIRS_DONE[@]} -eq 0 && ${#DIRS_FIXED[@]} -eq 0 ]]; then
    status dirs unchanged "/var/lib/agentsh, /var/lib/agentsh/sessions, /var/log/agentsh (root, 0750)"
  else
    [[ ${#DIRS_DONE[@]} -gt 0 ]] && status dirs created "${DIRS_DONE[*]} (root, 0750)"
    [[ ${#DIRS_FIXED[@]} -gt 0 ]] && status dirs fixed "owner/mode of ${DIRS_FIXED[*]}"
  fi
  return 0
}

# ---- shell shim -------------------------------------------------------------------------
step_shim() {
  CURRENT_STEP=shim
  if [[ $SHIM == none ]]; then
    status shim skipped "--no-shim: /bin/bash left alone"
    return
  fi
  local args=(shim install-shell --shim "$BINDIR/agentsh-shell-shim" --root "${ROOT:-/}")
  [[ $SHIM == bash-only ]] && args+=(--bash-only)
  # The operator asked for the shim by running this script: that is the acknowledgement.
  [[ -z $ROOT ]] && args+=(--i-understand-this-modifies-the-host)
  if ! "$AGENTSH" "${args[@]}" >"$LOGS/shim.log" 2>&1; then
    sed 's/^/             | /' "$LOGS/shim.log"
    die_step "agentsh shim install-shell failed" \
      "see the message above; 'agentsh shim status' shows the state, --no-shim skips this step"
  fi
  if grep -qE 'installed the shim|updated the shim' "$LOGS/shim.log"; then
    status shim installed "$(grep -E 'installed the shim|updated the shim' "$LOGS/shim.log" | paste -sd';')"
  else
    status shim unchanged "$(grep -E 'already installed' "$LOGS/shim.log" | sed 's/ (no change).*//' | paste -sd';')"
  fi
}

# ---- server -----------------------------------------------------------------------------
ADDR="" URL="" SERVICE_USED=none
systemd_running() { [[ $(cat /proc/1/comm 2>/dev/null) == systemd && -d /run/systemd/system ]]; }

unit_text() {
  cat <<EOF
# agentsh: written by scripts/install.sh, removed by scripts/uninstall.sh.
[Unit]
Description=agentsh policy server (HTTP API on $ADDR)
After=network.target

[Service]
Type=simple
ExecStart=$PREFIX/bin/agentsh server --config $CONF_REL
Restart=on-failure
RestartSec=2
StandardInput=null

[Install]
WantedBy=multi-user.target
EOF
}

# wait_health SECONDS: until URL/health answers ok or the deadline passes (a listener that
# never answers costs curl's 2 s per try, so the deadline is counted in real time).
wait_health() {
  local end=$((SECONDS + ${1:-10}))
  while ((SECONDS < end)); do
    health "$URL" && return 0
    sleep 0.1
  done
  health "$URL"
}

supervisor_alive() { [[ -f $SUP_PID ]] && pid_is "$(cat "$SUP_PID" 2>/dev/null)" agentsh-supervise; }

stop_supervisor() {
  local pid i
  pid=$(cat "$SUP_PID" 2>/dev/null)
  pid_is "$pid" agentsh-supervise || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    pid_is "$pid" agentsh-supervise || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  local spid
  spid=$(cat "$SRV_PID" 2>/dev/null)
  pid_is "$spid" "agentsh" && kill -KILL "$spid" 2>/dev/null
  rm -f "$SUP_PID" "$SRV_PID"
}

start_supervisor() {
  [[ -x $LIBDIR/agentsh-supervise ]] || die_step "$LIBDIR/agentsh-supervise is missing" "rerun install.sh (the files step installs it)"
  # setsid: its own session, no terminal; /bin/sh, never the shimmed bash.
  setsid /bin/sh "$LIBDIR/agentsh-supervise" "$SUP_PID" "$SRV_PID" "$SRV_LOG" -- \
    "$AGENTSH" server --config "$CONF_REL" </dev/null >/dev/null 2>&1 &
  if ! wait_health 15; then
    tail -n 15 "$SRV_LOG" 2>/dev/null | sed 's/^/             | /'
    stop_supervisor
    die_step "the server did not answer $URL/health within 15 s (stopped it again)" \
      "read $SRV_LOG; check that nothing else holds $ADDR; try by hand: $PREFIX/bin/agentsh server --config $CONF_REL"
  fi
}

step_server() {
  CURRENT_STEP=server
  ADDR=$(config_addr "$ETC/config.yaml")
  URL=http://$ADDR
  if [[ $DO_SERVER == 0 ]]; then
    status server skipped "--no-server"
    return
  fi
  local mode=$SERVICE
  if [[ $mode == auto ]]; then
    if [[ -n $ROOT ]]; then mode=none
    elif systemd_running; then mode=systemd
    else mode=supervisor; fi
  fi
  if [[ -n $ROOT ]]; then
    # Nothing may start on this host for another tree; a unit file can still be written.
    if [[ $mode == systemd ]]; then
      mkdir -p "$(dirname "$UNIT")"
      if [[ -f $UNIT ]] && cmp -s <(unit_text) "$UNIT"; then status server unchanged "$UNIT (not started: --root)"
      else unit_text >"$UNIT" && status server installed "$UNIT (not started: --root)"; fi
      SERVICE_USED=systemd
    else
      status server skipped "--root: not started on this host (agentsh-supervise is installed; --service systemd writes a unit)"
    fi
    return
  fi
  SERVICE_USED=$mode
  if [[ $mode == systemd ]]; then
    systemd_running || die_step "--service systemd, but systemd is not PID 1 here" "use --service supervisor (or auto)"
    local unit_changed=0
    if ! [[ -f $UNIT ]] || ! cmp -s <(unit_text) "$UNIT"; then
      unit_text >"$UNIT" || die_step "cannot write $UNIT" "check that /etc/systemd/system is writable"
      systemctl daemon-reload || die_step "systemctl daemon-reload failed" "run it by hand and read its message"
      unit_changed=1
    fi
    systemctl is-enabled --quiet agentsh.service 2>/dev/null || {
      systemctl enable agentsh.service >/dev/null 2>&1 || die_step "systemctl enable agentsh failed" "systemctl status agentsh"
      unit_changed=1
    }
    if systemctl is-active --quiet agentsh.service; then
      if [[ $unit_changed == 1 || $FILES_CHANGED == 1 ]]; then
        systemctl restart agentsh.service || die_step "systemctl restart agentsh failed" "journalctl -u agentsh"
        wait_health 15 || die_step "the server did not answer $URL/health after a restart" "journalctl -u agentsh"
        status server restarted "agentsh.service (systemd; new binaries or unit), $URL"
      else
        wait_health 5 || die_step "agentsh.service is active but $URL/health does not answer ok" "journalctl -u agentsh; systemctl restart agentsh"
        status server unchanged "agentsh.service active (systemd), $URL/health ok"
      fi
      return
    fi
    systemctl start agentsh.service || die_step "systemctl start agentsh failed" "journalctl -u agentsh"
    wait_health 15 || die_step "agentsh.service started but $URL/health does not answer ok" "journalctl -u agentsh"
    status server started "agentsh.service (systemd, enabled at boot), $URL; logs: journalctl -u agentsh"
    return
  fi
  # supervisor
  if supervisor_alive; then
    if [[ $FILES_CHANGED == 1 ]]; then
      stop_supervisor
      start_supervisor
      status server restarted "new binaries; supervisor pid $(cat "$SUP_PID"), $URL, log $SRV_LOG"
      return
    fi
    wait_health 10 || die_step "the supervisor (pid $(cat "$SUP_PID")) runs but $URL/health does not answer ok" \
      "read $SRV_LOG; scripts/uninstall.sh then install.sh restarts it cleanly"
    status server unchanged "supervisor pid $(cat "$SUP_PID"), $URL/health ok"
    return
  fi
  rm -f "$SUP_PID" "$SRV_PID"
  if health "$URL"; then
    die_step "something already answers on $URL, but not a server this script started" \
      "stop that server, or rerun with --no-server to keep using it"
  fi
  start_supervisor
  status server started "supervised (no systemd): supervisor pid $(cat "$SUP_PID" 2>/dev/null), $URL, log $SRV_LOG"
}

# ---- session ----------------------------------------------------------------------------
SESSION_ID=
step_session() {
  CURRENT_STEP=session
  if [[ -n $ROOT ]]; then
    status session skipped "--root: sessions are made on the machine that runs the tree"
    return
  fi
  [[ -d $WORKSPACE ]] || die_step "workspace $WORKSPACE does not exist" "create it, or pass --workspace DIR"
  local ws list out
  ws=$(cd "$WORKSPACE" && pwd -P)
  WORKSPACE=$ws
  list=$("$AGENTSH" session list --json --config "$CONF_REL" 2>"$LOGS/session.err") ||
    die_step "agentsh session list failed: $(head -n1 "$LOGS/session.err")" "check $CONF_REL (agentsh policy validate) and /var/lib/agentsh/sessions"
  if [[ -n ${I_SESSION_ID:-} && ${I_WORKSPACE:-} == "$ws" ]] &&
    grep -q "\"id\": *\"$I_SESSION_ID\"" <<<"$list"; then
    SESSION_ID=$I_SESSION_ID
    status session unchanged "$SESSION_ID for $ws"
    return
  fi
  out=$("$AGENTSH" session create --workspace "$ws" --json --config "$CONF_REL" 2>"$LOGS/session.err") ||
    die_step "agentsh session create failed: $(head -n1 "$LOGS/session.err")" "check that $ws exists and /var/lib/agentsh/sessions is writable"
  SESSION_ID=$(json_str id <<<"$out")
  [[ $SESSION_ID == sess-* ]] || die_step "agentsh session create printed no session id ($out)" "run it by hand: agentsh session create --workspace $ws --json"
  local why=
  [[ -n ${I_SESSION_ID:-} && ${I_WORKSPACE:-} == "$ws" ]] && why=" (the previous one, $I_SESSION_ID, is gone: expired or destroyed)"
  [[ -n ${I_SESSION_ID:-} && ${I_WORKSPACE:-} != "$ws" ]] && why=" (new workspace; $I_SESSION_ID is kept)"
  status session created "$SESSION_ID for $ws$why"
}

# ---- profile ----------------------------------------------------------------------------
profile_text() {
  echo "# agentsh: written by scripts/install.sh, removed by scripts/uninstall.sh."
  echo "# Rerun install.sh (--workspace DIR) to change it rather than editing it."
  echo "export AGENTSH_SERVER=\"http://$ADDR\""
  [[ -n $SESSION_ID ]] && echo "export AGENTSH_SESSION_ID=\"$SESSION_ID\""
  return 0
}
step_profile() {
  CURRENT_STEP=profile
  if [[ -f $PROFILE ]] && cmp -s <(profile_text) "$PROFILE"; then
    status profile unchanged "$(rp /etc/profile.d/agentsh.sh)"
    return
  fi
  mkdir -p "$(dirname "$PROFILE")" && profile_text >"$PROFILE.tmp" && chmod 0644 "$PROFILE.tmp" &&
    mv -f "$PROFILE.tmp" "$PROFILE" || die_step "cannot write $PROFILE" "check that $(rp /etc/profile.d) is writable"
  status profile written "$(rp /etc/profile.d/agentsh.sh): AGENTSH_SERVER=http://$ADDR${SESSION_ID:+ AGENTSH_SESSION_ID=$SESSION_ID}"
}

# ---- record -----------------------------------------------------------------------------
# What uninstall.sh needs: where things went, what the shells were before the shim, and the
# checksums of the config we shipped (an edited config is kept on uninstall).
state_text() {
  local k v
  for k in PREFIX SHIM SERVICE WORKSPACE SESSION_ID ADDR BASH_SHA CONFIG_SHA POLICY_SHA; do
    case $k in
      SERVICE) v=$SERVICE_USED ;;
      SESSION_ID) v=$SESSION_ID ;;
      BASH_SHA) v=${I_BASH_SHA:-$BASH_SHA_NOW} ;;
      CONFIG_SHA) v=$(sha "$TOP/conf/config.yaml") ;;
      POLICY_SHA) v=$(sha "$TOP/conf/policies/default.yaml") ;;
      *) v=${!k} ;;
    esac
    printf 'I_%s=%q\n' "$k" "$v"
  done
}
step_record() {
  CURRENT_STEP=record
  local f
  f=$(rp "$STATE_FILE_REL")
  if [[ -f $f ]] && cmp -s <(state_text) "$f"; then
    status record unchanged "$(rp "$STATE_FILE_REL")"
    return
  fi
  state_text >"$f.tmp" && chmod 0640 "$f.tmp" && mv -f "$f.tmp" "$f" || die_step "cannot write $f" "check that $VARLIB is writable"
  status record written "$(rp "$STATE_FILE_REL") (what scripts/uninstall.sh undoes)"
}

# The shell as it was before any shim: recorded once, on the first install.
bash_now=$(rp /usr/bin/bash)
BASH_SHA_NOW=$(sha "$bash_now")
[[ -f $bash_now.real ]] && BASH_SHA_NOW=$(sha "$bash_now.real")

step_deps
step_build
step_files
step_dirs
step_shim
step_server
step_session
step_profile
step_record

echo "${C_BOLD}install: done${C_OFF} ($CHANGED changed, $UNCHANGED unchanged)."
if [[ -z $ROOT ]]; then
  echo "  check it:   sudo scripts/verify.sh"
  echo "  use it:     agentsh exec -- CMD, or open a new login shell (/etc/profile.d/agentsh.sh)"
  echo "  remove it:  sudo scripts/uninstall.sh   (--purge also removes audit data and sessions)"
  if [[ $SHIM != none ]]; then
    echo "  note:       every new interactive (TTY) bash on this machine now runs under policy, root's"
    echo "              login shell too; manage agentsh from an ungoverned one: sudo /usr/bin/bash.real -l"
  fi
fi
