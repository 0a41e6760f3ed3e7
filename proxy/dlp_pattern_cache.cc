#include "proxy/dlp_pattern_cache.h"

#include <fcntl.h>
#include <mbedtls/sha256.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "common/scoped_fd.h"

namespace agentsh::dlp_pattern_cache {

namespace {

constexpr off_t kMaxBytes = 64 << 20;

bool trusted(const struct stat& st) {
  return st.st_uid == geteuid() && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

std::string path_for(const std::string& dir, const std::string& key) {
  return dir + "/dlp-" + key + ".hsdb";
}

struct FreeBytes {
  void operator()(char* p) const noexcept { free(p); }
};

}  // namespace

std::string key_for(const std::vector<const char*>& exprs, const std::vector<unsigned>& flags,
                    const std::vector<unsigned>& ids) {
  std::string material = hs_version();
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
  if (dir.empty() || stat(dir.c_str(), &dst) != 0 || !S_ISDIR(dst.st_mode) || !trusted(dst))
    return nullptr;
  ScopedFd fd(open(path_for(dir, key).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return nullptr;
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || !trusted(st) || st.st_size <= 0 ||
      st.st_size > kMaxBytes)
    return nullptr;
  std::string bytes(size_t(st.st_size), '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n <= 0) return nullptr;
    got += size_t(n);
  }
  hs_database_t* db = nullptr;
  // Hyperscan checks the version and platform recorded in the bytes.
  if (hs_deserialize_database(bytes.data(), bytes.size(), &db) != HS_SUCCESS) return nullptr;
  return dlp_handles::HsDatabase(db);
}

bool store(const std::string& dir, const std::string& key, const hs_database_t* db) {
  if (dir.empty() || db == nullptr) return false;
  mkdir(dir.c_str(), 0700);  // may exist already
  struct stat dst;
  if (stat(dir.c_str(), &dst) != 0 || !S_ISDIR(dst.st_mode) || !trusted(dst)) return false;
  char* raw = nullptr;
  size_t len = 0;
  if (hs_serialize_database(db, &raw, &len) != HS_SUCCESS) return false;
  std::unique_ptr<char, FreeBytes> bytes(raw);
  std::string tmpl = dir + "/.dlp-XXXXXX";
  ScopedFd fd(mkostemp(tmpl.data(), O_CLOEXEC));
  if (!fd) return false;
  size_t put = 0;
  while (put < len) {
    ssize_t n = write(fd.get(), bytes.get() + put, len - put);
    if (n <= 0) {
      unlink(tmpl.c_str());
      return false;
    }
    put += size_t(n);
  }
  if (fchmod(fd.get(), 0600) != 0 || rename(tmpl.c_str(), path_for(dir, key).c_str()) != 0) {
    unlink(tmpl.c_str());
    return false;
  }
  return true;
}

}  // namespace agentsh::dlp_pattern_cache
