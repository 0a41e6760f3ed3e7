#!/usr/bin/env bash
# make install: copies the built binaries, the hook library and the default config and
# policy. Never overwrites an /etc/agentsh file the operator edited: an existing file that
# differs from ours stays, and ours is written beside it as *.dist.
#   scripts/install-files.sh DESTDIR PREFIX SYSCONFDIR
set -euo pipefail
destdir=${1:-} prefix=${2:-/usr/local} sysconfdir=${3:-/etc}
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$destdir$prefix/bin libdir=$destdir$prefix/lib/agentsh etc=$destdir$sysconfdir/agentsh

install -d -m 0755 "$bin" "$libdir" "$etc" "$etc/policies"
install -m 0755 "$top/build/bin/agentsh" "$bin/agentsh"
install -m 0755 "$top/build/bin/agentsh-shell-shim" "$bin/agentsh-shell-shim"
install -m 0644 "$top/build/lib/libagentsh_hook.so" "$libdir/libagentsh_hook.so"
echo "installed $bin/agentsh, $bin/agentsh-shell-shim, $libdir/libagentsh_hook.so"

# install_conf SRC DST: first install, identical (nothing to do), or edited (keep it).
install_conf() {
  local src=$1 dst=$2
  if [[ ! -e $dst ]]; then
    install -m 0644 "$src" "$dst"
    echo "installed $dst"
  elif cmp -s "$src" "$dst"; then
    echo "unchanged $dst"
  else
    install -m 0644 "$src" "$dst.dist"
    echo "kept your edited $dst (the shipped version is $dst.dist)"
  fi
}
install_conf "$top/conf/config.yaml" "$etc/config.yaml"
install_conf "$top/conf/policies/default.yaml" "$etc/policies/default.yaml"
