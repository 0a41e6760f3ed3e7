#!/usr/bin/env bash
# tests/ops/install_cycle.sh — install.sh → verify.sh → uninstall.sh, as an operator would
# run them on a fresh machine, and the promises they make: every step reported, a second
# install changes nothing, the server is supervised, the shim comes back out byte for
# byte, edited config survives, --purge leaves the machine as it was, --root touches only
# its tree, failures name their step.
#
# Runs as root in private mount, pid and network namespaces (unshare -m -p -n): /etc,
# /usr/bin, /usr/local, /var/lib, /var/log, /tmp, /root, /home are overlays whose upper
# layers live on a tmpfs, /run is a fresh tmpfs, and only lo exists — so the host's files,
# its /bin/bash and its port 18080 are never touched (checked: the host is compared
# before and after). When the namespace's PID 1 exits, every process it started dies.
#
# Output: gtest-style lines ([ RUN ], [ OK ], [ FAILED ]) and a final
# "install_cycle: N passed, N failed". Exit 0 only if nothing failed.
set -uo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# ======================================================================== outside (host)
if [[ ${1:-} != --inside ]]; then
  [[ $EUID -eq 0 ]] || { echo "install_cycle: must run as root" >&2; exit 2; }
  for a in build/bin/agentsh build/bin/agentsh-shell-shim build/lib/libagentsh_hook.so; do
    [[ -e $TOP/$a ]] || { echo "install_cycle: $TOP/$a missing (run make first)" >&2; exit 2; }
  done
  for t in unshare ip curl python3; do
    command -v "$t" >/dev/null || { echo "install_cycle: needs $t" >&2; exit 2; }
  done
  # What install.sh could touch on a host, and must not have touched on this one.
  host_state() {
    local p
    for p in /usr/bin/bash /usr/bin/bash.real /usr/bin/sh /usr/bin/sh.real /etc/agentsh \
      /etc/profile.d/agentsh.sh /etc/systemd/system/agentsh.service /usr/local/bin/agentsh \
      /usr/local/bin/agentsh-shell-shim /usr/local/lib/agentsh /var/lib/agentsh/install.state \
      /var/lib/agentsh/supervisor.pid /var/lib/agentsh/server.pid /var/lib/agentsh/shim-state \
      /var/log/agentsh; do
      if [[ -L $p ]]; then echo "$p -> $(readlink "$p")"
      elif [[ -f $p ]]; then echo "$p $(stat -c '%i %a %U %s %Y' "$p") $(sha256sum <"$p" | cut -c1-64)"
      elif [[ -d $p ]]; then echo "$p dir $(find "$p" -printf '%P %s %Y\n' | sort | sha256sum | cut -c1-16)"
      else echo "$p absent"; fi
    done
    echo "listening on 127.0.0.1:18080: $(ss -Hltn 'sport = :18080' 2>/dev/null | wc -l)"
  }
  WORK=$(mktemp -d /var/tmp/agentsh-ops-test.XXXXXX)
  chmod 755 "$WORK"
  host_state >"$WORK/host.before"
  unshare --mount --propagation private --pid --fork --mount-proc --net \
    "$BASH" "${BASH_SOURCE[0]}" --inside "$WORK" 2>&1 | tee "$WORK/out.log"
  host_state >"$WORK/host.after"

  {
    echo "[ RUN      ] host.unchanged"
    if diff -u "$WORK/host.before" "$WORK/host.after" >"$WORK/host.diff"; then
      echo "[       OK ] host.unchanged"
    else
      sed 's/^/    /' "$WORK/host.diff"
      echo "[  FAILED  ] host.unchanged"
    fi
    echo "[ RUN      ] host.no_process_left"
    # Any process still in the test's pid namespace (its id was recorded from inside)?
    left=
    pidns=$(cat "$WORK/pidns" 2>/dev/null)
    for f in /proc/[0-9]*/ns/pid; do
      [[ -n $pidns && $(readlink "$f" 2>/dev/null) == "$pidns" ]] && left+=" ${f%/ns/pid}"
    done
    if [[ -z $left ]]; then
      echo "[       OK ] host.no_process_left"
    else
      echo "    still running: $left"
      echo "[  FAILED  ] host.no_process_left"
    fi
  } | tee -a "$WORK/out.log"

  passed=$(grep -cE '^\[       OK \]' "$WORK/out.log")
  failed=$(grep -cE '^\[  FAILED  \]' "$WORK/out.log")
  if ! grep -q '^INSIDE-COMPLETE$' "$WORK/out.log"; then
    echo "install_cycle: the namespace side did not run to the end"
    failed=$((failed + 1))
  fi
  echo "[==========] $((passed + failed)) tests ran."
  echo "[  PASSED  ] $passed tests."
  if [[ $failed -gt 0 ]]; then
    echo "[  FAILED  ] $failed tests, listed below:"
    grep -E '^\[  FAILED  \]' "$WORK/out.log"
  fi
  echo "install_cycle: $passed passed, $failed failed"
  rm -rf "$WORK"
  [[ $failed -eq 0 ]]
  exit
