// TLS sessions in memory: full handshake between our server and client (client trusts
// a test CA), data both ways, resumption, hostname mismatch, untrusted CA, truncation.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "proxy/ca_store.h"
#include "proxy/tls_client_context.h"
#include "proxy/tls_client_session.h"
#include "proxy/tls_leaf_cache.h"
#include "proxy/tls_server_context.h"
#include "proxy/tls_server_session.h"

namespace agentsh::proxy {
namespace {

namespace fs = std::filesystem;

// Moves ciphertext between the two until both handshakes finish or one fails.
bool pump_handshake(TlsSession& client, TlsSession& server) {
  for (int i = 0; i < 50; ++i) {
    auto c = client.handshake();
    server.feed(client.take_outgoing());
    auto s = server.handshake();
    client.feed(server.take_outgoing());
    if (c == TlsSession::Result::kError || s == TlsSession::Result::kError) {
      // Deliver the alert so the peer learns why.
      client.handshake();
      server.handshake();
      return false;
    }
    if (client.handshake_done() && server.handshake_done()) return true;
  }
  return false;
}

std::string transfer(TlsSession& from, TlsSession& to, const std::string& data) {
  EXPECT_EQ(from.write(data), TlsSession::Result::kOk);
  std::string ct = from.take_outgoing();
  std::string got;
  // Deliver in odd-sized pieces: records cut anywhere must still decrypt.
  for (size_t i = 0; i < ct.size(); i += 1000) {
    to.feed(ct.substr(i, 1000));
    to.read(&got);
  }
  return got;
}

class TlsSessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::path("/tmp") / ("agentsh-tls-test-" + std::to_string(getpid())));
    fs::remove_all(*dir_);
    std::string err;
    ca_ = CaStore::open(*dir_ / "ca", &err, "").release();
    ASSERT_NE(ca_, nullptr) << err;
    leaves_ = TlsLeafCache::create(*ca_, 16, &err).release();
    ASSERT_NE(leaves_, nullptr) << err;
    server_ctx_ = TlsServerContext::create(*leaves_, &err).release();
    ASSERT_NE(server_ctx_, nullptr) << err;
  }
  static void TearDownTestSuite() {
    delete server_ctx_;
    delete leaves_;
    delete ca_;
    fs::remove_all(*dir_);
    delete dir_;
  }
  // A client context that trusts exactly our test CA.
  std::unique_ptr<TlsClientContext> trusting_client() {
    std::string err;
    auto c = TlsClientContext::create(&err, ca_->cert_path());
    EXPECT_NE(c, nullptr) << err;
    return c;
  }
  std::unique_ptr<TlsServerSession> server(const std::string& host) {
    std::string err;
    auto s = TlsServerSession::create(*server_ctx_, host, &err);
    EXPECT_NE(s, nullptr) << err;
    return s;
  }

  static fs::path* dir_;
  static CaStore* ca_;
  static TlsLeafCache* leaves_;
  static TlsServerContext* server_ctx_;
};
fs::path* TlsSessionTest::dir_ = nullptr;
CaStore* TlsSessionTest::ca_ = nullptr;
TlsLeafCache* TlsSessionTest::leaves_ = nullptr;
TlsServerContext* TlsSessionTest::server_ctx_ = nullptr;

