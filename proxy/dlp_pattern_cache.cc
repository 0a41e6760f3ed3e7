#include "proxy/dlp_pattern_cache.h"

#include <fcntl.h>
#include <mbedtls/sha256.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "common/fs_util.h"
#include "common/scoped_fd.h"

namespace agentsh::dlp_pattern_cache {

namespace {

constexpr off_t kMaxBytes = 64 << 20;
constexpr char kMagic[8] = {'A', 'G', 'S', 'H', 'D', 'L', 'P', 'C'};
constexpr uint32_t kFormat = 2;
constexpr size_t kKeyLen = 32;

// What precedes the serialized database. Written and read on the same machine (the key
// covers the platform), so host byte order is fine.
struct FileHeader {
  char magic[8];
  uint32_t format;
  uint32_t reserved;
  char key[kKeyLen];  // hex, as key_for() returns it
  uint64_t payload_len;
  uint64_t payload_hash;
};
static_assert(sizeof(FileHeader) == 64);

bool trusted(const struct stat& st) {
  return st.st_uid == geteuid() && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

struct FreeBytes {
  void operator()(char* p) const noexcept { free(p); }
};

// 64-bit hash of the payload, 8 bytes a step (a corrupted or torn file, not an attacker:
// see the header comment). Fast enough to check ~100 KiB in a few microseconds.
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

std::string path_for(const std::string& dir, const std::string& key) {
  return dir + "/dlp-" + key + ".hsdb";
}

std::string key_for(const std::vector<const char*>& exprs, const std::vector<unsigned>& flags,
                    const std::vector<unsigned>& ids) {
  std::string material = hs_version();
  material.push_back('\0');
  hs_platform_info_t plat{};
  if (hs_populate_platform(&plat) == HS_SUCCESS) {
    material += std::to_string(plat.tune) + ":" + std::to_string(plat.cpu_features);
  }
  material.push_back('\0');
  for (size_t i = 0; i < exprs.size(); ++i) {
    material += exprs[i];
    material.push_back('\0');
    material += std::to_string(i < flags.size() ? flags[i] : 0);
    material.push_back('\0');
    material += std::to_string(i < ids.size() ? ids[i] : 0);
    material.push_back('\0');
  }
  unsigned char digest[32];
  mbedtls_sha256_ret(reinterpret_cast<const unsigned char*>(material.data()), material.size(),
                     digest, 0);
  static const char kHex[] = "0123456789abcdef";
  std::string key;
  for (int i = 0; i < 16; ++i) {
    key.push_back(kHex[digest[i] >> 4]);
    key.push_back(kHex[digest[i] & 15]);
  }
  return key;
}

dlp_handles::HsDatabase load(const std::string& dir, const std::string& key) {
  struct stat dst;
  if (dir.empty() || key.size() != kKeyLen || stat(dir.c_str(), &dst) != 0 ||
      !S_ISDIR(dst.st_mode) || !trusted(dst))
    return nullptr;
  ScopedFd fd(open(path_for(dir, key).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return nullptr;
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || !trusted(st) ||
      st.st_size <= off_t(sizeof(FileHeader)) || st.st_size > kMaxBytes)
    return nullptr;
  std::string bytes(size_t(st.st_size), '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return nullptr;
    got += size_t(n);
  }
  FileHeader h;
  memcpy(&h, bytes.data(), sizeof h);
  const char* payload = bytes.data() + sizeof h;
  const size_t payload_len = bytes.size() - sizeof h;
  if (memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.format != kFormat ||
      memcmp(h.key, key.data(), kKeyLen) != 0 || h.payload_len != payload_len ||
      h.payload_hash != payload_hash(payload, payload_len))
    return nullptr;
  hs_database_t* db = nullptr;
  // Hyperscan checks the version and platform recorded in the bytes.
  if (hs_deserialize_database(payload, payload_len, &db) != HS_SUCCESS) return nullptr;
  return dlp_handles::HsDatabase(db);
}

bool store(const std::string& dir, const std::string& key, const hs_database_t* db) {
  if (dir.empty() || db == nullptr || key.size() != kKeyLen) return false;
  mkdir(dir.c_str(), 0700);  // may exist already
  struct stat dst;
  if (stat(dir.c_str(), &dst) != 0 || !S_ISDIR(dst.st_mode) || !trusted(dst)) return false;
  char* raw = nullptr;
  size_t len = 0;
  if (hs_serialize_database(db, &raw, &len) != HS_SUCCESS) return false;
  std::unique_ptr<char, FreeBytes> bytes(raw);
  FileHeader h{};
  memcpy(h.magic, kMagic, sizeof kMagic);
  h.format = kFormat;
  memcpy(h.key, key.data(), kKeyLen);
  h.payload_len = len;
  h.payload_hash = payload_hash(bytes.get(), len);
  std::string data(reinterpret_cast<const char*>(&h), sizeof h);
  data.append(bytes.get(), len);
  return fs_util::write_file_atomic(path_for(dir, key), data, 0600);
}

}  // namespace agentsh::dlp_pattern_cache
