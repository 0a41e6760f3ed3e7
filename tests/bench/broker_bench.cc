// The broker's share of a hook-only exec: one exec check over the real unix socket to a
// real Broker (agentsh/broker.h) whose handler answers at once — connect, request,
// reply, close, as preload/broker_client.cc does it. What the policy check itself costs
// is in the engine's benchmarks; the whole exec in startup_bench.cc.
#include <benchmark/benchmark.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "agentsh/broker.h"

namespace {

using agentsh::Broker;
namespace broker = agentsh::broker;

void BM_BrokerExecCheckRoundTrip(benchmark::State& state) {
  char t[] = "/tmp/agentsh-broker-bench-XXXXXX";
  if (!mkdtemp(t)) {
    state.SkipWithError("mkdtemp");
    return;
  }
  std::string path = std::string(t) + "/b.sock";
  Broker b;
  Broker::Handlers h;
  h.exec_check_nonblocking = [](const agentsh::ExecCheckRequest&) -> std::optional<broker::Reply> {
    return Broker::allow();
  };
  std::string err;
  if (!b.start(path, h, &err)) {
    state.SkipWithError(err.c_str());
    return;
  }
  std::string payload = std::string("/usr/bin/true") + '\0' + "/tmp" + '\0' + "true" + '\0';
  broker::RequestHeader hdr{};
  hdr.magic = broker::kMagic;
  hdr.type = broker::MsgType::kExecCheck;
  hdr.pid = getpid();
  hdr.payload_len = uint32_t(payload.size());
  hdr.argc = 1;
  std::string req = std::string(reinterpret_cast<const char*>(&hdr), sizeof hdr) + payload;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  for (auto _ : state) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
              send(fd, req.data(), req.size(), MSG_NOSIGNAL) == ssize_t(req.size());
    broker::Reply r;
    size_t got = 0;
    while (ok && got < sizeof r) {
      ssize_t n = read(fd, reinterpret_cast<char*>(&r) + got, sizeof r - got);
      if (n <= 0) ok = false;
      got += n > 0 ? size_t(n) : 0;
    }
    close(fd);
    if (!ok) {
      state.SkipWithError("round trip failed");
      break;
    }
  }
  b.stop();
  rmdir(t);
}
BENCHMARK(BM_BrokerExecCheckRoundTrip)->Unit(benchmark::kMicrosecond);

}  // namespace
