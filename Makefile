# agentsh — plain Makefile (no CMake). One module per folder; each module's sources are
# found by wildcard, so adding a file to a module needs no edit here.
#
#   make            build/bin/agentsh, build/bin/agentsh-shell-shim, build/lib/libagentsh_hook.so
#   make test       every suite (unit, integration, corner cases, acceptance when root)
#   make bench      benchmarks (ratios against the bare run, measured in the same run)
#   make deps       the Debian packages the project needs (root)
#   make format     clang-format over the tree
#   make install PREFIX=/usr/local [DESTDIR=…]   never overwrites an edited /etc/agentsh/*

CXX      ?= g++
CC       ?= gcc
PREFIX   ?= /usr/local
DESTDIR  ?=
SYSCONFDIR ?= /etc
BUILD    := build
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.1.0)
GIT_REV  := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

# GCC 12 false positives, both inside system headers at -O2: -Wrestrict in libstdc++
# string code (GCC bug 105329) and -Wdangling-pointer in yaml-cpp's node/impl.h.
# Every other warning stays an error.
WARN     := -Wall -Wextra -Werror -Wno-restrict -Wno-dangling-pointer
CPPFLAGS += -I. -DAGENTSH_VERSION=\"$(VERSION)\" -DAGENTSH_GIT_REV=\"$(GIT_REV)\"
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++20 $(WARN) -fno-omit-frame-pointer -D_GNU_SOURCE
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -D_GNU_SOURCE

PKGS     := yaml-cpp libpcre2-8 libseccomp sqlite3 libhs cpp-httplib fuse3
# Start-up cost: every shared library is mapped, relocated and initialised before main()
# on every `agentsh exec`. The libraries Debian also ships as .a (in the same -dev
# packages) are linked statically: fewer objects for ld.so to load and fewer symbol
# lookups (~1.5 ms of a ~10 ms start-up). cpp-httplib exists only as a .so and stays
# dynamic (and with it OpenSSL, zlib, brotli). --as-needed drops libraries nothing uses;
# -O1 and the GNU hash table make the remaining lookups cheaper.
STATIC_LIBS := -lyaml-cpp -lpcre2-8 -lseccomp -lsqlite3 -lmbedtls -lmbedx509 -lmbedcrypto -lhs
LDFLAGS_AGENTSH := -Wl,-O1 -Wl,--as-needed -Wl,--hash-style=gnu
LIBS     := $(LDFLAGS_AGENTSH) -Wl,-Bstatic $(STATIC_LIBS) -Wl,-Bdynamic \
            -lcpp-httplib -lz -lm -lpthread -ldl

DEPS_APT := build-essential pkg-config make git clang-format \
            libseccomp-dev libfuse3-dev fuse3 libyaml-cpp-dev libpcre2-dev libmbedtls-dev \
            libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev \
            libsqlite3-dev sqlite3 nlohmann-json3-dev libcli11-dev libcpp-httplib-dev \
            libhyperscan-dev zlib1g-dev iproute2 openssl curl python3 util-linux strace procps bc

