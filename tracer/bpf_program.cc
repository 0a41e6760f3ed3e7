#include "tracer/bpf_program.h"

#include <linux/seccomp.h>
#include <sys/mman.h>

#include <cstddef>
#include <vector>

#include "tracer/arch_x86_64.h"
#include "tracer/bpf_assembler.h"
#include "tracer/gate.h"
#include "tracer/syscall_table.h"

namespace agentsh::tracer {

namespace {

constexpr uint32_t kOffNr = offsetof(seccomp_data, nr);
constexpr uint32_t kOffArch = offsetof(seccomp_data, arch);
constexpr uint32_t kOffIpLo = offsetof(seccomp_data, instruction_pointer);
constexpr uint32_t kOffIpHi = kOffIpLo + 4;
constexpr uint32_t arg_lo(int i) {
  return offsetof(seccomp_data, args) + 8 * i;
}
constexpr uint32_t arg_hi(int i) {
  return arg_lo(i) + 4;
}

struct Gen {
  BpfAssembler a;
  BpfAssembler::Label notify = a.new_label();
  BpfAssembler::Label allow = a.new_label();
  BpfAssembler::Label kill = a.new_label();
  uint64_t gate = 0;

  // Binary search over `rows` (sorted by nr) with A = nr; jumps to leaf[i] on a match,
  // to `miss` otherwise.
  void tree(const std::vector<const SyscallInfo*>& rows, size_t lo, size_t hi,
            const std::vector<BpfAssembler::Label>& leaf, BpfAssembler::Label miss) {
    if (hi - lo <= 3) {
      for (size_t i = lo; i < hi; ++i)
        a.jump_if(BPF_JEQ, static_cast<uint32_t>(rows[i]->nr), leaf[i]);
      a.jump(miss);
      return;
    }
    size_t mid = lo + (hi - lo) / 2;
    auto right = a.new_label();
    a.jump_if(BPF_JGE, static_cast<uint32_t>(rows[mid]->nr), right);
    tree(rows, lo, mid, leaf, miss);
    a.bind(right);
    tree(rows, mid, hi, leaf, miss);
  }

