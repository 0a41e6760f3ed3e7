#include "tracer/image_header_cache.h"

namespace agentsh::tracer {

ImageHeaderCache::Key ImageHeaderCache::key_of(const struct stat& st) {
  return Key{static_cast<uint64_t>(st.st_dev),
             static_cast<uint64_t>(st.st_ino),
             static_cast<uint64_t>(st.st_size),
             st.st_mtim.tv_sec,
             st.st_mtim.tv_nsec,
             st.st_ctim.tv_sec,
             st.st_ctim.tv_nsec};
}

size_t ImageHeaderCache::KeyHash::operator()(const Key& k) const {
  uint64_t h = k.ino * 0x9e3779b97f4a7c15ull;
  h ^= k.dev + 0x632be59bd9b4e019ull + (h << 6) + (h >> 2);
  h ^= static_cast<uint64_t>(k.ctime_ns) + (h << 6) + (h >> 2);
  h ^= static_cast<uint64_t>(k.mtime_ns) + k.size + (h << 6) + (h >> 2);
  return static_cast<size_t>(h);
}

bool ImageHeaderCache::find(const struct stat& st, Header* out) const {
  std::lock_guard lk(mu_);
  auto it = map_.find(key_of(st));
  if (it == map_.end()) return false;
  *out = it->second;
  return true;
}

void ImageHeaderCache::put(const struct stat& st, const Header& h) {
  std::lock_guard lk(mu_);
  if (map_.size() >= kMaxEntries) map_.clear();
  map_.insert_or_assign(key_of(st), h);
}

}  // namespace agentsh::tracer