fi

# ======================================================================== inside the namespaces
WORK=$2
cd /
readlink /proc/self/ns/pid >"$WORK/pidns"
mkdir -p "$WORK/ns"
mount -t tmpfs -o size=2g tmpfs "$WORK/ns" || { echo "tmpfs failed"; exit 1; }
for d in /etc /usr/bin /usr/local /var/lib /var/log /tmp /root /home; do
  n=$(tr / _ <<<"$d")
  mkdir -p "$WORK/ns/$n/u" "$WORK/ns/$n/w"
  mount -t overlay overlay -o "lowerdir=$d,upperdir=$WORK/ns/$n/u,workdir=$WORK/ns/$n/w" "$d" ||
    { echo "overlay on $d failed"; exit 1; }
done
mount -t tmpfs -o mode=0755 tmpfs /run
chmod 1777 /tmp
ip link set lo up
# A fresh machine: whatever agentsh left on this host is hidden (in the overlays only).
rm -rf /etc/agentsh /etc/profile.d/agentsh.sh /var/lib/agentsh /var/log/agentsh \
  /usr/local/bin/agentsh /usr/local/bin/agentsh-shell-shim /usr/local/lib/agentsh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb NO_COLOR=1
unset AGENTSH_SHIM_FORCE AGENTSH_SESSION_ID AGENTSH_SERVER AGENTSH_CONFIG

S=$TOP/scripts
WS=/home/tester/ws
mkdir -p "$WS"
LOG=$WORK/ns/logs
mkdir -p "$LOG"
URL=http://127.0.0.1:18080
BASH_SUM=$(sha256sum </usr/bin/bash)
SH_STATE="$(readlink -f /usr/bin/sh) $(sha256sum <"$(readlink -f /usr/bin/sh)")"

# ---- a tiny gtest-like harness ----------------------------------------------------------
CASE="" CASE_FAILS=0 CASE_T0=0
now_ms() { echo $(($(date +%s%N) / 1000000)); }
t_run() { CASE=$1 CASE_FAILS=0 CASE_T0=$(now_ms); echo "[ RUN      ] $CASE"; }
t_fail() { CASE_FAILS=$((CASE_FAILS + 1)); echo "    $CASE: $*"; }
t_end() {
  local ms=$(($(now_ms) - CASE_T0))
  if [[ $CASE_FAILS -eq 0 ]]; then echo "[       OK ] $CASE ($ms ms)"; else echo "[  FAILED  ] $CASE ($ms ms)"; fi
}
expect() { # expect DESCRIPTION COMMAND…: the command must succeed
  local what=$1
  shift
  "$@" || t_fail "expected: $what"
}
show() { sed 's/^/      | /' "$1"; }

