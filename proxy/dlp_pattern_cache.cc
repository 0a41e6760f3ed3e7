#include "proxy/dlp_pattern_cache.h"

#include <cstdlib>
#include <memory>

#include "common/cache_file.h"

namespace agentsh::dlp_pattern_cache {

namespace {

constexpr cache_file::Kind kKind = {{'A', 'G', 'S', 'H', 'D', 'L', 'P', 'C'}, 2, 64u << 20};

struct FreeBytes {
  void operator()(char* p) const noexcept { free(p); }
};

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
  return cache_file::key_of(material);
}

dlp_handles::HsDatabase load(const std::string& dir, const std::string& key) {
  std::string payload;
  if (!cache_file::load(kKind, dir, path_for(dir, key), key, &payload)) return nullptr;
  hs_database_t* db = nullptr;
  // Hyperscan checks the version and platform recorded in the bytes.
  if (hs_deserialize_database(payload.data(), payload.size(), &db) != HS_SUCCESS) return nullptr;
  return dlp_handles::HsDatabase(db);
}

bool store(const std::string& dir, const std::string& key, const hs_database_t* db) {
  if (db == nullptr) return false;
  char* raw = nullptr;
  size_t len = 0;
  if (hs_serialize_database(db, &raw, &len) != HS_SUCCESS) return false;
  std::unique_ptr<char, FreeBytes> bytes(raw);
  return cache_file::store(kKind, dir, path_for(dir, key), key, std::string_view(raw, len));
}

}  // namespace agentsh::dlp_pattern_cache
