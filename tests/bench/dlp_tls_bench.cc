// What TLS interception costs with mbedTLS 2.28 on this machine: the primitives
// (ECDHE P-256 / X25519, ECDSA P-256 sign, AES-128-GCM), a leaf certificate issue
// (paid once per host thanks to the cache), full and resumed handshakes between our
// own server and client sessions (both ends in this process: the cost of one proxied
// connection's two handshakes is roughly client+server of one), and record throughput
// through a session pair.
// No BENCHMARK_MAIN here: the bench binary's main lives in tests/bench/bench_main.cc.
#include <benchmark/benchmark.h>
#include <mbedtls/ecdh.h>
#include <mbedtls/gcm.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "proxy/ca_store.h"
#include "proxy/tls_client_context.h"
#include "proxy/tls_client_session.h"
#include "proxy/tls_leaf_cache.h"
#include "proxy/tls_rng.h"
#include "proxy/tls_server_context.h"
#include "proxy/tls_server_session.h"
#include "proxy/tls_x509_util.h"

namespace agentsh::proxy {
namespace {

struct Fixture {
  std::string dir;
  std::unique_ptr<CaStore> ca;
  std::unique_ptr<TlsLeafCache> leaves;
  std::unique_ptr<TlsServerContext> server;
  Fixture() {
    dir = "/tmp/agentsh-tls-bench-" + std::to_string(getpid());
    std::string err;
    ca = CaStore::open(dir, &err, "");
    if (ca) leaves = TlsLeafCache::create(*ca, 1024, &err);
    if (leaves) server = TlsServerContext::create(*leaves, &err);
    if (!server) {
      fprintf(stderr, "dlp_tls_bench: %s\n", err.c_str());
      abort();
    }
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
};

Fixture& fx() {
  static Fixture f;
  return f;
}

void BM_TlsEcdhe(benchmark::State& state) {
  auto grp = mbedtls_ecp_group_id(state.range(0));
  TlsRng* rng = TlsRng::shared();
  for (auto _ : state) {
    // One side of a key agreement: make a key pair, derive the secret with the peer's.
    mbedtls_ecdh_context a, b;
    mbedtls_ecdh_init(&a);
    mbedtls_ecdh_init(&b);
    mbedtls_ecdh_setup(&a, grp);
    mbedtls_ecdh_setup(&b, grp);
    unsigned char pa[128], pb[128], secret[66];
    size_t la = 0, lb = 0, ls = 0;
    mbedtls_ecdh_make_params(&a, &la, pa, sizeof pa, TlsRng::random, rng);
    const unsigned char* params = pa;
    mbedtls_ecdh_read_params(&b, &params, pa + la);
    mbedtls_ecdh_make_public(&b, &lb, pb, sizeof pb, TlsRng::random, rng);
    mbedtls_ecdh_read_public(&a, pb, lb);
    mbedtls_ecdh_calc_secret(&a, &ls, secret, sizeof secret, TlsRng::random, rng);
    benchmark::DoNotOptimize(secret);
    mbedtls_ecdh_free(&a);
    mbedtls_ecdh_free(&b);
  }
  state.SetLabel(grp == MBEDTLS_ECP_DP_CURVE25519 ? "X25519, both sides" : "P-256, both sides");
}
BENCHMARK(BM_TlsEcdhe)
    ->Arg(MBEDTLS_ECP_DP_SECP256R1)
    ->Arg(MBEDTLS_ECP_DP_CURVE25519)
    ->Unit(benchmark::kMillisecond);

void BM_TlsEcdsaSignP256(benchmark::State& state) {
  TlsRng* rng = TlsRng::shared();
  tls_handles::Pk key = tls_handles::make_Pk();
  std::string err;
  tls_x509_util::generate_ec_key(*rng, key.get(), &err);
  unsigned char hash[32] = {7}, sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
  for (auto _ : state) {
    size_t len = 0;
    mbedtls_pk_sign(key.get(), MBEDTLS_MD_SHA256, hash, sizeof hash, sig, &len, TlsRng::random,
                    rng);
    benchmark::DoNotOptimize(sig);
  }
}
BENCHMARK(BM_TlsEcdsaSignP256)->Unit(benchmark::kMillisecond);

void BM_TlsAes128Gcm(benchmark::State& state) {
  mbedtls_gcm_context gcm;
  mbedtls_gcm_init(&gcm);
  unsigned char key[16] = {1}, iv[12] = {2}, tag[16];
  mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, 128);
  std::string in(16384, 'a'), out(16384, '\0');
  for (auto _ : state) {
    mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, in.size(), iv, sizeof iv, nullptr, 0,
                              reinterpret_cast<const unsigned char*>(in.data()),
                              reinterpret_cast<unsigned char*>(out.data()), sizeof tag, tag);
    benchmark::DoNotOptimize(out.data());
  }
  mbedtls_gcm_free(&gcm);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(in.size()));
}
BENCHMARK(BM_TlsAes128Gcm);