healthy() { [[ $(curl -s --noproxy '*' --max-time 2 "$URL/health" 2>/dev/null) == ok* ]]; }
wait_for() { # wait_for TENTHS COMMAND…: poll until it succeeds (a deadline, not a timing claim)
  local n=$1 i
  shift
  for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.1; done
  return 1
}
proc_running() { # proc_running WORD: a process of this pid namespace mentions WORD
  grep -qs -- "$1" /proc/[0-9]*/cmdline
}
# Everything install.sh may touch, as metadata (directory times excluded: adding and
# removing a file changes them) plus contents of the agentsh files. Audit data and the
# server log change whenever anything runs, so they are left out.
snapshot() {
  find /etc /usr/bin /usr/local /var/lib /var/log -xdev \
    \( -path /var/lib/agentsh/events.db\* -o -path /var/log/agentsh/server.log\* -o -path /var/lib/dpkg -o -path /var/lib/apt \) -prune -o \
    \( -type d -printf '%p d %m %u\n' \) -o -printf '%p %y %m %u %s %T@\n' 2>/dev/null | sort
}
# step_line LOG STEP: the status word install/uninstall printed for STEP
step_status() { awk -v s="$2" '$1 == s { print $2; exit }' "$1"; }

SNAP_FRESH=$LOG/snap.fresh
snapshot >"$SNAP_FRESH"

# =============================================================================== install
t_run install.fresh_machine_has_no_agentsh
for p in /etc/agentsh /usr/local/bin/agentsh /var/lib/agentsh /usr/bin/bash.real /etc/profile.d/agentsh.sh; do
  [[ -e $p ]] && t_fail "$p exists before install"
done
healthy && t_fail "something answers on $URL before install"
t_end

t_run install.first_run_reports_every_step
# The deps step runs only when every package is already installed: it must then say
# "unchanged" without calling apt-get (which would write outside the overlays).
DEPS_FLAG=--no-deps DEPS_EXPECT=skipped
pkgs=$(printf 'print-deps:\n\t@echo $(DEPS_APT)\n' | make -s -C "$TOP" -f Makefile -f - print-deps 2>/dev/null)
missing=0
for p in $pkgs; do
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing=$((missing + 1))
done
if [[ -n $pkgs && $missing -eq 0 ]]; then DEPS_FLAG="" DEPS_EXPECT=unchanged
else echo "    ($missing Debian packages missing: the deps step is left out with --no-deps)"; fi
(cd "$WS" && "$S/install.sh" $DEPS_FLAG) >"$LOG/install1" 2>&1
rc=$?
[[ $rc -eq 0 ]] || { t_fail "install.sh exited $rc"; show "$LOG/install1"; }
for step in deps build files dirs shim server session profile record; do
  st=$(step_status "$LOG/install1" "$step")
  case $step:$st in
    deps:"$DEPS_EXPECT" | build:unchanged | build:built | files:installed | dirs:created | shim:installed | \
      server:started | session:created | profile:written | record:written) ;;
    *) t_fail "step $step: status '${st:-none}'" ;;
  esac
done
grep -q '^install: done' "$LOG/install1" || t_fail "no 'install: done' line"
t_end

t_run install.files_modes_and_owners
expect "agentsh installed as built" cmp -s "$TOP/build/bin/agentsh" /usr/local/bin/agentsh
expect "the shim binary installed" cmp -s "$TOP/build/bin/agentsh-shell-shim" /usr/local/bin/agentsh-shell-shim
expect "the hook library installed" cmp -s "$TOP/build/lib/libagentsh_hook.so" /usr/local/lib/agentsh/libagentsh_hook.so
expect "the supervisor installed" test -x /usr/local/lib/agentsh/agentsh-supervise
expect "config.yaml as shipped" cmp -s "$TOP/conf/config.yaml" /etc/agentsh/config.yaml
expect "policies/default.yaml as shipped" cmp -s "$TOP/conf/policies/default.yaml" /etc/agentsh/policies/default.yaml
for d in /var/lib/agentsh /var/lib/agentsh/sessions /var/log/agentsh; do
  got=$(stat -c '%a %U %G' "$d" 2>/dev/null)
  [[ $got == "750 root root" ]] || t_fail "$d: '$got', expected '750 root root'"
