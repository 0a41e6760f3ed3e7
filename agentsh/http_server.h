// The HTTP listener under `agentsh server`: cpp-httplib with our own connection model,
// limits and JSON errors.
//
// Why cpp-httplib and not a hand-written epoll loop: the API is request/response plus
// two kinds of long-lived requests (server-sent events, approval long-polls) and exec
// requests that block for the command's duration. A thread per connection
// (HttpServerThreads) handles all of those with straight-line code, and cpp-httplib
// already parses HTTP/1.1 (keep-alive, chunked bodies, limits) correctly and is a
// Debian package we link anyway. An epoll loop would still need worker threads for the
// exec and approval handlers; it would buy nothing at the scale of one machine's agents.
//
// Limits: read/write timeouts per socket operation (config server.http.read_timeout /
// write_timeout) bound how long a slow client can hold its thread; bodies above
// max_request_size get 413 before they are read; every 4xx/5xx without a body gets a
// JSON {"error": …} body.
//
// Thread-safety: register routes before run(); run() blocks (call it on one thread);
// stop() may be called from any thread (and from none of the handlers' threads only
// if they do not wait for run() to return).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "agentsh/http_server_lib.h"

namespace agentsh {

class HttpServer {
 public:
  struct Options {
    std::string addr = "127.0.0.1:18080";  // host:port, [v6]:port; port 0 = any free port
    int64_t read_timeout_ms = 30000;
    int64_t write_timeout_ms = 60000;
    uint64_t max_body_bytes = 10u << 20;
    size_t max_threads = 256;
  };

  explicit HttpServer(Options opts);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  httplib::Server& routes() { return *svr_; }

  // Binds the listening socket. Returns false with `error` set (address in use, bad
  // address…). After it, port() is the real port (useful with port 0).
  bool bind(std::string* error);
  int port() const { return port_; }
  const std::string& host() const { return host_; }
  // "http://host:port" (IPv6 hosts bracketed).
  std::string url() const;

  bool run();   // serves until stop(); false if the listener failed
  void stop();  // idempotent

  // Splits "host:port" / "[v6]:port" / ":port" (= all interfaces). False if malformed.
  static bool parse_addr(const std::string& addr, std::string* host, int* port, std::string* error);

  static void reply_json(httplib::Response& res, int status, const nlohmann::json& body);
  static void reply_error(httplib::Response& res, int status, const std::string& message);

 private:
  Options opts_;
  std::unique_ptr<httplib::Server> svr_;
  std::string host_;
  int port_ = 0;
  int listen_fd_ = -1;  // owned by httplib; remembered to raise its backlog
};

}  // namespace agentsh
