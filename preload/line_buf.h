// LineBuf: a fixed-capacity text buffer on the stack for the hook's messages (stderr
// lines, audit payloads). Appends truncate silently; never allocates.
//
// House rules: no exceptions, no malloc, no locks, no stdio, errno untouched;
// async-signal-safe and usable between vfork() and exec.
#pragma once

#include <cstddef>
#include <cstring>

namespace agentsh::hook {

class LineBuf {
 public:
  static constexpr size_t kCap = 1024;

  LineBuf() noexcept { buf_[0] = '\0'; }

  LineBuf& add(const char* s) noexcept { return add(s, s != nullptr ? strlen(s) : 0); }
  LineBuf& add(const char* s, size_t n) noexcept {
    if (n > kCap - 1 - len_) n = kCap - 1 - len_;
    if (n > 0) memcpy(buf_ + len_, s, n);
    len_ += n;
    buf_[len_] = '\0';
    return *this;
  }
  LineBuf& add_char(char c) noexcept { return add(&c, 1); }
  LineBuf& add_int(long v) noexcept {
    char tmp[24];
    size_t i = sizeof tmp;
    unsigned long u = v < 0 ? 0ul - static_cast<unsigned long>(v) : static_cast<unsigned long>(v);
    do {
      tmp[--i] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0);
    if (v < 0) tmp[--i] = '-';
    return add(tmp + i, sizeof tmp - i);
  }
  const char* data() const noexcept { return buf_; }
  size_t size() const noexcept { return len_; }

 private:
  char buf_[kCap];  // only [0, len_] is ever initialised
  size_t len_ = 0;
};

}  // namespace agentsh::hook