done
sid=$(sed -n 's/^export AGENTSH_SESSION_ID="\(.*\)"$/\1/p' /etc/profile.d/agentsh.sh 2>/dev/null)
[[ $sid == sess-* ]] || t_fail "/etc/profile.d/agentsh.sh has no AGENTSH_SESSION_ID"
grep -q "^export AGENTSH_SERVER=\"$URL\"$" /etc/profile.d/agentsh.sh 2>/dev/null || t_fail "/etc/profile.d/agentsh.sh has no AGENTSH_SERVER=$URL"
/usr/local/bin/agentsh session list --json 2>/dev/null | grep -q "\"id\": *\"$sid\".*\"workspace\": *\"$WS\"\|\"workspace\": *\"$WS\".*\"id\": *\"$sid\"" ||
  /usr/local/bin/agentsh session list --json 2>/dev/null | grep -q "\"$sid\"" || t_fail "session $sid not in agentsh session list"
t_end

t_run install.shim_in_place_real_bash_kept
[[ -f /usr/bin/bash.real && $(sha256sum </usr/bin/bash.real) == "$BASH_SUM" ]] || t_fail "/usr/bin/bash.real is not the original bash"
/usr/local/bin/agentsh shim status >"$LOG/shim-status" 2>&1
grep -q '^bash: installed' "$LOG/shim-status" || { t_fail "shim status does not say bash: installed"; show "$LOG/shim-status"; }
[[ "$(readlink -f /usr/bin/sh) $(sha256sum <"$(readlink -f /usr/bin/sh)")" == "$SH_STATE" ]] || t_fail "/bin/sh changed (--bash-only is the default)"
[[ $(/bin/bash -c 'echo through' 2>&1 </dev/null) == through ]] || t_fail "non-TTY bash does not pass through the shim"
t_end

t_run install.server_supervised
healthy || t_fail "$URL/health does not answer ok"
sup=$(cat /var/lib/agentsh/supervisor.pid 2>/dev/null)
srv=$(cat /var/lib/agentsh/server.pid 2>/dev/null)
grep -qs agentsh-supervise "/proc/$sup/cmdline" || t_fail "supervisor.pid ($sup) is not a running agentsh-supervise"
tr '\0' ' ' <"/proc/$srv/cmdline" 2>/dev/null | grep -q 'agentsh server' || t_fail "server.pid ($srv) is not a running agentsh server"
t_end

# ============================================================================ idempotence
t_run install.second_run_changes_nothing
snapshot >"$LOG/snap.before2"
(cd "$WS" && "$S/install.sh" --no-deps) >"$LOG/install2" 2>&1
rc=$?
[[ $rc -eq 0 ]] || { t_fail "second install.sh exited $rc"; show "$LOG/install2"; }
for step in build files dirs shim server session profile record; do
  st=$(step_status "$LOG/install2" "$step")
  [[ $st == unchanged ]] || t_fail "step $step: '${st:-none}', expected unchanged"
done
grep -q '^install: done (0 changed' "$LOG/install2" || t_fail "the summary does not say 0 changed"
snapshot >"$LOG/snap.after2"
if ! diff -u "$LOG/snap.before2" "$LOG/snap.after2" >"$LOG/snap.diff2"; then
  t_fail "files changed on the second run:"
  head -n 20 "$LOG/snap.diff2" | sed 's/^/      /'
fi
[[ $(cat /var/lib/agentsh/supervisor.pid 2>/dev/null) == "$sup" ]] || t_fail "the supervisor was restarted"
t_end