# ---- module sources -------------------------------------------------------------------
COMMON_SRCS  := $(wildcard common/*.cc)
POLICY_SRCS  := $(wildcard policy/*.cc)
PROXY_SRCS   := $(wildcard proxy/*.cc)
TRACER_SRCS  := $(wildcard tracer/*.cc)
CMD_SRCS     := $(filter-out agentsh/main.cc,$(wildcard agentsh/*.cc))
PRELOAD_SRCS := $(wildcard preload/*.cc)
SHIM_SRCS    := $(wildcard shim/*.cc)
# Policy code that also runs inside the hook: allocation-free, exception-free readers of
# the compiled snapshot. Listed here so it is compiled twice (normal and hook flavour).
HOOK_POLICY_SRCS := $(wildcard policy/glob.cc policy/cidr.cc policy/snapshot_view.cc common/path_util.cc)

obj = $(patsubst %.cc,$(BUILD)/obj/%.o,$(1))
hobj = $(patsubst %.cc,$(BUILD)/hobj/%.o,$(1))

COMMON_OBJS  := $(call obj,$(COMMON_SRCS))
POLICY_OBJS  := $(call obj,$(POLICY_SRCS))
PROXY_OBJS   := $(call obj,$(PROXY_SRCS))
TRACER_OBJS  := $(call obj,$(TRACER_SRCS))
CMD_OBJS     := $(call obj,$(CMD_SRCS)) $(BUILD)/obj/agentsh/embedded.o
PRELOAD_OBJS := $(call hobj,$(PRELOAD_SRCS) $(HOOK_POLICY_SRCS))
SHIM_OBJS    := $(patsubst %.cc,$(BUILD)/sobj/%.o,$(SHIM_SRCS))

LIB_AGENTSH  := $(BUILD)/lib/libagentsh_core.a
AGENTSH      := $(BUILD)/bin/agentsh
SHIM         := $(BUILD)/bin/agentsh-shell-shim
HOOK         := $(BUILD)/lib/libagentsh_hook.so

UNIT_SRCS    := $(wildcard tests/unit/*.cc)
INTEG_SRCS   := $(wildcard tests/integration/*.cc)
CASE_SRCS    := $(wildcard tests/cases/*.c)
BENCH_SRCS   := $(wildcard tests/bench/*.cc)
UNIT_TESTS   := $(BUILD)/tests/unit_tests
INTEG_TESTS  := $(BUILD)/tests/integration_tests
CASES        := $(patsubst tests/cases/%.c,$(BUILD)/tests/cases/%,$(CASE_SRCS)) \
                $(patsubst tests/cases/%.c,$(BUILD)/tests/cases/%.static,$(CASE_SRCS))
BENCH_BIN    := $(BUILD)/bench/agentsh_bench

.PHONY: all test unit integration bench deps deps-node format install uninstall clean cases check-deps demo test-ops
all: check-deps $(AGENTSH) $(SHIM) $(HOOK)

check-deps:
	@test -f /usr/include/mbedtls/ssl.h -a -f /usr/include/nlohmann/json.hpp -a -f /usr/include/gtest/gtest.h || { echo "agentsh: missing build dependencies; run 'sudo make deps' first" >&2; exit 1; }
	@pkg-config --exists $(PKGS) || { echo "agentsh: missing build dependencies; run 'sudo make deps' first" >&2; exit 1; }

# ---- compile rules --------------------------------------------------------------------
$(BUILD)/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -MMD -MP -c $< -o $@

# The hook flavour: position independent, no exceptions, no RTTI, nothing exported but
# the interposed symbols (see preload/README.md for the rules of the house).
HOOK_CXXFLAGS := -std=c++20 $(WARN) -O2 -g -fPIC -fno-exceptions -fno-rtti -fvisibility=hidden \
                 -fno-stack-protector -fno-builtin-malloc -D_GNU_SOURCE -DAGENTSH_HOOK_BUILD=1 -ftls-model=initial-exec
$(BUILD)/hobj/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(HOOK_CXXFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/agentsh/embedded.o: agentsh/embedded.S conf/config.yaml conf/policies/default.yaml
	@mkdir -p $(dir $@)
	$(CC) -I. -c $< -o $@

$(LIB_AGENTSH): $(CMD_OBJS) $(TRACER_OBJS) $(PROXY_OBJS) $(POLICY_OBJS) $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(AGENTSH): $(BUILD)/obj/agentsh/main.o $(LIB_AGENTSH)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -o $@ $^ $(LIBS)

# The shim sits in front of every bash: no exceptions, no RTTI, linked statically so
# that starting it costs no dynamic loading (about half a millisecond per shell).
SHIM_CXXFLAGS := $(CXXFLAGS) -fno-exceptions -fno-rtti
$(BUILD)/sobj/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(SHIM_CXXFLAGS) -MMD -MP -c $< -o $@

$(SHIM): $(SHIM_OBJS)
	@mkdir -p $(dir $@)
	$(CXX) $(SHIM_CXXFLAGS) -static -o $@ $^

# The hook links against libc only: no libstdc++ at run time, nothing that could
# allocate behind our back.
$(HOOK): $(PRELOAD_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $^ -static-libgcc -Wl,--no-undefined -Wl,-z,now -Wl,-z,relro -ldl -lc
	@! nm -D --undefined-only $@ | grep -v __cxa_finalize | grep -E ' _Z|__cxa|__gxx' || { echo "hook pulls in C++ runtime" >&2; rm -f $@; exit 1; }

# ---- tests ----------------------------------------------------------------------------
$(UNIT_TESTS): $(call obj,$(UNIT_SRCS)) $(LIB_AGENTSH)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -o $@ $^ -lgtest -lgmock -lgtest_main $(LIBS)

$(INTEG_TESTS): $(call obj,$(INTEG_SRCS)) $(LIB_AGENTSH)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -o $@ $^ -lgtest -lgmock -lgtest_main $(LIBS)

# One tiny C program per corner case, built dynamic and static (the tracer's prey).
$(BUILD)/tests/cases/%: tests/cases/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -lpthread

$(BUILD)/tests/cases/%.static: tests/cases/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $< -lpthread

cases: $(CASES)

$(BENCH_BIN): $(call obj,$(BENCH_SRCS)) $(LIB_AGENTSH)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -o $@ $^ -lbenchmark -lpthread $(LIBS)

test: all $(UNIT_TESTS) $(INTEG_TESTS) cases
	@scripts/run-tests.sh

unit: all $(UNIT_TESTS)
	$(UNIT_TESTS)

integration: all $(INTEG_TESTS) cases
	$(INTEG_TESTS)

bench: all $(BENCH_BIN) cases
	@scripts/bench.sh

# The "see it work" command: a throwaway lab (namespaces + overlays), agentsh installed in
# it by scripts/install.sh, the policy checks grouped by category (root; host untouched).
demo: all
	scripts/demo.sh

# install.sh -> verify.sh -> uninstall.sh in private namespaces; the host is compared
# before and after (root).
test-ops: all
	tests/ops/install_cycle.sh

# ---- set-up ---------------------------------------------------------------------------
deps:
	@if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root (apt-get install)" >&2; exit 1; fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEPS_APT)
	@$(MAKE) --no-print-directory deps-node

# The official LLM SDKs the tests drive (tests/llm, pinned by package-lock.json). Skipped
# when node_modules already matches the lock, so it works offline once installed.
deps-node:
	@if [ -f tests/llm/node_modules/.package-lock.json ] && \
	    [ tests/llm/node_modules/.package-lock.json -nt tests/llm/package-lock.json ]; then \
	  echo "tests/llm/node_modules: up to date"; \
	else \
	  command -v npm >/dev/null || { echo "make deps-node: npm not found (install node 20 + npm)" >&2; exit 1; }; \
	  npm ci --prefix tests/llm --no-audit --no-fund; \
	fi

format:
	clang-format -i $$(git ls-files '*.cc' '*.h' '*.c')

install: all
	scripts/install-files.sh "$(DESTDIR)" "$(PREFIX)" "$(SYSCONFDIR)"

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
