// DNS wire format (RFC 1035), just what the DNS proxy and the upstream resolver need:
// parse a client query, answer it (NXDOMAIN, redirect, error), build a query, read the
// answers of a response. Every read is bounds-checked; compression pointers may only
// point backwards and are followed a bounded number of times. Pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentsh::proxy::dns_message {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kClassIn = 1;

inline constexpr uint8_t kNoError = 0;
inline constexpr uint8_t kFormErr = 1;
inline constexpr uint8_t kServFail = 2;
inline constexpr uint8_t kNxDomain = 3;
inline constexpr uint8_t kNotImp = 4;
inline constexpr uint8_t kRefused = 5;

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxUdp = 4096;  // what we accept from upstream / clients

struct Question {
  std::string name;  // lower-case, dotted, no trailing dot ("" = the root)
  uint16_t qtype = 0;
  uint16_t qclass = 0;
};

struct Query {
  uint16_t id = 0;
  uint16_t flags = 0;
  Question question;
  size_t question_end = 0;  // offset just past the question in the packet
};

enum class ParseResult : uint8_t {
  kOk,
  kDrop,     // not even a header (or a response): nothing sensible to answer
  kFormErr,  // answer FORMERR
  kNotImp,   // answer NOTIMP (an opcode other than QUERY)
};

// Parses a client query: QR=0, OPCODE=QUERY, exactly one question.
ParseResult parse_query(std::string_view pkt, Query* out, std::string* error);

struct Answer {
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::string rdata;  // 4 bytes for A, 16 for AAAA
};

// A response to `query` (from packet `query_pkt`): its id, RD bit and question, our
// rcode and answers (owner name = the question, by compression pointer).
std::string make_response(std::string_view query_pkt, const Query& query, uint8_t rcode,
                          const std::vector<Answer>& answers);
// A header-only error response (when the question could not be read).
std::string make_header_only(uint16_t id, uint16_t query_flags, uint8_t rcode);

// A recursive (RD) query for `name`, class IN.
std::string build_query(uint16_t id, std::string_view name, uint16_t qtype);

struct Record {
  std::string name;
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  std::string rdata;
};

struct Response {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint8_t rcode = 0;
  bool truncated = false;
  Question question;  // the first question (responses we accept carry exactly one)
  std::vector<Record> answers;
};

bool parse_response(std::string_view pkt, Response* out, std::string* error);

uint16_t get_id(std::string_view pkt);
void set_id(std::string* pkt, uint16_t id);

}  // namespace agentsh::proxy::dns_message
