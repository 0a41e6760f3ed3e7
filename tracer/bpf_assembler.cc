#include "tracer/bpf_assembler.h"

namespace agentsh::tracer {

BpfAssembler::Label BpfAssembler::new_label() {
  label_pos_.push_back(-1);
  return static_cast<Label>(label_pos_.size() - 1);
}

void BpfAssembler::bind(Label label) {
  label_pos_.at(label) = static_cast<int>(insns_.size());
}

void BpfAssembler::load_abs(uint32_t offset) {
  Insn i;
  i.f = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset);
  insns_.push_back(i);
}

void BpfAssembler::and_k(uint32_t k) {
  Insn i;
  i.f = BPF_STMT(BPF_ALU | BPF_AND | BPF_K, k);
  insns_.push_back(i);
}

void BpfAssembler::jump_if(uint16_t op, uint32_t k, Label target) {
  Insn i;
  i.f = BPF_JUMP(BPF_JMP | op | BPF_K, k, 0, 0);
  i.target = target;
  i.conditional = true;
  i.on_true = true;
  insns_.push_back(i);
}

void BpfAssembler::jump_unless(uint16_t op, uint32_t k, Label target) {
  jump_if(op, k, target);
  insns_.back().on_true = false;
}

void BpfAssembler::jump(Label target) {
  Insn i;
  i.f = BPF_STMT(BPF_JMP | BPF_JA, 0);
  i.target = target;
  i.always = true;
  insns_.push_back(i);
}

void BpfAssembler::ret(uint32_t k) {
  Insn i;
  i.f = BPF_STMT(BPF_RET | BPF_K, k);
  insns_.push_back(i);
}

bool BpfAssembler::finish(std::vector<sock_filter>* out, std::string* error) const {
  const size_t n = insns_.size();
  for (size_t l = 0; l < label_pos_.size(); ++l) {
    if (label_pos_[l] < 0) {
      *error = "bpf: label " + std::to_string(l) + " never bound";
      return false;
    }
  }
  // Layout: pos[i] is where logical instruction i lands; a "long" conditional takes two
  // slots (the condition skipping over a ja, and the ja).
  std::vector<bool> long_form(n, false);
  std::vector<size_t> pos(n + 1);
  for (bool changed = true; changed;) {
    changed = false;
    size_t p = 0;
    for (size_t i = 0; i < n; ++i) {
      pos[i] = p;
      p += long_form[i] ? 2 : 1;
    }
    pos[n] = p;
    for (size_t i = 0; i < n; ++i) {
      const Insn& in = insns_[i];
      if (!in.conditional || long_form[i]) continue;
      size_t tgt = pos[label_pos_[in.target]];
      if (tgt <= pos[i]) {
        *error = "bpf: backward jump at instruction " + std::to_string(i);
        return false;
      }
      if (tgt - pos[i] - 1 > 255) {
        long_form[i] = true;
        changed = true;
      }
    }
  }
  if (pos[n] > BPF_MAXINSNS) {
    *error = "bpf: program too long (" + std::to_string(pos[n]) + " instructions)";
    return false;
  }
  out->clear();
  out->reserve(pos[n]);
  for (size_t i = 0; i < n; ++i) {
    const Insn& in = insns_[i];
    sock_filter f = in.f;
    if (in.always) {
      size_t tgt = pos[label_pos_[in.target]];
      if (tgt <= pos[i]) {
        *error = "bpf: backward ja at instruction " + std::to_string(i);
        return false;
      }
      f.k = static_cast<uint32_t>(tgt - pos[i] - 1);
      out->push_back(f);
    } else if (in.conditional && !long_form[i]) {
      auto off = static_cast<uint8_t>(pos[label_pos_[in.target]] - pos[i] - 1);
      f.jt = in.on_true ? off : 0;
      f.jf = in.on_true ? 0 : off;
      out->push_back(f);
    } else if (in.conditional) {
      // Condition true (on_true) => fall into the ja; false => skip it. Inverted for
      // jump_unless.
      f.jt = in.on_true ? 0 : 1;
      f.jf = in.on_true ? 1 : 0;
      out->push_back(f);
      size_t ja_pos = pos[i] + 1;
      size_t tgt = pos[label_pos_[in.target]];
      out->push_back(BPF_STMT(BPF_JMP | BPF_JA, static_cast<uint32_t>(tgt - ja_pos - 1)));
    } else {
      out->push_back(f);
    }
  }
  return true;
}

}  // namespace agentsh::tracer
