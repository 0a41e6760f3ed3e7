// A fake LLM provider served over TLS (certificate from its own test CA, for any SNI),
// and the canned OpenAI / Anthropic responses it sends. Shared by the llm_* integration
// tests. Keep-alive; answers by path and by the request body's "model" / "stream":
//   "truncate-me": a JSON body cut short, then close;   "big": 4 MiB of content;
//   "leak": a secret in the answer (JSON gzip-compressed although identity was asked;
//           SSE with the secret spread over 7-byte chunks);   "gated": first event, then
//   wait for release().
// Threading: the server thread serves; accessors lock.
#pragma once

#include <zlib.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "proxy/ca_store.h"
#include "proxy/tls_leaf_cache.h"
#include "proxy/tls_server_context.h"
#include "proxy/tls_server_session.h"
#include "tests/integration/proxy_support.h"

namespace agentsh::proxy::testing {

inline std::string chunk(const std::string& s) {
  char hex[16];
  snprintf(hex, sizeof hex, "%zx", s.size());
  return std::string(hex) + "\r\n" + s + "\r\n";
}

inline const char* kOpenAiJson =
    R"({"id":"chatcmpl-9","object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":17,"completion_tokens":3,"total_tokens":20}})";

inline std::string openai_sse() {
  return "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"
         "\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n"
         "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"
         "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
         "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":"
         "{\"prompt_tokens\":31,\"completion_tokens\":2,\"total_tokens\":33}}\n\n"
         "data: [DONE]\n\n";
}

inline std::string anthropic_sse() {
  return "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
         "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\","
         "\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":25,"
         "\"output_tokens\":1}}}\n\n"
         "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
         "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
         "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
         "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
         "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
         "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
         "\"end_turn\"},\"usage\":{\"output_tokens\":12}}\n\n"
         "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
}

inline const char* kLeakJson =
    R"({"id":"chatcmpl-L","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"use AKIAIOSFODNN7EXAMPLE"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}})";
inline const char* kLeakSse =
    "data: {\"id\":\"c2\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":"
    "{\"content\":\"key AKIAIOSFODNN7EXAMPLE\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c2\",\"model\":\"gpt-4o\",\"choices\":[],\"usage\":"
    "{\"prompt_tokens\":8,\"completion_tokens\":5,\"total_tokens\":13}}\n\n"
    "data: [DONE]\n\n";

inline const char* kAnthropicLeakJson =
    R"({"id":"msg_L","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"use AKIAIOSFODNN7EXAMPLE"}],"stop_reason":"end_turn","usage":{"input_tokens":21,"output_tokens":6}})";
inline std::string anthropic_leak_sse() {
  std::string s = anthropic_sse();
  const std::string hello = "\"text\":\"Hello\"";
  s.replace(s.find(hello), hello.size(), "\"text\":\"key AKIAIOSFODNN7EXAMPLE\"");
  const std::string in = "\"input_tokens\":25", out = "\"output_tokens\":12";
  s.replace(s.find(in), in.size(), "\"input_tokens\":23");
  s.replace(s.find(out), out.size(), "\"output_tokens\":9");
  return s;
}

