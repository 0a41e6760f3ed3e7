#!/usr/bin/env bash
# A/B of agentsh exec modes on scripts/bench.sh's workloads (exec loop, make -j2 of 40
# files, header scan), modes interleaved per round so machine load hits them alike;
# median wall and CPU (user+sys of the whole tree plus agentsh) with the start-up
# (`agentsh exec -- /bin/true` in the same mode) subtracted, as ratios to bare.
#
#   bash tests/bench/tracer_perf_ab.sh [BASE_AGENTSH]
#     REPS=5  MODES="bare hook hook+tracer tracer strace"  WLS="start exec_loop make headers"
# With BASE_AGENTSH (another build's bin/agentsh, e.g. the branch point), the modes
# base-hook+tracer and base-tracer run it beside this tree's build. "start" must stay in
# WLS for the subtraction. Not executable on purpose: scripts/bench.sh runs every
# executable tests/bench/*.sh, and this one wants a quiet machine and minutes.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
REPS=${REPS:-5}
NEW=$top/${BUILD:-build}/bin/agentsh
BASE=${1:-}
work=$(mktemp -d /tmp/agentsh-cpub.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/state" "$work/policies"
cat > "$work/config.yaml" <<EOC
sessions:
  base_dir: "$work/state/sessions"
audit:
  storage:
    sqlite_path: "$work/state/events.db"
policies:
  dir: "$work/policies"
EOC
mkdir -p "$work/proj"
for i in $(seq 1 40); do
  printf '#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\nint f%d(int x) { char b[64]; snprintf(b, sizeof b, "%%d", x * %d); return (int)strlen(b); }\n' $i $i > "$work/proj/f$i.c"
done
echo 'int main(void) { return 0; }' > "$work/proj/main.c"
printf 'SRCS := $(wildcard *.c)\nOBJS := $(SRCS:.c=.o)\nprog: $(OBJS)\n\t$(CC) -o $@ $^\n%%.o: %%.c\n\t$(CC) -O1 -c $< -o $@\nclean:\n\trm -f *.o prog\n' > "$work/proj/Makefile"
declare -A WL
WL[start]='/bin/true'
WL[exec_loop]="sh -c 'i=0; while [ \$i -lt 1000 ]; do /bin/true; i=\$((i+1)); done'"
WL[make]="make -s -C $work/proj clean >/dev/null && make -s -j2 -C $work/proj >/dev/null"
WL[headers]="find /usr/include -name '*.h' -print0 | xargs -0 cat >/dev/null"
if [[ -n $BASE ]]; then
  MODES=${MODES:-bare hook hook+tracer base-hook+tracer tracer base-tracer strace}
else
  MODES=${MODES:-bare hook hook+tracer tracer strace}
fi
WLS=${WLS:-start exec_loop make headers}
run1() {  # mode wl -> "wall cpu"
  local m=$1 c=${WL[$2]} o=$work/t.txt
  case $m in
    bare) /usr/bin/time -f '%e %U %S' -o $o bash -c "$c" ;;
    hook) /usr/bin/time -f '%e %U %S' -o $o $NEW exec --config $work/config.yaml --workspace $work --no-tracer -- bash -c "$c" ;;
    hook+tracer) /usr/bin/time -f '%e %U %S' -o $o $NEW exec --config $work/config.yaml --workspace $work -- bash -c "$c" ;;
    tracer) /usr/bin/time -f '%e %U %S' -o $o $NEW exec --config $work/config.yaml --workspace $work --no-hook -- bash -c "$c" ;;
    base-hook+tracer) /usr/bin/time -f '%e %U %S' -o $o $BASE exec --config $work/config.yaml --workspace $work -- bash -c "$c" ;;
    base-tracer) /usr/bin/time -f '%e %U %S' -o $o $BASE exec --config $work/config.yaml --workspace $work --no-hook -- bash -c "$c" ;;
    strace) /usr/bin/time -f '%e %U %S' -o $o strace -f --seccomp-bpf -e trace=execve,openat,connect -o /dev/null bash -c "$c" ;;
  esac >/dev/null 2>>$work/err.txt
  awk '{printf "%.4f %.4f\n", $1, $2+$3}' $o
}
med() { sort -n | awk '{a[NR]=$1} END {printf "%.4f", a[int((NR+1)/2)]}'; }
declare -A W C
for w in $WLS; do
  for r in $(seq $REPS); do
    for m in $MODES; do
      read -r wall cpu < <(run1 $m $w)
      W[$m,$w]+="$wall "; C[$m,$w]+="$cpu "
    done
  done
done
printf '%-10s %-17s %9s %9s %9s %9s\n' workload mode wall-s cpu-s wall-x cpu-x
for w in $WLS; do
  bw=$(echo ${W[bare,$w]} | tr ' ' '\n' | med); bc_=$(echo ${C[bare,$w]} | tr ' ' '\n' | med)
  for m in $MODES; do
    wall=$(echo ${W[$m,$w]} | tr ' ' '\n' | med); cpu=$(echo ${C[$m,$w]} | tr ' ' '\n' | med)
    if [[ $w != start && $m != bare && $m != strace ]]; then
      sw=$(echo ${W[$m,start]:-0} | tr ' ' '\n' | med); sc=$(echo ${C[$m,start]:-0} | tr ' ' '\n' | med)
      wall=$(echo "$wall - $sw" | bc -l); cpu=$(echo "$cpu - $sc" | bc -l)
    fi
    if [[ $w == start ]]; then printf "%-10s %-17s %9.3f %9.3f\n" $w $m $wall $cpu; else printf "%-10s %-17s %9.3f %9.3f %8.2fx %8.2fx\n" $w $m $wall $cpu $(echo "$wall / $bw" | bc -l) $(echo "$cpu / $bc_" | bc -l); fi
  done
done