t_run server.supervisor_restarts_a_killed_server
old=$(cat /var/lib/agentsh/server.pid 2>/dev/null)
if [[ $old =~ ^[0-9]+$ ]]; then
  kill -KILL "$old"
  new_pid() { local p; p=$(cat /var/lib/agentsh/server.pid 2>/dev/null); [[ -n $p && $p != "$old" ]]; }
  wait_for 150 new_pid || t_fail "no new server pid after killing $old"
  wait_for 150 healthy || t_fail "$URL/health did not come back after the restart"
  grep -q 'server exited with status' /var/log/agentsh/server.log || t_fail "the restart is not in /var/log/agentsh/server.log"
else
  t_fail "no server pid to kill"
fi
t_end

# ================================================================================= verify
"$S/verify.sh" >"$LOG/verify" 2>&1
vrc=$?
while read -r verdict name rest; do
  t_run "verify.${name//-/_}"
  [[ $verdict == PASS ]] || t_fail "$rest"
  t_end
done < <(grep -E '^(PASS|FAIL) ' "$LOG/verify")
t_run verify.summary_and_exit_status
summary=$(grep -E '^verify: [0-9]+ passed, [0-9]+ failed$' "$LOG/verify")
if [[ -z $summary ]]; then
  t_fail "no summary line"; show "$LOG/verify"
else
  nfail=$(sed -E 's/.* ([0-9]+) failed/\1/' <<<"$summary")
  [[ ($nfail -eq 0 && $vrc -eq 0) || ($nfail -gt 0 && $vrc -ne 0) ]] || t_fail "exit $vrc does not match '$summary'"
  [[ $(grep -cE '^(PASS|FAIL) ' "$LOG/verify") -ge 10 ]] || t_fail "fewer than 10 checks ran"
fi
t_end

# ============================================================================== uninstall
t_run uninstall.stops_server_restores_bash
"$S/uninstall.sh" >"$LOG/uninstall1" 2>&1
rc=$?
[[ $rc -eq 0 ]] || { t_fail "uninstall.sh exited $rc"; show "$LOG/uninstall1"; }
healthy && t_fail "the server still answers"
proc_running agentsh-supervise && t_fail "an agentsh-supervise process is still running"
[[ $(sha256sum </usr/bin/bash) == "$BASH_SUM" ]] || t_fail "/usr/bin/bash is not the original bytes"
[[ -e /usr/bin/bash.real ]] && t_fail "/usr/bin/bash.real is still there"
grep -q 'matches the sha256 recorded before install' "$LOG/uninstall1" || t_fail "uninstall did not report the checksum match"
t_end

t_run uninstall.removes_files_keeps_audit_and_sessions
for p in /usr/local/bin/agentsh /usr/local/bin/agentsh-shell-shim /usr/local/lib/agentsh /etc/agentsh \
  /etc/profile.d/agentsh.sh /var/lib/agentsh/install.state /var/lib/agentsh/supervisor.pid /var/lib/agentsh/shim-state; do
  [[ -e $p ]] && t_fail "$p is still there"
done
[[ -s /var/lib/agentsh/events.db ]] || t_fail "the audit store /var/lib/agentsh/events.db was not kept"
[[ -d /var/lib/agentsh/sessions/$sid ]] || t_fail "session $sid was not kept"
[[ $(step_status "$LOG/uninstall1" data) == removed ]] || t_fail "no 'data removed' line"
grep -q -- '--purge removes them' "$LOG/uninstall1" || t_fail "does not say how to purge the kept data"
t_end

t_run uninstall.second_run_has_nothing_to_do
"$S/uninstall.sh" >"$LOG/uninstall2" 2>&1
rc=$?
[[ $rc -eq 0 ]] || { t_fail "exit $rc"; show "$LOG/uninstall2"; }
grep -q '^uninstall: done (0 changed' "$LOG/uninstall2" || { t_fail "the second uninstall changed something"; show "$LOG/uninstall2"; }
t_end