  // The route condition of one row; falls through to ALLOW when it does not hold.
  void route(const SyscallInfo& s) {
    switch (s.route) {
      case Route::kAlways:
        a.ret(SECCOMP_RET_USER_NOTIF);
        return;
      case Route::kArgNonZero:
        a.load_abs(arg_lo(s.route_arg));
        a.jump_unless(BPF_JEQ, 0, notify);
        a.load_abs(arg_hi(s.route_arg));
        a.jump_unless(BPF_JEQ, 0, notify);
        a.ret(SECCOMP_RET_ALLOW);
        return;
      case Route::kArgMaskAny:
        a.load_abs(arg_lo(s.route_arg));
        a.jump_if(BPF_JSET, s.route_mask, notify);
        a.ret(SECCOMP_RET_ALLOW);
        return;
      case Route::kArgIn:
        a.load_abs(arg_lo(s.route_arg));
        for (int i = 0; i < s.route_in_count; ++i) a.jump_if(BPF_JEQ, s.route_in[i], notify);
        a.ret(SECCOMP_RET_ALLOW);
        return;
      case Route::kGateRange: {
        // (addr, len) cannot touch the gate's 4 GiB slice G when addr lies above it, or
        // when addr lies at least two slices below and len < 4 GiB. Anything else goes
        // to the supervisor for the exact check (rare: nothing else lives near G).
        const uint32_t g_hi = static_cast<uint32_t>(gate >> 32);
        if (s.gate_seal_fast) {
          // mprotect(gate, 4096, PROT_READ|PROT_EXEC) exactly: allowed here.
          auto not_seal = a.new_label();
          a.load_abs(arg_lo(0));
          a.jump_unless(BPF_JEQ, static_cast<uint32_t>(gate), not_seal);
          a.load_abs(arg_hi(0));
          a.jump_unless(BPF_JEQ, g_hi, not_seal);
          a.load_abs(arg_lo(1));
          a.jump_unless(BPF_JEQ, static_cast<uint32_t>(arch::kPageSize), not_seal);
          a.load_abs(arg_hi(1));
          a.jump_unless(BPF_JEQ, 0, not_seal);
          a.load_abs(arg_lo(2));
          a.jump_unless(BPF_JEQ, PROT_READ | PROT_EXEC, not_seal);
          a.ret(SECCOMP_RET_ALLOW);
          a.bind(not_seal);
        }
        for (const auto& r : s.ranges) {
          if (r[0] == kNoArg) break;
          auto next = a.new_label();
          a.load_abs(arg_hi(r[0]));
          a.jump_if(BPF_JGT, g_hi, next);
          a.jump_if(BPF_JGE, g_hi - 1, notify);
          a.load_abs(arg_hi(r[1]));
          a.jump_unless(BPF_JEQ, 0, notify);
          a.bind(next);
        }
        a.ret(SECCOMP_RET_ALLOW);
        return;
      }
    }
  }
};

}  // namespace

bool BpfProgram::build(uint64_t gate_addr, BpfProgram* out, std::string* error) {
  if (gate_addr != 0 && !gate::valid_address(gate_addr)) {
    *error = "seccomp filter: gate address is not a page-aligned address in the gate range";
    return false;
  }
  Gen g;
  g.gate = gate_addr;
  BpfAssembler& a = g.a;

  // 1. Foreign ABIs.
  a.load_abs(kOffArch);
  a.jump_unless(BPF_JEQ, arch::kAuditArch, g.kill);
  a.load_abs(kOffNr);
  a.jump_if(BPF_JSET, arch::kX32SyscallBit, g.kill);

  // 2. exec always reaches the supervisor.
  std::vector<const SyscallInfo*> rows;
  for (const auto& s : syscall_table::all()) {
    if (s.handler == Handler::kExec) {
      a.jump_if(BPF_JEQ, static_cast<uint32_t>(s.nr), g.notify);
      continue;
    }
    if (s.route == Route::kGateRange && gate_addr == 0) continue;  // no gate, no guard
    rows.push_back(&s);
  }

  auto dispatch = a.new_label();
  // 3. The gate: calls the hook has decided.
  if (gate_addr != 0) {
    a.load_abs(kOffIpHi);
    a.jump_unless(BPF_JEQ, static_cast<uint32_t>(gate_addr >> 32), dispatch);
    a.load_abs(kOffIpLo);
    a.and_k(~static_cast<uint32_t>(arch::kPageSize - 1));
    a.jump_unless(BPF_JEQ, static_cast<uint32_t>(gate_addr), dispatch);
    a.load_abs(kOffNr);
    std::vector<const SyscallInfo*> gated;
    for (const auto* s : rows)
      if (s->gate_ok) gated.push_back(s);
    std::vector<BpfAssembler::Label> to_allow(gated.size(), g.allow);
    g.tree(gated, 0, gated.size(), to_allow, dispatch);
  }

  // 4. The table.
  a.bind(dispatch);
  a.load_abs(kOffNr);
  std::vector<BpfAssembler::Label> leaf;
  for (size_t i = 0; i < rows.size(); ++i) leaf.push_back(a.new_label());
  g.tree(rows, 0, rows.size(), leaf, g.allow);
  for (size_t i = 0; i < rows.size(); ++i) {
    a.bind(leaf[i]);
    g.route(*rows[i]);
  }

  // 5. Shared exits.
  a.bind(g.allow);
  a.ret(SECCOMP_RET_ALLOW);
  a.bind(g.notify);
  a.ret(SECCOMP_RET_USER_NOTIF);
  a.bind(g.kill);
  a.ret(SECCOMP_RET_KILL_PROCESS);

  BpfProgram p;
  if (!a.finish(&p.insns_, error)) return false;
  *out = std::move(p);
  return true;
}

bool BpfProgram::build_abi_only(BpfProgram* out, std::string* error) {
  BpfAssembler a;
  auto kill = a.new_label();
  a.load_abs(kOffArch);
  a.jump_unless(BPF_JEQ, arch::kAuditArch, kill);
  a.load_abs(kOffNr);
  a.jump_if(BPF_JSET, arch::kX32SyscallBit, kill);
  a.ret(SECCOMP_RET_ALLOW);
  a.bind(kill);
  a.ret(SECCOMP_RET_KILL_PROCESS);
  BpfProgram p;
  if (!a.finish(&p.insns_, error)) return false;
  *out = std::move(p);
  return true;
}

}  // namespace agentsh::tracer
