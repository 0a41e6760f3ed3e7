# The demo lab (sourced by scripts/demo.sh; needs root, iproute2, util-linux, python3,
# openssl). A throwaway little world that cannot change the host:
#
#   host ── nothing shared but the repository (read-only use) and $LAB (/var/tmp/…)
#
#   netns <tag>-in   the agent's side: lo + veth 10.200.0.2, default route to the outside.
#     └ mount + pid namespaces whose PID 1 is scripts/lab/init.sh: overlays over /etc,
#       /usr/bin, /usr/local, /tmp, /root, /home, /var/lib, /var/log (upper layers on a
#       tmpfs, so writes vanish with the lab), a fresh /run, /etc/hosts and resolv.conf
#       pointing at the outside. agentsh is installed here by scripts/install.sh.
#   netns <tag>-out  "the outside world": veth 10.200.0.1 and, on its lo, the addresses
#       an agent must not reach (10.0.0.1, 192.168.1.1, 169.254.169.254, 100.100.100.200)
#       and stand-ins for public hosts under their real names (198.18.0.10
#       registry.npmjs.org, .11 pypi.org, .12 github.com, .99 anything else), a DNS server
#       (198.18.0.53), all served by scripts/lab/outside.py. No packet leaves the lab.
#
# Killing the lab's PID 1 ends every process inside (server, supervisor, agents); the
# mount namespace and its overlays go with them; the two netns are deleted; $LAB removed.
# State for later commands (--keep, --cleanup) is in $LAB/lab.env.

LAB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_ADDRS=(10.0.0.1 192.168.1.1 169.254.169.254 100.100.100.200 198.18.0.10 198.18.0.11 198.18.0.12 198.18.0.53 198.18.0.99)
LAB=${LAB:-} LAB_TAG="" LAB_NS_IN="" LAB_NS_OUT="" LAB_INIT_PID="" LAB_OUTSIDE_PID=""

lab_save() {
  {
    printf 'LAB=%q\nLAB_TAG=%q\nLAB_NS_IN=%q\nLAB_NS_OUT=%q\n' "$LAB" "$LAB_TAG" "$LAB_NS_IN" "$LAB_NS_OUT"
    printf 'LAB_INIT_PID=%q\nLAB_OUTSIDE_PID=%q\n' "$LAB_INIT_PID" "$LAB_OUTSIDE_PID"
  } >"$LAB/lab.env"
}

lab_load() {
  local dir=$1 line
  [[ -r $dir/lab.env ]] || return 1
  while IFS= read -r line; do [[ $line =~ ^LAB[A-Z_]*= ]] && eval "$line"; done <"$dir/lab.env"
}

# lab_fail MSG: print and return 1 (the caller tears down).
lab_fail() { echo "lab: $*" >&2; return 1; }

