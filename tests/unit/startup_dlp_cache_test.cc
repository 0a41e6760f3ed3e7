// The DLP pattern cache as `agentsh exec` uses it (proxy/dlp_pattern_cache.h): a file is
// used only when its header, key, length and payload hash all check out; anything else
// is ignored and the database rebuilt (and the cache rewritten), and the scanner built
// from a cache file finds exactly what a freshly compiled one finds.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "agentsh/deferred_dlp.h"
#include "proxy/dlp_options.h"
#include "proxy/dlp_pattern_cache.h"
#include "proxy/dlp_scanner.h"

namespace agentsh::proxy {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& p, const std::string& data) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
}

class StartupDlpCache : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/agentsh-startup-dlp-" + std::to_string(getpid());
    fs::remove_all(dir_);
    opts_.cache_dir = dir_;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string only_file() {
    std::string f;
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir_)) {
      f = e.path();
      ++n;
    }
    EXPECT_EQ(n, 1);
    return f;
  }
  std::unique_ptr<DlpScanner> build() {
    std::string err;
    auto s = DlpScanner::create(opts_, &err);
    EXPECT_NE(s, nullptr) << err;
    return s;
  }
  static constexpr const char* kText =
      "key AKIAIOSFODNN7EXAMPLE mail bob@example.org card 4111 1111 1111 1111 ssn 078-05-1120";
  std::string dir_;
  DlpOptions opts_;
};

TEST_F(StartupDlpCache, CachedScannerFindsWhatACompiledOneFinds) {
  std::string err;
  DlpOptions nocache;
  auto fresh = DlpScanner::create(nocache, &err);
  ASSERT_NE(fresh, nullptr) << err;
  auto first = build();  // compiles and writes the cache
  std::string file = only_file();
  struct stat st;
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  auto second = build();  // loads it
  EXPECT_EQ(second->redact(kText).text, fresh->redact(kText).text);
  EXPECT_EQ(first->redact(kText).text, fresh->redact(kText).text);
  EXPECT_NE(fresh->redact(kText).text, kText);
}

TEST_F(StartupDlpCache, FlippedPayloadByteIsRejectedAndTheCacheRewritten) {
  build();
  std::string file = only_file();
  std::string good = slurp(file);
  ASSERT_GT(good.size(), 1000u);
  std::string key = fs::path(file).stem().string().substr(4);  // dlp-<key>.hsdb
  ASSERT_NE(dlp_pattern_cache::load(dir_, key), nullptr);
  std::string bad = good;
  bad[bad.size() / 2] ^= 0x40;  // deep inside Hyperscan's bytes: only the hash notices
  spit(file, bad);
  EXPECT_EQ(dlp_pattern_cache::load(dir_, key), nullptr);
  // The scanner still works, and rebuilding restored a valid file.
  auto s = build();
  EXPECT_EQ(s->redact("AKIAIOSFODNN7EXAMPLE").text, "[REDACTED:AWS_KEY]");
  EXPECT_EQ(slurp(file), good);
  EXPECT_NE(dlp_pattern_cache::load(dir_, key), nullptr);
}

TEST_F(StartupDlpCache, TruncatedExtendedOrRenamedFilesAreRejected) {
  build();
  std::string file = only_file();
  std::string good = slurp(file);
  std::string key = fs::path(file).stem().string().substr(4);
  spit(file, good.substr(0, good.size() - 1));
  EXPECT_EQ(dlp_pattern_cache::load(dir_, key), nullptr);
  spit(file, good + "x");
  EXPECT_EQ(dlp_pattern_cache::load(dir_, key), nullptr);
  spit(file, good.substr(0, 40));  // shorter than the header
  EXPECT_EQ(dlp_pattern_cache::load(dir_, key), nullptr);
  // A valid file stored under another key (another pattern set) is not this one.
  std::string other(key);
  other[0] = other[0] == 'a' ? 'b' : 'a';
  spit(dlp_pattern_cache::path_for(dir_, other), good);
  chmod(dlp_pattern_cache::path_for(dir_, other).c_str(), 0600);
  EXPECT_EQ(dlp_pattern_cache::load(dir_, other), nullptr);
  spit(file, good);
  chmod(file.c_str(), 0600);
  EXPECT_NE(dlp_pattern_cache::load(dir_, key), nullptr);
}

TEST_F(StartupDlpCache, DeferredBuildGivesTheSameScanner) {
  DeferredDlp d;
  EXPECT_FALSE(d.started());
  EXPECT_EQ(d.get(), nullptr);
  d.start(opts_);
  EXPECT_TRUE(d.started());
  const DlpScanner* s = d.get();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->redact("AKIAIOSFODNN7EXAMPLE").text, "[REDACTED:AWS_KEY]");
  EXPECT_EQ(d.shared().get(), s);

  // A broken custom pattern: nullptr, as a synchronous build would give.
  DlpOptions broken = opts_;
  broken.custom.push_back(DlpPattern{"bad", "", "a("});
  DeferredDlp b;
  b.start(broken);
  EXPECT_EQ(b.get(), nullptr);
}

}  // namespace
}  // namespace agentsh::proxy
