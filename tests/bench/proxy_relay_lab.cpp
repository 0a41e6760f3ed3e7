// proxy_relay_lab: a stand-alone copy of BM_ProxyDownloadRatio's setting (a sender thread
// like BenchServer, a receiver like the bench's download loop, and a minimal splice relay
// shaped like Connection::pump) with every relay knob exposed, for finding out what the
// tunnel's throughput depends on without rebuilding the proxy. Used for the numbers in
// proxy/README.md ("Throughput of one bulk tunnel"). Loopback only.
// Not a .cc on purpose: the bench Makefile rule links every tests/bench/*.cc into one
// Google Benchmark binary. Build and run:
//
//   g++ -std=c++20 -O2 -Wall -Wextra -I. tests/bench/proxy_relay_lab.cpp -lpthread -o lab
//   REPS=5 ./lab base: sb128:SNDBUF=131072 sb128p1m:SNDBUF=131072,PIPE=1048576
//
// Each argument is one relay configuration "NAME:KEY=VALUE,…"; every round downloads MB
// MiB (default 1024) directly and through each configuration, order rotated, and prints
// the median ratio to direct and, per party, CPU ms per GiB and context switches per MiB
// (voluntary+involuntary). Relay keys: PIPE (pipe bytes, default 262144), SNDBUF (SO_SNDBUF
// of the receiver-side socket, 0 = autotuning), RCVBUF (SO_RCVBUF of both relay sockets),
// LOWAT (SO_RCVLOWAT of the upstream socket), COPY (userspace copies through a buffer of
// that size instead of splice), RENO (TCP_CONGESTION reno on the receiver-side socket),
// IDLE_IN (wait for upstream data only while nothing is queued toward the receiver).
// Environment: REPS, MB, PIN_S / PIN_C / PIN_R (pin sender / receiver / relay to a CPU),
// PLACE=1 (print on which CPU each party ran, sampled at every wake-up).
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/scoped_fd.h"

using agentsh::ScopedFd;

namespace {

long env_long(const char* name, long dflt) {
  const char* v = getenv(name);
  return v ? atol(v) : dflt;
}

void pin_from_env(const char* name) {
  const long cpu = env_long(name, -1);
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof(set), &set);
}

// CPU time and context switches of the calling thread.
struct Usage {
  double cpu = 0;
  long vcs = 0, ivcs = 0;
  static Usage now() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    rusage ru{};
    getrusage(RUSAGE_THREAD, &ru);
    return {ts.tv_sec + ts.tv_nsec / 1e9, ru.ru_nvcsw, ru.ru_nivcsw};
  }
  Usage operator-(const Usage& o) const { return {cpu - o.cpu, vcs - o.vcs, ivcs - o.ivcs}; }
  Usage& operator+=(const Usage& o) {
    cpu += o.cpu;
    vcs += o.vcs;
    ivcs += o.ivcs;
    return *this;
  }
};

// Where each party ran: [receiver, sender, relay][cpu 0 / other].
std::atomic<long> g_on_cpu[3][2];
void mark(int party) {
  const int c = sched_getcpu();
  if (c >= 0) g_on_cpu[party][c == 0 ? 0 : 1].fetch_add(1, std::memory_order_relaxed);
}

// Written by the sender / relay threads after each connection, read by main between
// downloads (a download is over when the receiver saw EOF, and both sleep 20 ms after).
std::atomic<double> g_sender_cpu{0}, g_relay_cpu{0};
std::atomic<long> g_sender_cs[2], g_relay_cs[2];

ScopedFd listen_loopback(uint16_t* port) {
  ScopedFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(0x7f000001);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd.get(), 16) != 0)
    return ScopedFd();
  socklen_t len = sizeof(a);
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

ScopedFd dial(uint16_t port) {
  ScopedFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(0x7f000001);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return ScopedFd();
  return fd;
}