TEST_F(TlsSessionTest, FullHandshakeAndDataBothWays) {
  auto cctx = trusting_client();
  std::string err;
  auto client = TlsClientSession::create(*cctx, "api.openai.test", 443, &err);
  ASSERT_NE(client, nullptr) << err;
  auto srv = server("api.openai.test");
  ASSERT_TRUE(pump_handshake(*client, *srv)) << client->error() << " / " << srv->error();
  EXPECT_EQ(srv->sni(), "api.openai.test");
  EXPECT_EQ(srv->cert_host(), "api.openai.test");
  EXPECT_EQ(client->alpn(), "http/1.1");
  EXPECT_EQ(srv->alpn(), "http/1.1");
  EXPECT_EQ(client->protocol_version(), "TLSv1.2");
  EXPECT_NE(client->cipher_suite().find("GCM"), std::string::npos) << client->cipher_suite();
  EXPECT_FALSE(client->resumed());
  EXPECT_EQ(client->verify_flags(), 0u);

  std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.test\r\n\r\n";
  EXPECT_EQ(transfer(*client, *srv, req), req);
  std::string big(1 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = char('a' + i % 26);
  EXPECT_EQ(transfer(*srv, *client, big), big);

  // Orderly close: the peer sees kClosed, not a truncation.
  srv->close();
  client->feed(srv->take_outgoing());
  std::string rest;
  EXPECT_EQ(client->read(&rest), TlsSession::Result::kClosed);
  EXPECT_FALSE(client->truncated());
}

TEST_F(TlsSessionTest, SniPicksTheCertificateNotTheDefaultHost) {
  auto cctx = trusting_client();
  std::string err;
  auto client = TlsClientSession::create(*cctx, "api.anthropic.test", 443, &err);
  ASSERT_NE(client, nullptr) << err;
  auto srv = server("10.9.8.7");  // CONNECT by address, SNI says the name
  ASSERT_TRUE(pump_handshake(*client, *srv)) << client->error() << " / " << srv->error();
  EXPECT_EQ(srv->cert_host(), "api.anthropic.test");
}

TEST_F(TlsSessionTest, SecondConnectionResumesTheSession) {
  auto cctx = trusting_client();
  std::string err;
  for (int round = 0; round < 3; ++round) {
    auto client = TlsClientSession::create(*cctx, "resume.test", 443, &err);
    ASSERT_NE(client, nullptr) << err;
    auto srv = server("resume.test");
    ASSERT_TRUE(pump_handshake(*client, *srv)) << client->error();
    EXPECT_EQ(client->resumed(), round > 0) << "round " << round;
    EXPECT_EQ(transfer(*client, *srv, "ping"), "ping");
  }
  EXPECT_EQ(cctx->cached_sessions(), 1u);
  // Another port is another server: no resumption there.
  auto other = TlsClientSession::create(*cctx, "resume.test", 8443, &err);
  auto srv = server("resume.test");
  ASSERT_TRUE(pump_handshake(*other, *srv));
  EXPECT_FALSE(other->resumed());
}

// A server that presents one fixed certificate whatever the client asks for.
class FixedCertServer : public TlsSession {
 public:
  FixedCertServer(const TlsServerContext& ctx, std::shared_ptr<const TlsLeaf> leaf) {
    std::string err;
    mbedtls_ssl_config* conf = own_config();
    EXPECT_TRUE(ctx.configure(conf, &err)) << err;
    EXPECT_EQ(mbedtls_ssl_conf_own_cert(conf, leaf->chain.get(),
                                        const_cast<mbedtls_pk_context*>(leaf->key)),
              0);
    keep_alive(leaf);
    EXPECT_TRUE(setup(conf, &err)) << err;
  }
};

TEST_F(TlsSessionTest, HostnameMismatchIsRefused) {
  auto cctx = trusting_client();
  std::string err;
  auto leaf = leaves_->get("not-the-api.test", &err);
  ASSERT_NE(leaf, nullptr) << err;
  FixedCertServer srv(*server_ctx_, leaf);
  auto client = TlsClientSession::create(*cctx, "api.openai.test", 443, &err);
  ASSERT_NE(client, nullptr) << err;
  EXPECT_FALSE(pump_handshake(*client, srv));
  EXPECT_FALSE(client->handshake_done());
  EXPECT_TRUE(client->verify_flags() & MBEDTLS_X509_BADCERT_CN_MISMATCH);
  EXPECT_NE(client->error().find("TLS to api.openai.test:443"), std::string::npos)
      << client->error();
  EXPECT_NE(client->error().find("not valid for api.openai.test"), std::string::npos)
      << client->error();
  EXPECT_EQ(client->write("secret"), TlsSession::Result::kError);
  EXPECT_EQ(cctx->cached_sessions(), 0u);
}

TEST_F(TlsSessionTest, UntrustedCaIsRefusedWithAClearError) {
  std::string err;
  // The system trust store does not know our per-install CA.
  auto cctx = TlsClientContext::create(&err);
  ASSERT_NE(cctx, nullptr) << err;
  auto client = TlsClientSession::create(*cctx, "api.openai.test", 443, &err);
  ASSERT_NE(client, nullptr) << err;
  auto srv = server("api.openai.test");
  EXPECT_FALSE(pump_handshake(*client, *srv));
  EXPECT_TRUE(client->verify_flags() & MBEDTLS_X509_BADCERT_NOT_TRUSTED);
  EXPECT_NE(client->error().find("not signed by a trusted CA"), std::string::npos)
      << client->error();
  EXPECT_NE(client->error().find(CaStore::kSystemBundle), std::string::npos) << client->error();
  // The server learns of it through the client's alert.
  EXPECT_FALSE(srv->handshake_done());
}

TEST_F(TlsSessionTest, MissingTrustStoreIsAClearError) {
  std::string err;
  EXPECT_EQ(TlsClientContext::create(&err, "/nonexistent/ca.pem"), nullptr);
  EXPECT_NE(err.find("/nonexistent/ca.pem"), std::string::npos) << err;
}

TEST_F(TlsSessionTest, EofWithoutCloseNotifyIsReportedAsTruncated) {
  auto cctx = trusting_client();
  std::string err;
  auto client = TlsClientSession::create(*cctx, "trunc.test", 443, &err);
  auto srv = server("trunc.test");
  ASSERT_TRUE(pump_handshake(*client, *srv));
  EXPECT_EQ(srv->write("partial"), TlsSession::Result::kOk);
  client->feed(srv->take_outgoing());
  client->feed_eof();
  std::string got;
  EXPECT_EQ(client->read(&got), TlsSession::Result::kOk);
  EXPECT_EQ(got, "partial");
  EXPECT_EQ(client->read(&got), TlsSession::Result::kClosed);
  EXPECT_TRUE(client->truncated());
}

TEST_F(TlsSessionTest, GarbageAndEarlyEofFailTheHandshake) {
  auto srv = server("garbage.test");
  srv->feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n");  // plain HTTP on the TLS port
  EXPECT_EQ(srv->handshake(), TlsSession::Result::kError);
  EXPECT_FALSE(srv->error().empty());

  auto cctx = trusting_client();
  std::string err;
  auto client = TlsClientSession::create(*cctx, "eof.test", 443, &err);
  EXPECT_EQ(client->handshake(), TlsSession::Result::kWantRead);
  EXPECT_FALSE(client->outgoing().empty());  // the ClientHello
  client->feed_eof();
  EXPECT_EQ(client->handshake(), TlsSession::Result::kError);
  EXPECT_NE(client->error().find("closed the connection during the TLS handshake"),
            std::string::npos)
      << client->error();
}

TEST_F(TlsSessionTest, BadSniNameFailsTheHandshake) {
  std::string err;
  auto srv = server("ok.test");
  // A ClientHello from a client whose SNI cannot go in a certificate.
  auto cctx = trusting_client();
  auto client = TlsClientSession::create(*cctx, "bad_host!", 443, &err);
  ASSERT_NE(client, nullptr) << err;
  EXPECT_FALSE(pump_handshake(*client, *srv));
  EXPECT_NE(srv->error().find("bad_host!"), std::string::npos) << srv->error();
}

}  // namespace
}  // namespace agentsh::proxy