lab_create() {
  local t
  for t in ip unshare nsenter python3 openssl setsid; do
    command -v "$t" >/dev/null || lab_fail "needs $t (apt-get install iproute2 util-linux python3 openssl)" || return 1
  done
  LAB=$(mktemp -d /var/tmp/agentsh-demo.XXXXXX) || return 1
  chmod 755 "$LAB"
  # Short: interface names are limited to 15 characters.
  LAB_TAG=ad$(printf '%05d' $(($$ % 100000)))
  LAB_NS_IN=$LAB_TAG-in LAB_NS_OUT=$LAB_TAG-out
  lab_save

  # A CA and one certificate for the fake registries, so HTTPS is real.
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=agentsh demo lab CA" \
    -keyout "$LAB/ca.key" -out "$LAB/ca.pem" >/dev/null 2>&1 &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=registry.npmjs.org" \
      -keyout "$LAB/srv.key" -out "$LAB/srv.csr" >/dev/null 2>&1 &&
    printf 'subjectAltName=DNS:registry.npmjs.org,DNS:pypi.org,DNS:files.pythonhosted.org,DNS:github.com,DNS:unknown-host.example\n' >"$LAB/san.ext" &&
    openssl x509 -req -in "$LAB/srv.csr" -CA "$LAB/ca.pem" -CAkey "$LAB/ca.key" -CAcreateserial \
      -days 2 -extfile "$LAB/san.ext" -out "$LAB/srv.pem" >/dev/null 2>&1 ||
    { lab_fail "openssl could not make the lab certificates"; return 1; }

  ip netns add "$LAB_NS_IN" && ip netns add "$LAB_NS_OUT" || { lab_fail "ip netns add failed"; return 1; }
  lab_save
  ip link add "$LAB_TAG-a" type veth peer name "$LAB_TAG-b" &&
    ip link set "$LAB_TAG-a" netns "$LAB_NS_IN" &&
    ip link set "$LAB_TAG-b" netns "$LAB_NS_OUT" ||
    { lab_fail "cannot create the veth pair"; return 1; }
  ip -n "$LAB_NS_IN" addr add 10.200.0.2/24 dev "$LAB_TAG-a"
  ip -n "$LAB_NS_OUT" addr add 10.200.0.1/24 dev "$LAB_TAG-b"
  local ns a
  for ns in "$LAB_NS_IN" "$LAB_NS_OUT"; do ip -n "$ns" link set lo up; done
  ip -n "$LAB_NS_IN" link set "$LAB_TAG-a" up
  ip -n "$LAB_NS_OUT" link set "$LAB_TAG-b" up
  ip -n "$LAB_NS_IN" route add default via 10.200.0.1
  for a in "${LAB_ADDRS[@]}"; do ip -n "$LAB_NS_OUT" addr add "$a/32" dev lo; done

  # The outside world.
  : >"$LAB/outside.log"
  ip netns exec "$LAB_NS_OUT" setsid python3 "$LAB_HERE/outside.py" "$LAB/outside.log" "$LAB/srv.pem" "$LAB/srv.key" \
    192.168.1.1 100.100.100.200 registry.npmjs.org=198.18.0.10 pypi.org=198.18.0.11 \
    files.pythonhosted.org=198.18.0.11 github.com=198.18.0.12 intranet.example=10.0.0.1 \
    metadata.google.internal=169.254.169.254 --dns 198.18.0.53 --default 198.18.0.99 \
    </dev/null >"$LAB/outside.err" 2>&1 &
  LAB_OUTSIDE_PID=$!
  lab_save
  for ((t = 0; t < 100; t++)); do
    [[ -e $LAB/outside.log.ready ]] && break
    sleep 0.1
  done
  [[ -e $LAB/outside.log.ready ]] || { cat "$LAB/outside.err" >&2; lab_fail "the outside server did not start"; return 1; }

  # The agent's side: PID 1 of new mount + pid namespaces inside <tag>-in. setsid: it
  # outlives this script's terminal when the lab is kept.
  ip netns exec "$LAB_NS_IN" setsid unshare --mount --propagation private --pid --fork --mount-proc \
    -- "${BASH:-/bin/bash}" "$LAB_HERE/init.sh" "$LAB" </dev/null >"$LAB/init.log" 2>&1 &
  local unshare_pid=$!
  for ((t = 0; t < 100; t++)); do
    [[ -e $LAB/ready ]] && break
    kill -0 "$unshare_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -e $LAB/ready ]] || { cat "$LAB/init.log" >&2; lab_fail "the lab's namespaces did not come up"; return 1; }
  # unshare --fork waits for its child, the namespaces' PID 1: that child is the target
  # every later nsenter uses.
  LAB_INIT_PID=$(awk '{print $1}' "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null)
  [[ $LAB_INIT_PID =~ ^[0-9]+$ ]] || { lab_fail "cannot find the lab's PID 1"; return 1; }
  lab_save
}

# lab_exec CMD…: run CMD inside the lab (its mount, network and pid namespaces).
lab_exec() { nsenter --target "$LAB_INIT_PID" --mount --net --pid -- "$@"; }

lab_destroy() {
  [[ -n $LAB && -d $LAB ]] || return 0
  # PID 1 of the lab's pid namespace: killing it ends everything inside.
  if [[ -n $LAB_INIT_PID ]] && grep -q "init.sh" "/proc/$LAB_INIT_PID/cmdline" 2>/dev/null; then
    kill -KILL "$LAB_INIT_PID" 2>/dev/null
  fi
  if [[ -n $LAB_OUTSIDE_PID ]] && grep -q "outside.py" "/proc/$LAB_OUTSIDE_PID/cmdline" 2>/dev/null; then
    kill "$LAB_OUTSIDE_PID" 2>/dev/null
  fi
  [[ -n $LAB_NS_IN ]] && ip netns del "$LAB_NS_IN" 2>/dev/null
  [[ -n $LAB_NS_OUT ]] && ip netns del "$LAB_NS_OUT" 2>/dev/null
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -n $LAB_INIT_PID ]] && [[ -d /proc/$LAB_INIT_PID ]] || break
    sleep 0.1
  done
  rm -rf "$LAB"
  return 0
}

lab_hint() {
  cat <<EOF
The lab is still running (its files: $LAB).
  a governed login shell (the shim sends TTY shells through agentsh):
      sudo nsenter --target $LAB_INIT_PID --mount --net --pid -- /bin/bash -l
  an ungoverned root shell in the lab:
      sudo nsenter --target $LAB_INIT_PID --mount --net --pid -- /usr/bin/bash.real -l
  the outside world (its request log: $LAB/outside.log):
      sudo ip netns exec $LAB_NS_OUT bash
  clean up (stops everything in it, deletes the namespaces and $LAB):
      sudo scripts/demo.sh --cleanup $LAB
EOF
}
