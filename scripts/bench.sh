#!/usr/bin/env bash
# make bench: micro-benchmarks (Google Benchmark) and whole-workload ratios against the
# bare run, measured in the same run. Each workload runs REPS times per mode; the median
# wall time is reported with its ratio to bare.
#
# Workloads: exec loop (1000 × /bin/true from sh), a make -j2 C build (40 files), and a
# header scan (find /usr/include -name '*.h' | xargs cat > /dev/null).
# Modes: bare; agentsh hook only (--no-tracer); agentsh hook + tracer; tracer only
# (--no-hook); strace -f --seccomp-bpf (the cost of a pure ptrace governor).
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
BUILD=${BUILD:-build}
REPS=${REPS:-5}
# BENCH_PARTS: which parts to run (micro workloads scripts); all by default.
BENCH_PARTS=${BENCH_PARTS:-micro workloads scripts}
want() { [[ " $BENCH_PARTS " == *" $1 "* ]]; }
AGENTSH=$top/$BUILD/bin/agentsh

work=$(mktemp -d /tmp/agentsh-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/state" "$work/policies"
cat > "$work/config.yaml" <<EOF
sessions:
  base_dir: "$work/state/sessions"
audit:
  storage:
    sqlite_path: "$work/state/events.db"
policies:
  dir: "$work/policies"
EOF

if ! want micro; then :
elif [[ -x $BUILD/bench/agentsh_bench ]]; then
  echo "== micro-benchmarks"
  "$BUILD/bench/agentsh_bench" --benchmark_min_time=0.2 2>&1 | grep -v '^\*\*\*'
else
  echo "== micro-benchmarks"
  echo "(no $BUILD/bench/agentsh_bench)"
fi

# ---- workloads ----------------------------------------------------------------------
mkdir -p "$work/proj"
for i in $(seq 1 40); do
  cat > "$work/proj/f$i.c" <<EOF
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int f$i(int x) { char b[64]; snprintf(b, sizeof b, "%d", x * $i); return (int)strlen(b); }
EOF
done
echo 'int main(void) { return 0; }' > "$work/proj/main.c"
cat > "$work/proj/Makefile" <<'EOF'
SRCS := $(wildcard *.c)
OBJS := $(SRCS:.c=.o)
prog: $(OBJS)
	$(CC) -o $@ $^
%.o: %.c
	$(CC) -O1 -c $< -o $@
clean:
	rm -f *.o prog
EOF

wl_exec_loop() { sh -c 'i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i+1)); done'; }
wl_make() { make -s -C "$work/proj" clean >/dev/null && make -s -j2 -C "$work/proj" >/dev/null; }
wl_headers() { find /usr/include -name '*.h' -print0 | xargs -0 cat >/dev/null; }
export -f wl_exec_loop wl_make wl_headers
export work

run_mode() {  # mode workload → seconds (median of REPS)
  local mode=$1 wl=$2 times=() t0 t1
  for _ in $(seq "$REPS"); do
    t0=$(date +%s.%N)
    case $mode in
      bare) bash -c "$wl" ;;
      hook) "$AGENTSH" exec --config "$work/config.yaml" --workspace "$work" --no-tracer -- bash -c "$wl" ;;
      hook+tracer) "$AGENTSH" exec --config "$work/config.yaml" --workspace "$work" -- bash -c "$wl" ;;
      tracer) "$AGENTSH" exec --config "$work/config.yaml" --workspace "$work" --no-hook -- bash -c "$wl" ;;
      strace) strace -f --seccomp-bpf -e trace=execve,openat,connect -o /dev/null bash -c "$wl" ;;
    esac >/dev/null 2>"$work/err.txt" || {
      { echo "$mode ${wl#wl_}: $(tail -n 2 "$work/err.txt" | tr '\n' ' ')"; } >>"$work/failures.txt"
      echo "fail"
      return
    }
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.3f\n", a[int((NR+1)/2)]}'
}

if want workloads; then
echo
echo "== agentsh exec start-up: agentsh exec -- /bin/true (median of $REPS, seconds)"
wl_true() { /bin/true; }
export -f wl_true
for m in bare hook hook+tracer tracer; do printf '%16s' "$m"; done; echo
for m in bare hook hook+tracer tracer; do printf '%16s' "$(run_mode "$m" wl_true)"; done; echo

echo
echo "== workloads (median of $REPS, seconds; ratio to bare in the same run)"
modes=(bare hook hook+tracer tracer)
command -v strace >/dev/null && modes+=(strace)
printf '%-12s' workload; for m in "${modes[@]}"; do printf '%16s' "$m"; done; echo
for wl in wl_exec_loop wl_make wl_headers; do
  bare=
  printf '%-12s' "${wl#wl_}"
  for m in "${modes[@]}"; do
    t=$(run_mode "$m" "$wl")
    [[ $m == bare ]] && bare=$t
    if [[ $t == fail || -z $bare || $bare == fail ]]; then printf '%16s' "$t"
    else printf '%16s' "$t ($(echo "scale=2; $t / $bare" | bc -l)x)"; fi
  done
  echo
done

if [[ -s $work/failures.txt ]]; then
  echo "failed runs:"
  sed 's/^/  /' "$work/failures.txt"
fi
fi  # workloads

# Benchmarks that other modules ship as scripts (proxy, DLP, tracer …).
want scripts || exit 0
for s in tests/bench/*.sh; do
  [[ -x $s ]] || continue
  echo
  echo "== $s"
  BUILD=$BUILD "$s"
done