void BM_TlsLeafIssue(benchmark::State& state) {
  Fixture& f = fx();
  std::string err;
  uint64_t n = 0;
  for (auto _ : state) {
    auto leaf = f.leaves->get("host" + std::to_string(n++ % 100000) + ".bench.test", &err);
    benchmark::DoNotOptimize(leaf.get());
  }
  state.SetLabel("cache miss: sign + parse");
}
BENCHMARK(BM_TlsLeafIssue)->Unit(benchmark::kMillisecond);

void BM_TlsLeafCacheHit(benchmark::State& state) {
  Fixture& f = fx();
  std::string err;
  f.leaves->get("hit.bench.test", &err);
  for (auto _ : state) benchmark::DoNotOptimize(f.leaves->get("hit.bench.test", &err).get());
}
BENCHMARK(BM_TlsLeafCacheHit);

double thread_cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

// Drives both handshakes; adds the CPU time spent on the server side to *server_ms.
bool pump(TlsSession& c, TlsSession& s, double* server_ms = nullptr) {
  for (int i = 0; i < 50; ++i) {
    auto rc = c.handshake();
    s.feed(c.take_outgoing());
    double t0 = thread_cpu_ms();
    auto rs = s.handshake();
    if (server_ms) *server_ms += thread_cpu_ms() - t0;
    c.feed(s.take_outgoing());
    if (rc == TlsSession::Result::kError || rs == TlsSession::Result::kError) return false;
    if (c.handshake_done() && s.handshake_done()) return true;
  }
  return false;
}

// Full (arg 0) or resumed (arg 1) handshake: client + server work together.
void BM_TlsHandshake(benchmark::State& state) {
  Fixture& f = fx();
  std::string err;
  auto cctx = TlsClientContext::create(&err, f.ca->cert_path());
  const bool resume = state.range(0) != 0;
  int n = 0;
  double server_ms = 0;
  for (auto _ : state) {
    // A fresh host:port per iteration means no cached session: a full handshake.
    std::string host = "hs.bench.test";
    uint16_t port = resume ? 443 : uint16_t(1 + n++ % 60000);
    auto client = TlsClientSession::create(*cctx, host, port, &err);
    auto server = TlsServerSession::create(*f.server, host, &err);
    if (!pump(*client, *server, &server_ms)) {
      state.SkipWithError(client->error().c_str());
      break;
    }
    if (resume && n++ > 0 && !client->resumed()) {
      state.SkipWithError("expected a resumed handshake");
      break;
    }
  }
  state.counters["server_cpu_ms"] = server_ms / double(std::max<int64_t>(state.iterations(), 1));
  state.SetLabel(resume ? "resumed (ticket), client+server" : "full ECDHE-ECDSA, client+server");
}
BENCHMARK(BM_TlsHandshake)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_TlsRecordThroughput(benchmark::State& state) {
  Fixture& f = fx();
  std::string err;
  auto cctx = TlsClientContext::create(&err, f.ca->cert_path());
  auto client = TlsClientSession::create(*cctx, "rec.bench.test", 443, &err);
  auto server = TlsServerSession::create(*f.server, "rec.bench.test", &err);
  if (!pump(*client, *server)) {
    state.SkipWithError("handshake failed");
    return;
  }
  std::string data(64 << 10, 'z'), got;
  for (auto _ : state) {
    server->write(data);
    client->feed(server->take_outgoing());
    got.clear();
    client->read(&got);
    benchmark::DoNotOptimize(got.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
  state.SetLabel(client->cipher_suite() + ", encrypt + decrypt");
}
BENCHMARK(BM_TlsRecordThroughput);

}  // namespace
}  // namespace agentsh::proxy
