// agentsh server [--config F] [--addr HOST:PORT]: serves the HTTP API (api_server.h)
// until SIGTERM / SIGINT, then shuts down in order (no new connections, waiting
// approvals denied, running API commands stopped, audit store flushed).
#include <limits.h>
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "agentsh/api_server.h"
#include "agentsh/arg_parser.h"
#include "agentsh/commands.h"
#include "agentsh/config.h"

namespace agentsh::cmd {

int server(const Args& args) {
  ArgParser p("server");
  p.option("config").option("addr");
  if (!p.parse(args)) return p.usage_error();
  if (!p.positionals().empty())
    return p.usage_error("unexpected argument '" + p.positionals()[0] + "'");

  ConfigLoad load = load_config(p.get("config"));
  for (const auto& w : load.warnings) fprintf(stderr, "agentsh server: warning: %s\n", w.c_str());
  if (!load.ok) {
    fprintf(stderr, "agentsh server: %s\n", load.error.c_str());
    return 1;
  }
  ApiServer::Options opts;
  opts.addr_override = p.get("addr");
  if (load.config.source != "<embedded>") {
    char real[PATH_MAX];
    opts.config_path = realpath(load.config.source.c_str(), real) ? real : load.config.source;
  }

  // Before any thread exists: termination signals go to one waiting thread (sigwait),
  // never to a random handler thread; SIGPIPE from a vanished client is an error return.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  sigaddset(&sigs, SIGUSR1);  // our own wake-up for the signal thread when run() ends
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  ApiServer srv(load.config, opts);
  std::string error;
  if (!srv.start(&error)) {
    fprintf(stderr, "agentsh server: %s\n", error.c_str());
    return 1;
  }
  fprintf(stderr, "agentsh server: listening on %s (config %s)\n", srv.url().c_str(),
          load.config.source.c_str());
  fflush(stderr);

  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread sig_thread([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    if (sig != SIGUSR1) fprintf(stderr, "agentsh server: signal %d, shutting down\n", sig);
    // stop() until run() has returned: a signal between bind and listen must not be lost.
    std::unique_lock<std::mutex> lk(mu);
    while (!done) {
      srv.stop();
      cv.wait_for(lk, std::chrono::milliseconds(100));
    }
  });
  bool ok = srv.run();
  {
    std::lock_guard<std::mutex> lk(mu);
    done = true;
    cv.notify_all();
  }
  pthread_kill(sig_thread.native_handle(), SIGUSR1);
  sig_thread.join();
  return ok ? 0 : 1;
}

}  // namespace agentsh::cmd
