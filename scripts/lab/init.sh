# PID 1 of the demo lab (see lab.sh): runs in fresh mount and pid namespaces inside the
# lab's network namespace. Builds the lab's private view of the filesystem, says "ready",
# then reaps orphans until it is killed (which ends the lab).
#   bash init.sh LAB
set -u
LAB=$1

# Upper layers on a tmpfs: writes vanish with the lab, and it works where /var/tmp is
# itself an overlay (containers), which an overlay cannot use as its upper layer.
mkdir -p "$LAB/ov"
mount -t tmpfs -o size=2g,mode=0755 lab-overlays "$LAB/ov" || { echo "init: tmpfs failed"; exit 1; }
for dir in /etc /usr/bin /usr/local /tmp /root /home /var/lib /var/log; do
  [[ -d $dir ]] || continue
  name=$(echo "$dir" | tr / _)
  mkdir -p "$LAB/ov/$name/u" "$LAB/ov/$name/w"
  mount -t overlay overlay -o "lowerdir=$dir,upperdir=$LAB/ov/$name/u,workdir=$LAB/ov/$name/w" "$dir" ||
    { echo "init: overlay on $dir failed"; exit 1; }
done
# A fresh /run: no host daemons' sockets (systemd, dbus) are reachable from the lab.
mount -t tmpfs -o mode=0755 lab-run /run
chmod 1777 /tmp

# The outside world's names (the lab's DNS server answers them too, and any other name
# with 198.18.0.99). Real registry names are safe here: no packet leaves the lab.
cat >>/etc/hosts <<'EOF'
198.18.0.10 registry.npmjs.org
198.18.0.11 pypi.org files.pythonhosted.org
198.18.0.12 github.com
198.18.0.99 unknown-host.example
10.0.0.1 intranet.example
169.254.169.254 metadata.google.internal
EOF
rm -f /etc/resolv.conf
echo "nameserver 198.18.0.53" >/etc/resolv.conf
# The agent's workspace and home.
mkdir -p /home/project/src /home/agent
printf 'print("hello from the workspace")\n' >/home/project/src/main.py
printf '# demo project\n' >/home/project/README.md
echo "lab: up (pid namespace init $$)"
touch "$LAB/ready"

trap 'exit 0' TERM INT
# As PID 1 we inherit every orphan; bash reaps its children as they exit.
while :; do
  sleep 3600 &
  wait $!
done
