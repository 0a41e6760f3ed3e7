// A tiny classic-BPF assembler with symbolic labels, for the seccomp prefilter.
//
// Classic BPF conditional jumps reach at most 255 instructions ahead; the assembler lays
// the program out, and every conditional whose target is farther away is rewritten as
// "conditional skip + unconditional ja" (32-bit offset), repeating until the layout is
// stable. Only forward jumps exist in classic BPF; binding a label that an earlier
// instruction already passed is a bug the assembler reports.
//
// Not thread-safe (a builder); the produced program is a plain vector.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

namespace agentsh::tracer {

class BpfAssembler {
 public:
  using Label = int;

  Label new_label();
  // The next emitted instruction is the target of `label`.
  void bind(Label label);

  void load_abs(uint32_t offset);  // A = 32-bit word at `offset` of seccomp_data
  void and_k(uint32_t k);          // A &= k
  // Conditional jumps on A against k (op: BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET).
  void jump_if(uint16_t op, uint32_t k, Label target);      // true: target; else next
  void jump_unless(uint16_t op, uint32_t k, Label target);  // false: target; else next
  void jump(Label target);
  void ret(uint32_t k);

  // Resolves labels. Returns false and explains in `error` on an unbound or backward
  // label, or a program longer than BPF_MAXINSNS.
  bool finish(std::vector<sock_filter>* out, std::string* error) const;

  size_t size() const { return insns_.size(); }

 private:
  struct Insn {
    sock_filter f{};
    Label target = -1;    // for jumps: the label
    bool on_true = true;  // conditional: jump to target when the condition holds
    bool conditional = false;
    bool always = false;  // BPF_JA
  };
  std::vector<Insn> insns_;
  std::vector<int> label_pos_;  // instruction index, -1 = unbound
};

}  // namespace agentsh::tracer