bool recv_exact(int fd, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = recv(fd, buf + got, n - got, 0);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

void account(std::atomic<double>& cpu, std::atomic<long>* cs, const Usage& u) {
  cpu = cpu + u.cpu;
  cs[0] += u.vcs;
  cs[1] += u.ivcs;
}

// The sender, like BenchServer: 'D' + 8-byte length, then non-blocking 256 KiB sends
// driven by level-triggered EPOLLOUT.
void sender(int lfd) {
  pin_from_env("PIN_S");
  static const std::string blob(1 << 18, 'b');
  for (;;) {
    ScopedFd c(accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) return;
    const Usage u0 = Usage::now();
    int one = 1;
    setsockopt(c.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char cmd[9];
    if (!recv_exact(c.get(), cmd, sizeof(cmd))) continue;
    uint64_t left = 0;
    for (int k = 1; k < 9; ++k) left = (left << 8) | static_cast<uint8_t>(cmd[k]);
    fcntl(c.get(), F_SETFL, O_NONBLOCK);
    ScopedFd ep(epoll_create1(EPOLL_CLOEXEC));
    epoll_event ev{};
    ev.events = EPOLLOUT;
    epoll_ctl(ep.get(), EPOLL_CTL_ADD, c.get(), &ev);
    while (left > 0) {
      if (epoll_wait(ep.get(), &ev, 1, -1) <= 0) continue;
      mark(1);
      while (left > 0) {
        ssize_t w = send(c.get(), blob.data(), std::min<uint64_t>(left, blob.size()), MSG_NOSIGNAL);
        if (w <= 0) break;
        left -= static_cast<uint64_t>(w);
      }
    }
    c.reset();
    account(g_sender_cpu, g_sender_cs, Usage::now() - u0);
  }
}

// One relay configuration, parsed from "KEY=VALUE,…".
struct RelayConfig {
  long pipe = 256 * 1024, sndbuf = 0, rcvbuf = 0, lowat = 0, copy = 0, reno = 0, idle_in = 0;
  static RelayConfig parse(const std::string& spec) {
    RelayConfig c;
    auto get = [&](const char* key, long dflt) {
      const std::string s = "," + spec + ",", k = std::string(",") + key + "=";
      const size_t at = s.find(k);
      return at == std::string::npos ? dflt : atol(s.c_str() + at + k.size());
    };
    c.pipe = get("PIPE", c.pipe);
    c.sndbuf = get("SNDBUF", 0);
    c.rcvbuf = get("RCVBUF", 0);
    c.lowat = get("LOWAT", 0);
    c.copy = get("COPY", 0);
    c.reno = get("RENO", 0);
    c.idle_in = get("IDLE_IN", 0);
    return c;
  }
};
std::atomic<const RelayConfig*> g_config{nullptr};  // set by main before each download

// Relays one download: upstream -> receiver through a pipe (or a buffer), the way
// Connection::pump does it: splice out until the socket is full, splice in up to the
// pipe's room, stop a side's turn at a short transfer, level-triggered epoll.
void relay_one(const RelayConfig& cfg, int c, int u) {
  for (int fd : {c, u}) {
    if (cfg.rcvbuf) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cfg.rcvbuf, sizeof(int));
  }
  if (cfg.sndbuf) setsockopt(c, SOL_SOCKET, SO_SNDBUF, &cfg.sndbuf, sizeof(int));
  if (cfg.lowat) setsockopt(u, SOL_SOCKET, SO_RCVLOWAT, &cfg.lowat, sizeof(int));
  if (cfg.reno) setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, "reno", 4);
  int p[2];
  if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) return;
  ScopedFd pr(p[0]), pw(p[1]);
  fcntl(pw.get(), F_SETPIPE_SZ, static_cast<int>(cfg.pipe));
  const size_t cap = static_cast<size_t>(fcntl(pw.get(), F_GETPIPE_SZ));
  ScopedFd ep(epoll_create1(EPOLL_CLOEXEC));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = u;
  epoll_ctl(ep.get(), EPOLL_CTL_ADD, u, &ev);
  ev.events = 0;
  ev.data.fd = c;
  epoll_ctl(ep.get(), EPOLL_CTL_ADD, c, &ev);
  uint32_t umask = EPOLLIN, cmask = 0;
  size_t queued = 0, boff = 0;
  bool eof = false;
  bool maybe_full = false;  // splice-in said EAGAIN with bytes queued: out of pipe slots?
  std::vector<char> buf(cfg.copy > 0 ? cfg.copy : 1);
  for (;;) {
    bool full = false, dry = false;
    for (int round = 0; round < 32; ++round) {
      bool progress = false;
      while (queued > 0 && !full) {
        ssize_t n = cfg.copy ? send(c, buf.data() + boff, queued, MSG_NOSIGNAL)
                             : splice(pr.get(), nullptr, c, nullptr, queued,
                                      SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n <= 0) break;
        if (static_cast<size_t>(n) < queued) full = true;
        queued -= static_cast<size_t>(n);
        boff = queued ? boff + static_cast<size_t>(n) : 0;
        progress = true;
        maybe_full = false;
      }
      const size_t room = cfg.copy ? (queued ? 0 : buf.size()) : cap - queued;
      if (!eof && !dry && !maybe_full && room > 0) {
        ssize_t n = cfg.copy ? recv(u, buf.data(), room, 0)
                             : splice(u, nullptr, pw.get(), nullptr, room,
                                      SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
          queued += static_cast<size_t>(n);
          dry = static_cast<size_t>(n) < room;
          progress = true;
        } else if (n == 0) {
          eof = progress = true;
        } else {
          dry = true;
          maybe_full = queued > 0;
        }
      }
      if (!progress) break;
    }
    if (eof && queued == 0) break;
    const size_t in_limit = cfg.idle_in ? 1 : (cfg.copy ? 1 : cap);
    const uint32_t um = !eof && !maybe_full && queued < in_limit ? uint32_t{EPOLLIN} : 0u;
    const uint32_t cm = queued ? uint32_t{EPOLLOUT} : 0u;
    if (um != umask) {
      ev.events = umask = um;
      ev.data.fd = u;
      epoll_ctl(ep.get(), EPOLL_CTL_MOD, u, &ev);
    }
    if (cm != cmask) {
      ev.events = cmask = cm;
      ev.data.fd = c;
      epoll_ctl(ep.get(), EPOLL_CTL_MOD, c, &ev);
    }
    epoll_event evs[2];
    epoll_wait(ep.get(), evs, 2, -1);
    mark(2);
  }
  shutdown(c, SHUT_WR);
  char tmp[64];
  while (recv(c, tmp, sizeof(tmp), 0) > 0) {
  }
}

