// CaStore (generation, permissions, reload, bundle) and TlsLeafCache (chains to the CA,
// names, LRU).
#include "proxy/ca_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "proxy/tls_leaf_cache.h"
#include "proxy/tls_x509_util.h"

namespace agentsh::proxy {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

mode_t mode_of(const fs::path& p) {
  struct stat st;
  EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

class CaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path("/tmp") / ("agentsh-ca-test-" + std::to_string(getpid()) + "-" +
                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    system_ = root_ / "system.pem";
    std::ofstream(system_) << "-----BEGIN CERTIFICATE-----\nZmFrZSBzeXN0ZW0gcm9vdA==\n"
                              "-----END CERTIFICATE-----";  // no trailing newline on purpose
  }
  void TearDown() override { fs::remove_all(root_); }
  std::unique_ptr<CaStore> open_ok() {
    std::string err;
    auto ca = CaStore::open(root_ / "ca", &err, system_);
    EXPECT_NE(ca, nullptr) << err;
    return ca;
  }
  fs::path root_, system_;
};

TEST_F(CaStoreTest, GeneratesOnceWithStrictModesThenLoads) {
  auto ca = open_ok();
  ASSERT_NE(ca, nullptr);
  EXPECT_TRUE(ca->generated());
  EXPECT_EQ(mode_of(ca->key_path()), 0600u);
  EXPECT_EQ(mode_of(ca->cert_path()), 0644u);
  EXPECT_EQ(mode_of(ca->bundle_path()), 0644u);
  struct stat st;
  ASSERT_EQ(stat(ca->key_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, geteuid());
  EXPECT_TRUE(ca->cert()->ca_istrue);
  EXPECT_EQ(ca->cert()->max_pathlen, 1);  // mbedTLS stores pathlen + 1
  EXPECT_EQ(mbedtls_pk_get_type(&ca->cert()->pk), MBEDTLS_PK_ECKEY);
  EXPECT_EQ(mbedtls_pk_get_bitlen(ca->key()), 256u);
  EXPECT_NE(ca->subject().find("agentsh CA"), std::string::npos);
  EXPECT_GT(ca->not_after(), time(nullptr) + 9 * 365 * 24 * 3600);
  EXPECT_NE(slurp(ca->key_path()).find("BEGIN EC PRIVATE KEY"), std::string::npos);

  std::string subject = ca->subject();
  std::string pem = ca->cert_pem();
  ca.reset();
  auto again = open_ok();
  ASSERT_NE(again, nullptr);
  EXPECT_FALSE(again->generated());
  EXPECT_EQ(again->subject(), subject);
  EXPECT_EQ(again->cert_pem(), pem);
}

TEST_F(CaStoreTest, BundleIsSystemStorePlusOurCaAndFollowsTheSystemStore) {
  auto ca = open_ok();
  ASSERT_NE(ca, nullptr);
  std::string bundle = slurp(ca->bundle_path());
  std::string sys = slurp(system_);
  EXPECT_EQ(bundle.substr(0, sys.size()), sys);
  EXPECT_EQ(bundle[sys.size()], '\n');  // the missing newline was added
  EXPECT_EQ(bundle.substr(bundle.size() - ca->cert_pem().size()), ca->cert_pem());
  std::ofstream(system_, std::ios::app) << "\n# an update\n";
  ca = open_ok();
  EXPECT_NE(slurp(ca->bundle_path()).find("# an update"), std::string::npos);

  auto env = ca->env_vars();
  EXPECT_EQ(env["SSL_CERT_FILE"], ca->bundle_path());
  EXPECT_EQ(env["REQUESTS_CA_BUNDLE"], ca->bundle_path());
  EXPECT_EQ(env["CURL_CA_BUNDLE"], ca->bundle_path());
  EXPECT_EQ(env["NODE_EXTRA_CA_CERTS"], ca->cert_path());
}

TEST_F(CaStoreTest, MissingSystemStoreGivesABundleOfOurCaOnly) {
  std::string err;
  auto ca = CaStore::open(root_ / "ca", &err, (root_ / "nope.pem").string());
  ASSERT_NE(ca, nullptr) << err;
  std::string bundle = slurp(ca->bundle_path());
  EXPECT_EQ(bundle.substr(bundle.find('\n') + 1), ca->cert_pem());
}

TEST_F(CaStoreTest, ReadableKeyIsRefusedWithTheFix) {
  auto ca = open_ok();
  ASSERT_NE(ca, nullptr);
  std::string key = ca->key_path();
  ca.reset();
  chmod(key.c_str(), 0644);
  std::string err;
  EXPECT_EQ(CaStore::open(root_ / "ca", &err, system_), nullptr);
  EXPECT_NE(err.find("chmod 600 " + key), std::string::npos) << err;
  EXPECT_NE(err.find("0644"), std::string::npos) << err;
}

TEST_F(CaStoreTest, KeyOfAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  auto ca = open_ok();
  ASSERT_NE(ca, nullptr);
  std::string key = ca->key_path();
  ca.reset();
  ASSERT_EQ(chown(key.c_str(), 4242, 4242), 0);
  std::string err;
  EXPECT_EQ(CaStore::open(root_ / "ca", &err, system_), nullptr);
  EXPECT_NE(err.find("uid 4242"), std::string::npos) << err;
}

TEST_F(CaStoreTest, KeyThatDoesNotMatchTheCertificateIsRefused) {
  auto a = open_ok();
  ASSERT_NE(a, nullptr);
  std::string err;
  auto b = CaStore::open(root_ / "other", &err, system_);
  ASSERT_NE(b, nullptr) << err;
  fs::copy_file(b->key_path(), a->key_path(), fs::copy_options::overwrite_existing);
  chmod(a->key_path().c_str(), 0600);
  EXPECT_EQ(CaStore::open(root_ / "ca", &err, system_), nullptr);
  EXPECT_NE(err.find("does not match"), std::string::npos) << err;
}

TEST_F(CaStoreTest, HalfWrittenStoreIsRegenerated) {
  auto ca = open_ok();
  ASSERT_NE(ca, nullptr);
  std::string old = ca->cert_pem();
  fs::remove(ca->key_path());
  ca = open_ok();
  ASSERT_NE(ca, nullptr);
  EXPECT_TRUE(ca->generated());
  EXPECT_NE(ca->cert_pem(), old);
}

TEST_F(CaStoreTest, LeafChainsToTheCaAndNamesTheHost) {
  auto ca = open_ok();
  ASSERT_NE(ca, nullptr);
  std::string err;
  auto leaves = TlsLeafCache::create(*ca, 8, &err);
  ASSERT_NE(leaves, nullptr) << err;
  auto leaf = leaves->get("API.OpenAI.com.", &err);
  ASSERT_NE(leaf, nullptr) << err;
  EXPECT_EQ(leaf->host, "api.openai.com");
  uint32_t flags = 0;
  mbedtls_x509_crt* ca_crt = const_cast<mbedtls_x509_crt*>(ca->cert());
  EXPECT_EQ(mbedtls_x509_crt_verify(leaf->chain.get(), ca_crt, nullptr, "api.openai.com", &flags,
                                    nullptr, nullptr),
            0);
  EXPECT_EQ(flags, 0u);
  EXPECT_NE(mbedtls_x509_crt_verify(leaf->chain.get(), ca_crt, nullptr, "evil.example", &flags,
                                    nullptr, nullptr),
            0);
  EXPECT_TRUE(flags & MBEDTLS_X509_BADCERT_CN_MISMATCH);
  // A different CA does not vouch for it.
  auto other = CaStore::open(root_ / "other", &err, system_);
  ASSERT_NE(other, nullptr) << err;
  EXPECT_NE(mbedtls_x509_crt_verify(leaf->chain.get(), const_cast<mbedtls_x509_crt*>(other->cert()),
                                    nullptr, "api.openai.com", &flags, nullptr, nullptr),
            0);
  EXPECT_TRUE(flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED);
  // Leaf facts: not a CA, within the CA's validity, shares the cache key.
  EXPECT_FALSE(leaf->chain->ca_istrue);
  EXPECT_LE(tls_x509_util::not_after_of(leaf->chain.get()), ca->not_after());
  EXPECT_GE(tls_x509_util::not_before_of(leaf->chain.get()), ca->not_before());
  EXPECT_EQ(mbedtls_pk_check_pair(&leaf->chain->pk, const_cast<mbedtls_pk_context*>(leaf->key)), 0);
  EXPECT_NE(leaf->chain->next, nullptr);  // the CA rides along
}

TEST_F(CaStoreTest, LeafCacheHitsEvictsAndRejectsBadNames) {
  auto ca = open_ok();
  ASSERT_NE(ca, nullptr);
  std::string err;
  auto leaves = TlsLeafCache::create(*ca, 2, &err);
  ASSERT_NE(leaves, nullptr) << err;
  auto a = leaves->get("a.example", &err);
  auto a2 = leaves->get("A.EXAMPLE", &err);
  EXPECT_EQ(a.get(), a2.get());
  EXPECT_EQ(leaves->issued(), 1u);
  leaves->get("b.example", &err);
  leaves->get("a.example", &err);  // a is now most recent
  leaves->get("c.example", &err);  // evicts b
  EXPECT_EQ(leaves->size(), 2u);
  EXPECT_EQ(leaves->get("a.example", &err).get(), a.get());
  EXPECT_EQ(leaves->issued(), 3u);
  leaves->get("b.example", &err);
  EXPECT_EQ(leaves->issued(), 4u);
  // An evicted leaf stays valid for whoever still holds it.
  EXPECT_EQ(a->host, "a.example");

  auto ip = leaves->get("127.0.0.1", &err);
  ASSERT_NE(ip, nullptr) << err;
  uint32_t flags = 0;
  mbedtls_x509_crt* ca_crt = const_cast<mbedtls_x509_crt*>(ca->cert());
  EXPECT_EQ(
      mbedtls_x509_crt_verify(ip->chain.get(), ca_crt, nullptr, nullptr, &flags, nullptr, nullptr),
      0);
  auto v6 = leaves->get("[::1]", &err);
  ASSERT_NE(v6, nullptr) << err;
  EXPECT_EQ(v6->host, "::1");

  for (const char* bad : {"", "bad host", "a,b=c", "x\ny", "*."}) {
    EXPECT_EQ(leaves->get(bad, &err), nullptr) << bad;
    EXPECT_NE(err.find("not a host name"), std::string::npos) << err;
  }
  std::string longname(70, 'a');
  longname += ".example";
  auto lg = leaves->get(longname, &err);
  ASSERT_NE(lg, nullptr) << err;  // CN dropped, SAN carries it
  EXPECT_EQ(mbedtls_x509_crt_verify(lg->chain.get(), ca_crt, nullptr, longname.c_str(), &flags,
                                    nullptr, nullptr),
            0);
}

}  // namespace
}  // namespace agentsh::proxy
