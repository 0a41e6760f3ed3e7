// Helpers for the server/API/approval integration tests: a real `agentsh server`
// process on an ephemeral loopback port (the server picks it: addr 127.0.0.1:0, and the
// test reads it from the "listening on" line), and an HTTP client for it.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agentsh/http_server_lib.h"

namespace agentsh::server_test {

class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts `agentsh server --config CONFIG [extra…]` with `env` (nothing inherited) and
  // waits for its "listening on" line. False (with the log in `why`) if it exited first.
  bool start(const std::string& config, const std::vector<std::string>& env,
             const std::vector<std::string>& extra_args = {}, std::string* why = nullptr);
  // SIGTERM, then waits; returns the exit status (128+N for a signal).
  int stop();
  // Waits for the process to exit by itself (bounded); returns status or -1.
  int wait_exit(int timeout_s);
  const std::string& url() const { return url_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const;
  std::unique_ptr<httplib::Client> client(int read_timeout_s = 30) const;

 private:
  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::string url_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::string log_;
  std::thread reader_;
};

// A test config with state (sessions, audit db) in `dir`, listening on 127.0.0.1:0.
// `extra` is appended (new top-level sections); `sessions_extra` goes inside sessions:.
std::string write_server_config(const std::string& dir, const std::string& extra = "",
                                const std::string& sessions_extra = "");

// The environment servers and CLI calls get in tests (nothing of ours inherited).
std::vector<std::string> clean_env(const std::vector<std::string>& extra = {});

// True when the integrator's `agentsh exec` is in this build.
bool exec_available();

}  // namespace agentsh::server_test