void relay(int lfd, uint16_t sender_port) {
  pin_from_env("PIN_R");
  for (;;) {
    ScopedFd c(accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) return;
    const Usage u0 = Usage::now();
    int one = 1;
    setsockopt(c.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ScopedFd u = dial(sender_port);
    char cmd[9];
    if (!u || !recv_exact(c.get(), cmd, sizeof(cmd))) continue;
    send(u.get(), cmd, sizeof(cmd), MSG_NOSIGNAL);
    fcntl(c.get(), F_SETFL, O_NONBLOCK);
    fcntl(u.get(), F_SETFL, O_NONBLOCK);
    relay_one(*g_config.load(), c.get(), u.get());
    account(g_relay_cpu, g_relay_cs, Usage::now() - u0);
  }
}

struct Way {
  std::string name;
  RelayConfig cfg;
  std::vector<double> pct;
  double secs = 0;
  Usage receiver, sender, relay;
};

}  // namespace

int main(int argc, char** argv) {
  const uint64_t total = static_cast<uint64_t>(env_long("MB", 1024)) << 20;
  const int reps = static_cast<int>(env_long("REPS", 5));
  pin_from_env("PIN_C");
  uint16_t sport = 0, rport = 0;
  ScopedFd sl = listen_loopback(&sport), rl = listen_loopback(&rport);
  if (!sl || !rl) {
    perror("proxy_relay_lab: listen on 127.0.0.1");
    return 1;
  }
  std::thread(sender, sl.get()).detach();
  std::thread(relay, rl.get(), sport).detach();
  std::vector<Way> ways(1);
  ways[0].name = "direct";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const size_t colon = a.find(':');
    Way w;
    w.name = a;
    w.cfg = RelayConfig::parse(colon == std::string::npos ? "" : a.substr(colon + 1));
    ways.push_back(w);
  }
  if (ways.size() == 1) ways.push_back({"base", RelayConfig{}, {}, 0, {}, {}, {}});
  auto download = [&](Way& w, bool direct) {
    g_config = &w.cfg;
    for (auto& party : g_on_cpu)
      for (auto& n : party) n = 0;
    const double s_cpu = g_sender_cpu, r_cpu = g_relay_cpu;
    const long s_cs[2] = {g_sender_cs[0], g_sender_cs[1]};
    const long r_cs[2] = {g_relay_cs[0], g_relay_cs[1]};
    const Usage me = Usage::now();
    const auto t0 = std::chrono::steady_clock::now();
    ScopedFd fd = dial(direct ? sport : rport);
    char cmd[9] = {'D'};
    for (int k = 0; k < 8; ++k) cmd[1 + k] = static_cast<char>(total >> (8 * (7 - k)));
    send(fd.get(), cmd, sizeof(cmd), MSG_NOSIGNAL);
    static char buf[1 << 18];
    uint64_t got = 0;
    ssize_t r;
    while ((r = recv(fd.get(), buf, sizeof(buf), 0)) > 0) {
      got += static_cast<uint64_t>(r);
      mark(0);
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fd.reset();
    usleep(20000);  // the sender and relay account their connection
    w.receiver += Usage::now() - me;
    w.sender += Usage{g_sender_cpu - s_cpu, g_sender_cs[0] - s_cs[0], g_sender_cs[1] - s_cs[1]};
    w.relay += Usage{g_relay_cpu - r_cpu, g_relay_cs[0] - r_cs[0], g_relay_cs[1] - r_cs[1]};
    w.secs += secs;
    if (got != total)
      fprintf(stderr, "%s: short download (%llu bytes)\n", w.name.c_str(),
              static_cast<unsigned long long>(got));
    if (getenv("PLACE")) {
      auto share = [](int p) {
        const double a = g_on_cpu[p][0], b = g_on_cpu[p][1];
        return a + b > 0 ? 100 * a / (a + b) : -1.0;
      };
      fprintf(stderr,
              "  %-24s %.2f GB/s  %% of wake-ups on cpu0: receiver %.0f sender %.0f relay %.0f\n",
              w.name.c_str(), total / secs / 1e9, share(0), share(1), share(2));
    }
    return secs;
  };
  for (int i = 0; i < reps; ++i) {
    std::vector<double> secs(ways.size());
    for (size_t k = 0; k < ways.size(); ++k) {
      const size_t w = (i + k) % ways.size();
      secs[w] = download(ways[w], w == 0);
    }
    for (size_t w = 1; w < ways.size(); ++w) ways[w].pct.push_back(100 * secs[0] / secs[w]);
  }
  const double gib = static_cast<double>(total) * reps / (1u << 30);
  const double mib = gib * 1024;
  for (const Way& w : ways) {
    std::vector<double> s = w.pct;
    std::sort(s.begin(), s.end());
    printf("%-36s %5.2f GB/s", w.name.c_str(), total * reps / w.secs / 1e9);
    if (s.empty())
      printf("                          ");
    else
      printf(" med %5.1f%% [%5.1f..%5.1f]", s[s.size() / 2], s.front(), s.back());
    printf(
        " | ms/GiB recv %3.0f send %3.0f relay %3.0f = %3.0f | cs/MiB recv %.1f+%.1f send "
        "%.1f+%.1f relay %.1f+%.1f\n",
        w.receiver.cpu * 1000 / gib, w.sender.cpu * 1000 / gib, w.relay.cpu * 1000 / gib,
        (w.receiver.cpu + w.sender.cpu + w.relay.cpu) * 1000 / gib, w.receiver.vcs / mib,
        w.receiver.ivcs / mib, w.sender.vcs / mib, w.sender.ivcs / mib, w.relay.vcs / mib,
        w.relay.ivcs / mib);
  }
  return 0;
}
