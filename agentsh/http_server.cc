#include "agentsh/http_server.h"

#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "agentsh/http_server_threads.h"

namespace agentsh {

namespace {

time_t secs(int64_t ms) {
  return static_cast<time_t>(ms / 1000);
}
time_t usecs(int64_t ms) {
  return static_cast<time_t>((ms % 1000) * 1000);
}

std::string default_message(int status, uint64_t max_body) {
  switch (status) {
    case 400:
      return "bad request";
    case 404:
      return "not found";
    case 405:
      return "method not allowed";
    case 413:
      return "request body larger than max_request_size (" + std::to_string(max_body) + " bytes)";
    case 414:
      return "request URI too long";
    case 500:
      return "internal server error";
    default:
      return "HTTP " + std::to_string(status);
  }
}

}  // namespace

HttpServer::HttpServer(Options opts)
    : opts_(std::move(opts)), svr_(std::make_unique<httplib::Server>()) {
  size_t max_threads = opts_.max_threads;
  svr_->new_task_queue = [max_threads] { return new HttpServerThreads(max_threads); };
  svr_->set_read_timeout(secs(opts_.read_timeout_ms), usecs(opts_.read_timeout_ms));
  svr_->set_write_timeout(secs(opts_.write_timeout_ms), usecs(opts_.write_timeout_ms));
  svr_->set_payload_max_length(opts_.max_body_bytes);
  svr_->set_keep_alive_timeout(5);
  // The listening socket must not leak into commands the server starts (they are
  // spawned with closefrom too; this is the belt to those braces).
  svr_->set_socket_options([this](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    fcntl(sock, F_SETFD, FD_CLOEXEC);
    listen_fd_ = sock;
  });
  uint64_t max_body = opts_.max_body_bytes;
  svr_->set_error_handler(httplib::Server::HandlerWithResponse(
      [max_body](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        reply_error(res, res.status, default_message(res.status, max_body));
        return httplib::Server::HandlerResponse::Handled;
      }));
  svr_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = std::string("internal error: ") + e.what();
        } catch (...) {
        }
        reply_error(res, 500, what);
      });
}

HttpServer::~HttpServer() {
  stop();
}

bool HttpServer::parse_addr(const std::string& addr, std::string* host, int* port,
                            std::string* error) {
  std::string h, p;
  if (!addr.empty() && addr[0] == '[') {
    auto close = addr.find(']');
    if (close == std::string::npos || close + 1 >= addr.size() || addr[close + 1] != ':') {
      *error = "bad address '" + addr + "' (expected [v6addr]:port)";
      return false;
    }
    h = addr.substr(1, close - 1);
    p = addr.substr(close + 2);
  } else {
    auto colon = addr.rfind(':');
    if (colon == std::string::npos) {
      *error = "bad address '" + addr + "' (expected host:port, e.g. 127.0.0.1:18080)";
      return false;
    }
    h = addr.substr(0, colon);
    p = addr.substr(colon + 1);
  }
  char* end = nullptr;
  long v = strtol(p.c_str(), &end, 10);
  if (p.empty() || *end != '\0' || v < 0 || v > 65535) {
    *error = "bad port in address '" + addr + "'";
    return false;
  }
  *host = h.empty() ? "0.0.0.0" : h;
  *port = static_cast<int>(v);
  return true;
}

bool HttpServer::bind(std::string* error) {
  int port = 0;
  if (!parse_addr(opts_.addr, &host_, &port, error)) return false;
  if (port == 0) {
    port_ = svr_->bind_to_any_port(host_);
    if (port_ <= 0) {
      *error = "cannot listen on " + host_ + " (any port): " + strerror(errno);
      return false;
    }
  } else {
    if (!svr_->bind_to_port(host_, port)) {
      *error = "cannot listen on " + opts_.addr + ": " + strerror(errno) +
               " (is another agentsh server running? set server.http.addr in the config)";
      return false;
    }
    port_ = port;
  }
  // httplib listens with a backlog of 5 (compiled into the library): a burst of a few
  // more connections would have SYNs dropped and retried a second later. Linux lets a
  // listening socket's backlog be raised by calling listen() again.
  if (listen_fd_ >= 0) ::listen(listen_fd_, SOMAXCONN);
  return true;
}

std::string HttpServer::url() const {
  std::string h = host_ == "0.0.0.0" ? "127.0.0.1" : host_;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return "http://" + h + ":" + std::to_string(port_);
}

bool HttpServer::run() {
  return svr_->listen_after_bind();
}

void HttpServer::stop() {
  if (svr_) svr_->stop();
}

void HttpServer::reply_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                  "application/json");
}

void HttpServer::reply_error(httplib::Response& res, int status, const std::string& message) {
  reply_json(res, status, nlohmann::json{{"error", message}, {"status", status}});
}

}  // namespace agentsh
