// The generated seccomp prefilter, executed by a small classic-BPF interpreter against
// synthetic seccomp_data: for every row of the syscall table the filter must route
// exactly as the row says, foreign ABIs must be killed, exec must reach the supervisor
// from anywhere, and the gate must let through exactly the calls the hook decides.
// (The real kernel runs the same program in tests/integration/tracer_cases_test.cc.)
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include <cstring>
#include <string>
#include <vector>

#include "tracer/arch_x86_64.h"
#include "tracer/bpf_assembler.h"
#include "tracer/bpf_program.h"
#include "tracer/gate.h"
#include "tracer/syscall_table.h"

namespace agentsh::tracer {
namespace {

// Runs a classic BPF program over `d`; fails the test on anything malformed.
uint32_t run_bpf(const std::vector<sock_filter>& prog, const seccomp_data& d) {
  uint32_t a = 0;
  uint8_t raw[sizeof d];
  memcpy(raw, &d, sizeof d);
  for (size_t pc = 0; pc < prog.size();) {
    const sock_filter& f = prog[pc];
    switch (f.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        EXPECT_LE(f.k + 4, sizeof d);
        EXPECT_EQ(f.k % 4, 0u);
        memcpy(&a, raw + f.k, 4);
        ++pc;
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        a &= f.k;
        ++pc;
        break;
      case BPF_JMP | BPF_JA:
        pc += 1 + f.k;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += 1 + (a == f.k ? f.jt : f.jf);
        break;
      case BPF_JMP | BPF_JGT | BPF_K:
        pc += 1 + (a > f.k ? f.jt : f.jf);
        break;
      case BPF_JMP | BPF_JGE | BPF_K:
        pc += 1 + (a >= f.k ? f.jt : f.jf);
        break;
      case BPF_JMP | BPF_JSET | BPF_K:
        pc += 1 + ((a & f.k) ? f.jt : f.jf);
        break;
      case BPF_RET | BPF_K:
        return f.k;
      default:
        ADD_FAILURE() << "unexpected opcode " << f.code << " at " << pc;
        return 0;
    }
  }
  ADD_FAILURE() << "fell off the end of the program";
  return 0;
}

seccomp_data call(int nr, uint64_t ip = 0x401000, std::vector<uint64_t> args = {}) {
  seccomp_data d{};
  d.nr = nr;
  d.arch = AUDIT_ARCH_X86_64;
  d.instruction_pointer = ip;
  for (size_t i = 0; i < args.size() && i < 6; ++i) d.args[i] = args[i];
  return d;
}

constexpr uint32_t kNotify = SECCOMP_RET_USER_NOTIF;
constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t kKill = SECCOMP_RET_KILL_PROCESS;

// Arguments that make a row's route condition hold.
std::vector<uint64_t> triggering_args(const SyscallInfo& s, uint64_t gate) {
  std::vector<uint64_t> a(6, 0);
  switch (s.route) {
    case Route::kAlways:
      break;
    case Route::kArgNonZero:
      a[s.route_arg] = 0x7fff00001000ull;
      break;
    case Route::kArgMaskAny:
      a[s.route_arg] = s.route_mask;
      break;
    case Route::kArgIn:
      a[s.route_arg] = s.route_in[0];
      break;
    case Route::kGateRange:
      a[s.ranges[0][0]] = gate;
      a[s.ranges[0][1]] = 4096;
      break;
  }
  return a;
}

class BpfTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(BpfTest, EveryTableRowRoutesAsItSays) {
  const uint64_t gate = GetParam();
  BpfProgram p;
  std::string err;
  ASSERT_TRUE(BpfProgram::build(gate, &p, &err)) << err;
  for (const auto& s : syscall_table::all()) {
    SCOPED_TRACE(s.name);
    if (s.route == Route::kGateRange && gate == 0) {
      // No gate: the memory guard is not emitted at all.
      EXPECT_EQ(run_bpf(p.insns(), call(s.nr, 0x401000, triggering_args(s, 0x100000000000ull))),
                kAllow);
      continue;
    }
    EXPECT_EQ(run_bpf(p.insns(), call(s.nr, 0x401000, triggering_args(s, gate))), kNotify);
    if (s.route != Route::kAlways && s.handler != Handler::kExec) {
      // The same call without the condition runs at full speed.
      EXPECT_EQ(run_bpf(p.insns(), call(s.nr)), kAllow);
    }
  }
}

TEST_P(BpfTest, UntracedSyscallsAreAllowed) {
  BpfProgram p;
  std::string err;
  ASSERT_TRUE(BpfProgram::build(GetParam(), &p, &err)) << err;
  int allowed = 0;
  for (int nr = 0; nr < 512; ++nr) {
    if (syscall_table::find(nr)) continue;
    EXPECT_EQ(run_bpf(p.insns(), call(nr)), kAllow) << nr;
    ++allowed;
  }
  EXPECT_GT(allowed, 300);
  for (int nr : {SYS_read, SYS_write, SYS_close, SYS_getpid, SYS_fstat, SYS_futex, SYS_brk})
    EXPECT_EQ(run_bpf(p.insns(), call(nr)), kAllow) << nr;
}

TEST_P(BpfTest, ForeignAbisAreKilledBeforeAnythingElse) {
  BpfProgram p;
  std::string err;
  ASSERT_TRUE(BpfProgram::build(GetParam(), &p, &err)) << err;
  for (uint32_t a : std::vector<uint32_t>{AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, 0u}) {
    seccomp_data d = call(SYS_getpid);
    d.arch = a;
    EXPECT_EQ(run_bpf(p.insns(), d), kKill) << a;
  }
  // i386 numbers are not x86_64 numbers: 11 is execve there, munmap here. Still killed.
  seccomp_data d = call(11);
  d.arch = AUDIT_ARCH_I386;
  EXPECT_EQ(run_bpf(p.insns(), d), kKill);
  // x32: the bit, on any number, from anywhere (even the gate).
  for (int nr : {SYS_getpid, SYS_openat, SYS_execve, 512 /* x32 execve base */}) {
    EXPECT_EQ(run_bpf(p.insns(), call(nr | arch::kX32SyscallBit)), kKill) << nr;
    if (GetParam()) {
      EXPECT_EQ(run_bpf(p.insns(), call(nr | arch::kX32SyscallBit, GetParam() + 16)), kKill);
    }
  }
  EXPECT_EQ(run_bpf(p.insns(), call(-1)), kKill);  // nr 0xffffffff has the bit too
}

INSTANTIATE_TEST_SUITE_P(WithAndWithoutGate, BpfTest,
                         ::testing::Values(0ull, 0x2345'6789'a000ull, 0x1000'0000'0000ull,
                                           0x3fff'ffff'f000ull));

TEST(BpfGate, HookDecidedCallsFromTheGateRunExecNever) {
  const uint64_t gate = 0x2345'6789'a000ull;
  BpfProgram p;
  std::string err;
  ASSERT_TRUE(BpfProgram::build(gate, &p, &err)) << err;
  for (uint64_t ip : {gate, gate + 2, gate + 4095}) {
    for (const auto& s : syscall_table::all()) {
      SCOPED_TRACE(std::string(s.name) + " ip=" + std::to_string(ip - gate));
      uint32_t want = s.gate_ok ? kAllow : kNotify;
      EXPECT_EQ(run_bpf(p.insns(), call(s.nr, ip, triggering_args(s, gate))), want);
    }
  }
  // Just outside the page, and the same page offset in another slice: not the gate.
  for (uint64_t ip : std::vector<uint64_t>{gate - 1, gate + 4096, gate ^ (uint64_t{1} << 32),
                                           gate ^ (uint64_t{1} << 40)})
    EXPECT_EQ(run_bpf(p.insns(), call(SYS_openat, ip)), kNotify) << std::hex << ip;
  EXPECT_EQ(run_bpf(p.insns(), call(SYS_execve, gate + 8)), kNotify);
  EXPECT_EQ(run_bpf(p.insns(), call(SYS_execveat, gate + 8)), kNotify);
}

TEST(BpfGate, MemoryGuardSeesEverythingThatCouldReachTheGateSlice) {
  const uint64_t gate = 0x2345'6789'a000ull;
  const uint64_t slice = gate & ~0xffffffffull;
  BpfProgram p;
  std::string err;
  ASSERT_TRUE(BpfProgram::build(gate, &p, &err)) << err;
  auto mmap_at = [&](uint64_t addr, uint64_t len) {
    return run_bpf(p.insns(), call(SYS_mmap, 0x401000, {addr, len, 3, 0x22, ~0ull, 0}));
  };
  EXPECT_EQ(mmap_at(0, 1 << 20), kAllow);                    // kernel-placed, small
  EXPECT_EQ(mmap_at(0x7f00'0000'0000ull, 1 << 20), kAllow);  // above the slice
  EXPECT_EQ(mmap_at(0x5555'0000'0000ull, 1 << 20), kAllow);  // PIE area
  EXPECT_EQ(mmap_at(0x400000, 1 << 20), kAllow);             // non-PIE area
  EXPECT_EQ(mmap_at(gate, 4096), kNotify);
  EXPECT_EQ(mmap_at(slice, 1), kNotify);            // anywhere in the slice
  EXPECT_EQ(mmap_at(slice - 4096, 8192), kNotify);  // the slice below
  EXPECT_EQ(mmap_at(0, 1ull << 33), kNotify);       // >= 4 GiB could reach it
  EXPECT_EQ(mmap_at(0x1000'0000, 1ull << 46), kNotify);
  // mremap checks the old range, the grown range and the new address.
  auto mremap = [&](uint64_t old, uint64_t oldlen, uint64_t newlen, uint64_t flags, uint64_t to) {
    return run_bpf(p.insns(), call(SYS_mremap, 0x401000, {old, oldlen, newlen, flags, to, 0}));
  };
  EXPECT_EQ(mremap(0x7f00'0000'0000ull, 4096, 8192, 1, 0), kAllow);
  EXPECT_EQ(mremap(0x7f00'0000'0000ull, 4096, 4096, 3, gate), kNotify);
  EXPECT_EQ(mremap(0x1000'0000, 4096, 1ull << 45, 1, 0), kNotify);
  // The hook's sealing call is allowed by the filter; any other protection is not.
  EXPECT_EQ(run_bpf(p.insns(), call(SYS_mprotect, 0x401000, {gate, 4096, 5})), kAllow);
  EXPECT_EQ(run_bpf(p.insns(), call(SYS_mprotect, 0x401000, {gate, 4096, 7})), kNotify);
  EXPECT_EQ(run_bpf(p.insns(), call(SYS_mprotect, 0x401000, {gate, 8192, 5})), kNotify);
  EXPECT_EQ(run_bpf(p.insns(), call(SYS_mprotect, 0x401000, {gate + 4096, 4096, 5})), kNotify);
  EXPECT_EQ(run_bpf(p.insns(), call(SYS_mprotect, 0x401000, {gate ^ (uint64_t{1} << 32), 4096, 5})),
            kNotify);
  EXPECT_EQ(run_bpf(p.insns(), call(SYS_pkey_mprotect, 0x401000, {gate, 4096, 5, 0})), kNotify);
  // The gate checks happen whether or not the call comes from the gate itself.
  EXPECT_EQ(run_bpf(p.insns(), call(SYS_mprotect, gate + 4, {gate, 4096, 7})), kNotify);
  EXPECT_EQ(run_bpf(p.insns(), call(SYS_munmap, gate + 4, {gate, 4096})), kNotify);
}

TEST(BpfAssembler, LongJumpsAreRewritten) {
  BpfAssembler a;
  auto far = a.new_label();
  a.load_abs(0);
  a.jump_if(BPF_JEQ, 7, far);
  for (int i = 0; i < 300; ++i) a.ret(SECCOMP_RET_ERRNO | 1);
  a.bind(far);
  a.ret(SECCOMP_RET_ALLOW);
  std::vector<sock_filter> prog;
  std::string err;
  ASSERT_TRUE(a.finish(&prog, &err)) << err;
  EXPECT_EQ(prog.size(), 304u);  // the conditional became two instructions
  EXPECT_EQ(run_bpf(prog, call(7)), kAllow);
  EXPECT_EQ(run_bpf(prog, call(8)), SECCOMP_RET_ERRNO | 1);
}

TEST(BpfAssembler, UnboundAndBackwardLabelsAreErrors) {
  std::vector<sock_filter> prog;
  std::string err;
  {
    BpfAssembler a;
    a.jump(a.new_label());
    EXPECT_FALSE(a.finish(&prog, &err));
    EXPECT_NE(err.find("never bound"), std::string::npos);
  }
  {
    BpfAssembler a;
    auto back = a.new_label();
    a.bind(back);
    a.load_abs(0);
    a.jump_if(BPF_JEQ, 1, back);
    a.ret(0);
    EXPECT_FALSE(a.finish(&prog, &err));
    EXPECT_NE(err.find("backward"), std::string::npos);
  }
}

TEST(BpfProgramBuild, RejectsAGateOutsideItsRange) {
  BpfProgram p;
  std::string err;
  EXPECT_FALSE(BpfProgram::build(0x7f00'0000'0000ull, &p, &err));
  EXPECT_FALSE(BpfProgram::build(0x2000'0000'0010ull, &p, &err));  // not page-aligned
  EXPECT_TRUE(BpfProgram::build(gate::choose_address(), &p, &err)) << err;
  EXPECT_LT(p.insns().size(), 1000u);  // small enough to stay cheap
}

TEST(BpfProgramBuild, AbiOnlyFilterKillsForeignAbisAndAllowsTheRest) {
  BpfProgram p;
  std::string err;
  ASSERT_TRUE(BpfProgram::build_abi_only(&p, &err)) << err;
  EXPECT_EQ(run_bpf(p.insns(), call(SYS_openat)), kAllow);
  EXPECT_EQ(run_bpf(p.insns(), call(SYS_execve)), kAllow);
  EXPECT_EQ(run_bpf(p.insns(), call(SYS_getpid | arch::kX32SyscallBit)), kKill);
  seccomp_data d = call(SYS_getpid);
  d.arch = AUDIT_ARCH_I386;
  EXPECT_EQ(run_bpf(p.insns(), d), kKill);
}

}  // namespace
}  // namespace agentsh::tracer