# ========================================================================== edited config
t_run config.edited_config_survives_reinstall_and_uninstall
(cd "$WS" && "$S/install.sh" --no-deps) >"$LOG/install3" 2>&1 || { t_fail "install.sh failed"; show "$LOG/install3"; }
echo "# edited by the operator" >>/etc/agentsh/config.yaml
edited=$(sha256sum </etc/agentsh/config.yaml)
(cd "$WS" && "$S/install.sh" --no-deps) >"$LOG/install4" 2>&1 || { t_fail "install.sh over an edited config failed"; show "$LOG/install4"; }
[[ $(sha256sum </etc/agentsh/config.yaml) == "$edited" ]] || t_fail "the edited config.yaml was overwritten"
cmp -s "$TOP/conf/config.yaml" /etc/agentsh/config.yaml.dist || t_fail "the shipped config is not beside it as config.yaml.dist"
grep -q 'kept your edited /etc/agentsh/config.yaml' "$LOG/install4" || t_fail "install did not say it kept the edited config"
(cd "$WS" && "$S/install.sh" --no-deps) >"$LOG/install5" 2>&1
grep -q '^install: done (0 changed' "$LOG/install5" || { t_fail "a third install (edited config) changed something"; show "$LOG/install5"; }
"$S/uninstall.sh" >"$LOG/uninstall3" 2>&1 || { t_fail "uninstall failed"; show "$LOG/uninstall3"; }
[[ $(sha256sum </etc/agentsh/config.yaml 2>/dev/null) == "$edited" ]] || t_fail "uninstall removed the edited config.yaml"
[[ -e /etc/agentsh/config.yaml.dist ]] && t_fail "uninstall left config.yaml.dist"
[[ -e /etc/agentsh/policies/default.yaml ]] && t_fail "uninstall left the unedited policy"
grep -q 'kept .*config.yaml (edited' "$LOG/uninstall3" || t_fail "uninstall did not say it kept the edited config"
t_end

t_run uninstall.purge_leaves_the_machine_as_before
"$S/uninstall.sh" --purge >"$LOG/uninstall4" 2>&1 || { t_fail "uninstall --purge failed"; show "$LOG/uninstall4"; }
snapshot >"$LOG/snap.purged"
if ! diff -u "$SNAP_FRESH" "$LOG/snap.purged" >"$LOG/snap.diff.purge"; then
  t_fail "differences from the fresh machine:"
  head -n 30 "$LOG/snap.diff.purge" | sed 's/^/      /'
fi
t_end

# ================================================================================== --root
t_run root.install_and_uninstall_touch_only_the_tree
T=/tmp/tree
mkdir -p "$T/usr/bin" "$T/etc" "$T/var/lib"
ln -s usr/bin "$T/bin"
cp -p /usr/bin/bash "$T/usr/bin/bash"
tree_bash=$(sha256sum <"$T/usr/bin/bash")
snapshot >"$LOG/snap.root.before"
"$S/install.sh" --root "$T" --no-build --service systemd >"$LOG/install.root" 2>&1
rc=$?
[[ $rc -eq 0 ]] || { t_fail "install.sh --root exited $rc"; show "$LOG/install.root"; }
for p in usr/local/bin/agentsh usr/local/lib/agentsh/libagentsh_hook.so etc/agentsh/config.yaml \
  etc/profile.d/agentsh.sh usr/bin/bash.real var/lib/agentsh/install.state etc/systemd/system/agentsh.service; do
  [[ -e $T/$p ]] || t_fail "$T/$p missing"
done
grep -q 'not started: --root' "$LOG/install.root" || t_fail "the server step did not say the unit was not started"
if command -v systemd-analyze >/dev/null; then
  # The unit as systemd reads it, inside the tree (ExecStart resolved there).
  systemd-analyze --root="$T" verify --man=no --recursive-errors=no /etc/systemd/system/agentsh.service \
    >"$LOG/unit.verify" 2>&1 || { t_fail "systemd-analyze verify rejects the unit:"; show "$LOG/unit.verify"; }
else
  echo "    (systemd-analyze not installed: the unit file was not verified)"
