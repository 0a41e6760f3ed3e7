#include "common/cache_file.h"

#include <fcntl.h>
#include <mbedtls/sha256.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/fs_util.h"
#include "common/scoped_fd.h"

namespace agentsh::cache_file {

namespace {

constexpr size_t kKeyLen = 32;

// Written and read on the same machine (keys cover the platform where it matters), so
// host byte order is fine.
struct FileHeader {
  char magic[8];
  uint32_t format;
  uint32_t reserved;
  char key[kKeyLen];  // hex, as key_of() returns it
  uint64_t payload_len;
  uint64_t payload_hash;
};
static_assert(sizeof(FileHeader) == 64);

bool trusted(const struct stat& st) {
  return st.st_uid == geteuid() && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

bool trusted_dir(const std::string& dir) {
  struct stat st;
  return !dir.empty() && stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && trusted(st);
}

// 64-bit hash of the payload, 8 bytes a step (a corrupted or torn file, not an attacker:
// see the header comment). Checks ~100 KiB in a few microseconds.
uint64_t payload_hash(const char* p, size_t n) {
  constexpr uint64_t kMul = 0x9e3779b97f4a7c15ull;
  uint64_t h = 0x243f6a8885a308d3ull ^ (n * kMul);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  memcpy(&tail, p + i, n - i);
  h = (h ^ tail ^ (uint64_t(n - i) << 56)) * kMul;
  h ^= h >> 32;
  return h;
}

}  // namespace

std::string key_of(std::string_view material) {
  unsigned char digest[32];
  mbedtls_sha256_ret(reinterpret_cast<const unsigned char*>(material.data()), material.size(),
                     digest, 0);
  static const char kHex[] = "0123456789abcdef";
  std::string key;
  for (size_t i = 0; i < kKeyLen / 2; ++i) {
    key.push_back(kHex[digest[i] >> 4]);
    key.push_back(kHex[digest[i] & 15]);
  }
  return key;
}

bool load(const Kind& kind, const std::string& dir, const std::string& path, const std::string& key,
          std::string* payload) {
  if (key.size() != kKeyLen || !trusted_dir(dir)) return false;
  ScopedFd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return false;
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || !trusted(st) ||
      st.st_size <= off_t(sizeof(FileHeader)) || uint64_t(st.st_size) > kind.max_bytes)
    return false;
  std::string bytes(size_t(st.st_size), '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += size_t(n);
  }
  FileHeader h;
  memcpy(&h, bytes.data(), sizeof h);
  const char* body = bytes.data() + sizeof h;
  const size_t body_len = bytes.size() - sizeof h;
  if (memcmp(h.magic, kind.magic, sizeof h.magic) != 0 || h.format != kind.format ||
      memcmp(h.key, key.data(), kKeyLen) != 0 || h.payload_len != body_len ||
      h.payload_hash != payload_hash(body, body_len))
    return false;
  payload->assign(body, body_len);
  return true;
}

bool store(const Kind& kind, const std::string& dir, const std::string& path,
           const std::string& key, std::string_view payload) {
  if (key.size() != kKeyLen || dir.empty()) return false;
  mkdir(dir.c_str(), 0700);  // may exist already
  if (!trusted_dir(dir)) return false;
  FileHeader h{};
  memcpy(h.magic, kind.magic, sizeof h.magic);
  h.format = kind.format;
  memcpy(h.key, key.data(), kKeyLen);
  h.payload_len = payload.size();
  h.payload_hash = payload_hash(payload.data(), payload.size());
  std::string data(reinterpret_cast<const char*>(&h), sizeof h);
  data.append(payload.data(), payload.size());
  return fs_util::write_file_atomic(path, data, 0600);
}

}  // namespace agentsh::cache_file
