// DLP throughput on realistic text: 100 MB of logs, source code and JSON with a few
// secrets sprinkled in, default detectors (all dlp.patterns on). Target: ≥ 300 MB/s on
// one core for the whole-buffer scan. Also: the streaming redactor fed 64 KiB chunks
// (command output), JSON-aware redaction of an LLM request body, and scanner build
// time with and without the compiled-database cache.
// No BENCHMARK_MAIN here: the bench binary's main lives in tests/bench/bench_main.cc.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "proxy/dlp_json_redactor.h"
#include "proxy/dlp_scanner.h"
#include "proxy/dlp_stream_redactor.h"

namespace agentsh::proxy {
namespace {

// Deterministic generator so every run scans the same bytes.
struct Rng {
  uint64_t s = 0x9E3779B97F4A7C15ull;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  size_t below(size_t n) { return size_t(next() % n); }
};

std::string hex(Rng& r, size_t n) {
  static const char k[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(k[r.below(16)]);
  return s;
}

std::string alnum(Rng& r, size_t n) {
  static const char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(k[r.below(62)]);
  return s;
}

const char* const kWords[] = {"request", "user",    "session", "token",  "cache",  "worker",
                              "handler", "timeout", "retry",   "commit", "branch", "build",
                              "deploy",  "config",  "value",   "result", "error",  "status"};

std::string log_line(Rng& r) {
  static const char* const kLevels[] = {"INFO", "DEBUG", "WARN", "ERROR"};
  static const char* const kPaths[] = {"/api/v1/users/", "/api/v1/orders/", "/healthz",
                                       "/static/app.js?v=", "/api/v2/search?q="};
  char buf[512];
  snprintf(buf, sizeof buf,
           "2024-05-%02zuT%02zu:%02zu:%02zu.%03zuZ %s [worker-%zu] request_id=%s-%s-%s "
           "method=GET path=%s%zu status=%zu latency_ms=%zu.%zu bytes=%zu ip=10.%zu.%zu.%zu "
           "ua=\"Mozilla/5.0 (X11; Linux x86_64)\" msg=\"%s %s completed\"\n",
           1 + r.below(28), r.below(24), r.below(60), r.below(60), r.below(1000),
           kLevels[r.below(4)], r.below(16), hex(r, 8).c_str(), hex(r, 4).c_str(),
           hex(r, 12).c_str(), kPaths[r.below(5)], r.below(100000), 200 + r.below(4) * 100,
           r.below(500), r.below(10), r.below(100000), r.below(256), r.below(256), r.below(256),
           kWords[r.below(18)], kWords[r.below(18)]);
  return buf;
}

std::string code_line(Rng& r) {
  static const char* const kLines[] = {
      "    for (size_t i = 0; i < items.size(); ++i) total += items[i].price * qty;\n",
      "def handle_request(self, request, *args, **kwargs):\n",
      "        return self.session.get(url, timeout=30, headers={'Accept': 'json'})\n",
      "import os, sys, json  # standard library only\n",
      "    if err != nil {\n        return fmt.Errorf(\"open %s: %w\", path, err)\n    }\n",
      "const result = await fetch(`${baseUrl}/items/${id}`, { method: 'POST' });\n",
      "// TODO(someone): remove this once the migration to v2 has landed\n",
      "    assert_eq!(parse(\"1.2.3\"), Ok(Version { major: 1, minor: 2, patch: 3 }));\n",
      "SELECT id, name, created_at FROM users WHERE org_id = $1 ORDER BY id LIMIT 100;\n",
      "    std::unique_ptr<Widget> w = std::make_unique<Widget>(parent, 0x7f3a);\n"};
  std::string s = kLines[r.below(10)];
  if (r.below(4) == 0) s += "    // sha256: " + hex(r, 64) + "\n";
  return s;
}

std::string json_line(Rng& r) {
  char buf[512];
  snprintf(buf, sizeof buf,
           "{\"id\": %zu, \"name\": \"%s_%s\", \"active\": %s, \"score\": %zu.%zu, "
           "\"tags\": [\"%s\", \"%s\"], \"created_at\": \"2024-0%zu-1%zuT10:00:00Z\", "
           "\"etag\": \"%s\", \"count\": %zu}\n",
           r.below(10000000), kWords[r.below(18)], kWords[r.below(18)],
           r.below(2) ? "true" : "false", r.below(100), r.below(100), kWords[r.below(18)],
           kWords[r.below(18)], 1 + r.below(9), r.below(10), hex(r, 32).c_str(), r.below(1000));
  return buf;
}

// One secret of a rotating kind.
std::string secret(Rng& r, int kind) {
  switch (kind % 8) {
    case 0:
      return "AWS_ACCESS_KEY_ID=AKIA" + std::string("IOSFODNN7EXAMPLE") + "\n";
    case 1:
      return "contact: jane.doe" + std::to_string(r.below(100)) + "@example.com\n";
    case 2:
      return "card 4111 1111 1111 1111 exp 12/29\n";
    case 3:
      return "token: ghp_" + alnum(r, 36) + "\n";
    case 4:
      return "OPENAI_API_KEY=sk-proj-" + alnum(r, 80) + "\n";
    case 5:
      return "ssn=078-05-1120 phone=415-555-2671\n";
    case 6:
      return "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0." +
             alnum(r, 43) + "\n";
    default:
      return "-----BEGIN EC PRIVATE KEY-----\n" + alnum(r, 64) + "\n" + alnum(r, 56) +
             "\n-----END EC PRIVATE KEY-----\n";
  }
}

size_t g_expected_findings = 0;  // secrets planted by corpus(), counted as it builds

const std::string& corpus() {
  static const std::string kCorpus = [] {
    Rng r;
    std::string s;
    constexpr size_t kSize = 100u << 20;
    s.reserve(kSize + 4096);
    size_t next_secret = 256 << 10;  // a few secrets: one every ~256 KiB (~400 total)
    int kind = 0;
    while (s.size() < kSize) {
      size_t pick = r.below(10);
      if (pick < 5)
        s += log_line(r);
      else if (pick < 8)
        s += code_line(r);
      else
        s += json_line(r);
      if (s.size() >= next_secret) {
        g_expected_findings += kind % 8 == 5 ? 2 : 1;  // kind 5 holds an SSN and a phone
        s += secret(r, kind++);
        next_secret += (128 << 10) + r.below(256 << 10);
      }
    }
    return s;
  }();
  return kCorpus;
}

const DlpScanner& scanner() {
  static const std::unique_ptr<DlpScanner> kScanner = [] {
    std::string err;
    auto s = DlpScanner::create(DlpOptions{}, &err);
    if (!s) {
      fprintf(stderr, "dlp_bench: %s\n", err.c_str());
      abort();
    }
    return s;
  }();
  return *kScanner;
}

void BM_DlpScanWholeBuffer(benchmark::State& state) {
  const std::string& text = corpus();
  const DlpScanner& s = scanner();
  size_t findings = 0;
  for (auto _ : state) {
    auto f = s.scan(text);
    findings = f.size();
    benchmark::DoNotOptimize(f.data());
  }
  if (findings != g_expected_findings)
    state.SkipWithError("scan did not find exactly the planted secrets");
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
  state.counters["findings"] = double(findings);
  state.counters["planted"] = double(g_expected_findings);
}
BENCHMARK(BM_DlpScanWholeBuffer)->Unit(benchmark::kMillisecond)->MinTime(3.0);

// The same detectors without Hyperscan: PCRE2-JIT passes once per rule over the text
// (numeric rules keep the digit prefilter); first 10 MB only. Why Hyperscan is here.
void BM_DlpScanPcre2Only(benchmark::State& state) {
  static const std::unique_ptr<DlpScanner> kSlow = [] {
    std::string err;
    DlpOptions o;
    o.use_hyperscan = false;
    return DlpScanner::create(o, &err);
  }();
  std::string_view text = std::string_view(corpus()).substr(0, 10u << 20);
  for (auto _ : state) {
    auto f = kSlow->scan(text);
    benchmark::DoNotOptimize(f.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
}
BENCHMARK(BM_DlpScanPcre2Only)->Unit(benchmark::kMillisecond);

void BM_DlpRedactWholeBuffer(benchmark::State& state) {
  const std::string& text = corpus();
  const DlpScanner& s = scanner();
  for (auto _ : state) {
    auto r = s.redact(text);
    benchmark::DoNotOptimize(r.text.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
}
BENCHMARK(BM_DlpRedactWholeBuffer)->Unit(benchmark::kMillisecond)->MinTime(3.0);

void BM_DlpStream64KiBChunks(benchmark::State& state) {
  const std::string& text = corpus();
  const DlpScanner& s = scanner();
  const size_t chunk = size_t(state.range(0));
  for (auto _ : state) {
    DlpStreamRedactor red(s);
    size_t out = 0;
    for (size_t i = 0; i < text.size(); i += chunk)
      out += red.feed(std::string_view(text).substr(i, chunk)).size();
    out += red.flush().size();
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
}
BENCHMARK(BM_DlpStream64KiBChunks)->Arg(64 << 10)->Arg(4 << 10)->Unit(benchmark::kMillisecond);

void BM_DlpJsonRequestBody(benchmark::State& state) {
  // An LLM chat request: 200 messages of mixed code/log text, a couple of secrets.
  static const std::string kBody = [] {
    Rng r;
    std::string b = "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[";
    for (int i = 0; i < 200; ++i) {
      std::string content;
      for (int k = 0; k < 20; ++k) content += (k % 2 ? code_line(r) : log_line(r));
      if (i % 50 == 7) content += secret(r, i);
      std::string esc;
      for (char c : content) {
        if (c == '"' || c == '\\') esc.push_back('\\');
        if (c == '\n') {
          esc += "\\n";
          continue;
        }
        esc.push_back(c);
      }
      b += std::string(i ? "," : "") + "{\"role\":\"" + (i % 2 ? "assistant" : "user") +
           "\",\"content\":\"" + esc + "\"}";
    }
    return b + "]}";
  }();
  const DlpScanner& s = scanner();
  for (auto _ : state) {
    auto r = dlp_json_redactor::redact(s, kBody);
    benchmark::DoNotOptimize(r.text.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(kBody.size()));
}
BENCHMARK(BM_DlpJsonRequestBody)->Unit(benchmark::kMicrosecond);

void BM_DlpScannerBuild(benchmark::State& state) {
  std::string dir;
  if (state.range(0)) {
    dir = "/tmp/agentsh-dlp-bench-cache-" + std::to_string(getpid());
    std::string err;
    DlpOptions warm;
    warm.cache_dir = dir;
    DlpScanner::create(warm, &err);  // fill the cache
  }
  for (auto _ : state) {
    std::string err;
    DlpOptions o;
    o.cache_dir = dir;
    auto s = DlpScanner::create(o, &err);
    benchmark::DoNotOptimize(s.get());
  }
  if (!dir.empty()) std::filesystem::remove_all(dir);
}
BENCHMARK(BM_DlpScannerBuild)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace agentsh::proxy
