// The one main() of build/bench/agentsh_bench: every other tests/bench/*.cc file only
// registers benchmarks, so they can be linked together.
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
