// ByteQueue: a FIFO of bytes with cheap consumption from the front (an offset, compacted
// lazily), used for the proxy's per-connection buffers. Not thread-safe. Capacity limits
// are the caller's business (the connection checks size() before reading more).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace agentsh::proxy {

class ByteQueue {
 public:
  std::string_view view() const { return std::string_view(data_).substr(off_); }
  size_t size() const { return data_.size() - off_; }
  bool empty() const { return size() == 0; }
  void append(std::string_view s) {
    compact_if_worthwhile(s.size());
    data_.append(s);
  }
  void consume(size_t n) {
    off_ += n;
    if (off_ >= data_.size()) clear();
  }
  void clear() {
    data_.clear();
    off_ = 0;
  }
  // Gives the memory back (a connection that goes idle should not keep 64 KiB).
  void release() {
    std::string().swap(data_);
    off_ = 0;
  }

 private:
  void compact_if_worthwhile(size_t incoming) {
    if (off_ > 0 && (off_ >= data_.size() / 2 || data_.size() + incoming > data_.capacity())) {
      data_.erase(0, off_);
      off_ = 0;
    }
  }
  std::string data_;
  size_t off_ = 0;
};

}  // namespace agentsh::proxy