inline std::string gzip_bytes(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = uInt(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// A fake LLM provider over TLS (certificate from its own test CA, for any SNI).
// Keep-alive; answers by path and by the body's "model" / "stream".
class FakeProvider {
 public:
  // Listens on ip:443 (a test namespace's address).
  explicit FakeProvider(const std::filesystem::path& dir, const std::string& ip = "127.0.0.1") {
    std::string err;
    ca_ = CaStore::open(dir, &err);
    if (ca_) leaves_ = TlsLeafCache::create(*ca_, 8, &err);
    if (leaves_) ctx_ = TlsServerContext::create(*leaves_, &err);
    error_ = err;
    if (ctx_)
      server_ = std::make_unique<TcpServer>(
          ip, [this](int fd) { serve(fd); }, 443);
  }
  bool ok() const { return server_ && server_->ok(); }
  const std::string& error() const { return error_; }
  std::string ca_file() const { return ca_->cert_path(); }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  // "gated" streams send their first event, then wait for release() (bounded, longer
  // than the test client's 10 s receive timeout, so a buffering proxy fails the test).
  void release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  std::vector<std::string> heads() {
    std::lock_guard<std::mutex> lock(mu_);
    return heads_;
  }

 private:
  void serve(int fd) {
    std::string err;
    auto tls = TlsServerSession::create(*ctx_, "api.openai.com", &err);
    if (!tls) return;
    std::string plain;
    char buf[16384];
    while (true) {
      size_t head_end = plain.find("\r\n\r\n");
      size_t need = 0;
      if (head_end != std::string::npos) {
        std::string head = plain.substr(0, head_end);
        std::string lower = head;
        for (auto& ch : lower) ch = char(tolower(ch));
        size_t cl = lower.find("content-length:");
        need = cl == std::string::npos ? 0 : std::stoul(lower.substr(cl + 15));
        if (plain.size() >= head_end + 4 + need) {
          std::string body = plain.substr(head_end + 4, need);
          plain.erase(0, head_end + 4 + need);
          {
            std::lock_guard<std::mutex> lock(mu_);
            heads_.push_back(head);
            bodies_.push_back(body);
          }
          if (!respond(fd, *tls, head, body)) return;
          continue;
        }
      }
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return;
      tls->feed(buf, size_t(n));
      auto r = tls->read(&plain);
      if (!send_all(fd, tls->take_outgoing())) return;
      if (r == TlsSession::Result::kError || r == TlsSession::Result::kClosed) return;
    }
  }
  static bool put(int fd, TlsSession& tls, const std::string& s) {
    return tls.write(s) == TlsSession::Result::kOk && send_all(fd, tls.take_outgoing());
  }
  // False: close the connection.
  bool respond(int fd, TlsSession& tls, const std::string& head, const std::string& body) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    std::string model = j.is_object() ? j.value("model", "") : "";
    bool stream = j.is_object() && j.value("stream", false);
    bool anthropic = head.find(" /v1/messages ") != std::string::npos;
    if (model == "truncate-me") {
      put(fd, tls,
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n"
          "\r\n{\"id\":\"chatcmpl-t\",\"model\":\"gpt");
      tls.close();
      send_all(fd, tls.take_outgoing());
      return false;
    }
    if (model == "leak" && !stream) {
      // The model echoes a secret; the provider compresses although asked not to.
      std::string b = anthropic ? std::string(kAnthropicLeakJson) : std::string(kLeakJson);
      std::string z = gzip_bytes(b);
      return put(fd, tls,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                 "Content-Length: " +
                     std::to_string(z.size()) + "\r\n\r\n" + z);
    }
    if (model == "leak" && stream) {
      if (!put(fd, tls,
               "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
               "Transfer-Encoding: chunked\r\n\r\n"))
        return false;
      const std::string s = anthropic ? anthropic_leak_sse() : std::string(kLeakSse);
      for (size_t i = 0; i < s.size(); i += 7)  // the secret crosses many chunks
        if (!put(fd, tls, chunk(s.substr(i, 7)))) return false;
      return put(fd, tls, "0\r\n\r\n");
    }
    if (model == "big" && !stream) {
      // 4 MiB of content: more than every buffer on the way (backpressure both ways).
      std::string b =
          R"({"id":"chatcmpl-b","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":")" +
          std::string(4u << 20, 'x') +
          R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1048576}})";
      return put(fd, tls,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(b.size()) + "\r\n\r\n" + b);
    }
    if (!stream) {
      std::string b =
          anthropic
              ? R"({"id":"msg_2","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","usage":{"input_tokens":40,"output_tokens":7}})"
              : kOpenAiJson;
      return put(fd, tls,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(b.size()) + "\r\n\r\n" + b);
    }
    if (!put(fd, tls,
             "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
             "Transfer-Encoding: chunked\r\n\r\n"))
      return false;
    std::string s = anthropic ? anthropic_sse() : openai_sse();
    if (model == "gated") {
      const size_t first = s.find("\n\n") + 2;
      if (!put(fd, tls, chunk(s.substr(0, first)))) return false;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, std::chrono::seconds(20), [&] { return released_; });
      }
      s.erase(0, first);
    }
    for (size_t i = 0; i < s.size(); i += 50)
      if (!put(fd, tls, chunk(s.substr(i, 50)))) return false;
    return put(fd, tls, "0\r\n\r\n");
  }

  std::string error_;
  std::unique_ptr<CaStore> ca_;
  std::unique_ptr<TlsLeafCache> leaves_;
  std::unique_ptr<TlsServerContext> ctx_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::vector<std::string> bodies_, heads_;
  std::unique_ptr<TcpServer> server_;  // last: stops (joins) before the rest goes
};

}  // namespace agentsh::proxy::testing