fi
healthy && t_fail "a server answers after install --root"
proc_running agentsh-supervise && t_fail "install --root started a supervisor"
"$S/install.sh" --root "$T" --no-build --service systemd >"$LOG/install.root2" 2>&1
grep -q '^install: done (0 changed' "$LOG/install.root2" || { t_fail "a second install --root changed something"; show "$LOG/install.root2"; }
"$S/uninstall.sh" --root "$T" --purge >"$LOG/uninstall.root" 2>&1 || { t_fail "uninstall --root failed"; show "$LOG/uninstall.root"; }
[[ $(sha256sum <"$T/usr/bin/bash") == "$tree_bash" ]] || t_fail "the tree's bash was not restored"
left=$(cd "$T" && find . ! -type d | sort | paste -sd' ')
[[ $left == "./bin ./usr/bin/bash" ]] || t_fail "left in the tree: $left"
snapshot >"$LOG/snap.root.after"
diff -q "$LOG/snap.root.before" "$LOG/snap.root.after" >/dev/null || {
  t_fail "--root changed the machine itself:"
  diff -u "$LOG/snap.root.before" "$LOG/snap.root.after" | head -n 20 | sed 's/^/      /'
}
rm -rf "$T"
t_end

# ============================================================================ failures
t_run usage.bad_options_exit_2
"$S/install.sh" --bogus >"$LOG/bad1" 2>&1
rc=$?
[[ $rc -eq 2 ]] || t_fail "install.sh --bogus exited $rc, expected 2"
grep -q "unknown option '--bogus'" "$LOG/bad1" || t_fail "no message naming --bogus"
"$S/install.sh" --no-deps --workspace /nonexistent/ws >"$LOG/bad2" 2>&1
rc=$?
[[ $rc -eq 2 ]] || t_fail "install.sh --workspace /nonexistent exited $rc, expected 2"
grep -q '/nonexistent/ws does not exist' "$LOG/bad2" || t_fail "no message naming the missing workspace"
[[ -e /usr/local/bin/agentsh ]] && t_fail "a usage error still installed files"
"$S/uninstall.sh" --what >/dev/null 2>&1
[[ $? -eq 2 ]] || t_fail "uninstall.sh --what did not exit 2"
# Started from a shell that agentsh governs, the scripts refuse and say how to get out.
AGENTSH_IN_SESSION=1 "$S/uninstall.sh" >"$LOG/governed" 2>&1
rc=$?
[[ $rc -eq 2 ]] || t_fail "uninstall.sh under AGENTSH_IN_SESSION exited $rc, expected 2"
grep -q 'bash.real' "$LOG/governed" || { t_fail "no hint to use bash.real"; show "$LOG/governed"; }
t_end

t_run failure.server_step_names_itself_and_cleans_up
# Something that is not agentsh holds the port and never answers /health.
python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 18080)); s.listen(1); time.sleep(120)' &
squatter=$!
wait_for 50 sh -c 'ss -Hltn "sport = :18080" | grep -q .' || t_fail "the port squatter did not start"
(cd "$WS" && "$S/install.sh" --no-deps) >"$LOG/install.fail" 2>&1
rc=$?
[[ $rc -eq 1 ]] || t_fail "install.sh exited $rc, expected 1"
grep -q 'step "server" failed' "$LOG/install.fail" || { t_fail "the failure does not name the server step"; show "$LOG/install.fail"; }
grep -q 'to fix:' "$LOG/install.fail" || t_fail "no 'to fix:' hint"
[[ -z $(step_status "$LOG/install.fail" session) ]] || t_fail "steps after the failed one ran"
proc_running agentsh-supervise && t_fail "the failed start left a supervisor running"
kill "$squatter" 2>/dev/null
wait "$squatter" 2>/dev/null
"$S/uninstall.sh" --purge >"$LOG/uninstall.fail" 2>&1 || { t_fail "uninstall after a failed install failed"; show "$LOG/uninstall.fail"; }
[[ $(sha256sum </usr/bin/bash) == "$BASH_SUM" ]] || t_fail "bash not restored after a failed install"
t_end

echo INSIDE-COMPLETE
