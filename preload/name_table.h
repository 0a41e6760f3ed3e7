// NameTable: what name resolution answered in this process (getaddrinfo,
// gethostbyname*), so that connect() to an IP can be decided by the domain the program
// asked for. Fixed size (kSlots entries, round-robin replacement), no allocation.
//
// Concurrency: each slot is a seqlock. Writers claim a slot by moving its sequence from
// even to odd with a CAS (a writer that loses simply does not record); readers copy and
// re-check the sequence, and skip a slot that changed under them. Nobody ever waits, so
// fork() cannot leave anything held (a slot caught mid-write stays odd in the child and
// is skipped until rewritten).
//
// House rules: no exceptions, no malloc, no locks, no stdio, errno untouched.
#pragma once

#include <cstddef>
#include <cstdint>

#include "policy/cidr.h"

namespace agentsh::hook {

class NameTable {
 public:
  static constexpr size_t kSlots = 256;
  static constexpr size_t kNameMax = 256;  // a DNS name is at most 253 characters

  static NameTable& get() noexcept { return instance_; }

  // Records name -> ip (name lower-cased; longer names are not recorded).
  void record(const char* name, const cidr::IpAddr& ip) noexcept;
  // Copies the most recently recorded name for `ip` into out (NUL-terminated).
  // Returns its length, 0 when unknown.
  size_t lookup(const cidr::IpAddr& ip, char* out, size_t cap) const noexcept;

 private:
  struct Slot {
    uint32_t seq;  // odd while being written
    uint32_t name_len;
    uint64_t stamp;  // recording order, to prefer the newest answer
    uint8_t ip[16];
    char name[kNameMax];
  };
  static NameTable instance_;

  Slot slots_[kSlots] = {};
  uint64_t next_ = 0;
};

}  // namespace agentsh::hook
