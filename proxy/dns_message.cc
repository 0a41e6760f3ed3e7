#include "proxy/dns_message.h"

namespace agentsh::proxy::dns_message {
namespace {

constexpr uint16_t kFlagQr = 0x8000;
constexpr uint16_t kFlagTc = 0x0200;
constexpr uint16_t kFlagRd = 0x0100;
constexpr uint16_t kFlagRa = 0x0080;
constexpr int kMaxPointerJumps = 16;
constexpr size_t kMaxRecords = 256;

uint16_t rd16(const unsigned char* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
uint32_t rd32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
void put16(std::string* s, uint16_t v) {
  s->push_back(static_cast<char>(v >> 8));
  s->push_back(static_cast<char>(v & 0xff));
}
void put32(std::string* s, uint32_t v) {
  put16(s, static_cast<uint16_t>(v >> 16));
  put16(s, static_cast<uint16_t>(v & 0xffff));
}

// Reads the (possibly compressed) name at *pos; advances *pos past it in the packet.
// Labels are lower-cased; a label with a dot or a non-printable byte is refused (we
// could not write it back unambiguously, and no hostname has one).
bool read_name(std::string_view pkt, size_t* pos, std::string* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(pkt.data());
  out->clear();
  size_t cur = *pos;
  bool jumped = false;
  int jumps = 0;
  size_t wire_len = 1;
  while (true) {
    if (cur >= pkt.size()) return false;
    const uint8_t len = p[cur];
    if ((len & 0xc0) == 0xc0) {
      if (cur + 1 >= pkt.size()) return false;
      const size_t target = ((len & 0x3f) << 8) | p[cur + 1];
      if (target >= cur || ++jumps > kMaxPointerJumps) return false;  // backwards only
      if (!jumped) *pos = cur + 2;
      jumped = true;
      cur = target;
      continue;
    }
    if (len & 0xc0) return false;  // reserved label types
    if (len == 0) {
      if (!jumped) *pos = cur + 1;
      return true;
    }
    if (cur + 1 + len > pkt.size()) return false;
    wire_len += len + 1;
    if (wire_len > 255) return false;
    if (!out->empty()) out->push_back('.');
    for (size_t i = 0; i < len; ++i) {
      unsigned char c = p[cur + 1 + i];
      if (c <= 0x20 || c >= 0x7f || c == '.') return false;
      if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
      out->push_back(static_cast<char>(c));
    }
    cur += 1 + len;
  }
}

bool encode_name(std::string_view name, std::string* out) {
  if (name.empty()) {
    out->push_back(0);
    return true;
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    size_t end = dot == std::string_view::npos ? name.size() : dot;
    size_t len = end - start;
    if (len == 0 || len > 63) return false;
    out->push_back(static_cast<char>(len));
    out->append(name.substr(start, len));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  out->push_back(0);
  return true;
}

}  // namespace

ParseResult parse_query(std::string_view pkt, Query* out, std::string* error) {
  const auto* p = reinterpret_cast<const unsigned char*>(pkt.data());
  if (pkt.size() < kHeaderSize) {
    *error = "DNS packet shorter than a header";
    return ParseResult::kDrop;
  }
  out->id = rd16(p);
  out->flags = rd16(p + 2);
  if (out->flags & kFlagQr) {
    *error = "DNS response sent as a query";
    return ParseResult::kDrop;
  }
  if (((out->flags >> 11) & 0xf) != 0) {
    *error = "unsupported DNS opcode";
    return ParseResult::kNotImp;
  }
  if (rd16(p + 4) != 1 || rd16(p + 6) != 0 || rd16(p + 8) != 0) {
    *error = "a DNS query must carry exactly one question";
    return ParseResult::kFormErr;
  }
  size_t pos = kHeaderSize;
  if (!read_name(pkt, &pos, &out->question.name) || pos + 4 > pkt.size()) {
    *error = "malformed DNS question";
    return ParseResult::kFormErr;
  }
  out->question.qtype = rd16(p + pos);
  out->question.qclass = rd16(p + pos + 2);
  out->question_end = pos + 4;
  return ParseResult::kOk;
}

std::string make_response(std::string_view query_pkt, const Query& query, uint8_t rcode,
                          const std::vector<Answer>& answers) {
  std::string r;
  r.reserve(query.question_end + answers.size() * 32);
  put16(&r, query.id);
  put16(&r, static_cast<uint16_t>(kFlagQr | (query.flags & kFlagRd) | kFlagRa | (rcode & 0xf)));
  put16(&r, 1);
  put16(&r, static_cast<uint16_t>(answers.size()));
  put16(&r, 0);
  put16(&r, 0);
  r.append(query_pkt.substr(kHeaderSize, query.question_end - kHeaderSize));
  for (const auto& a : answers) {
    put16(&r, 0xc000 | kHeaderSize);  // owner: the question name
    put16(&r, a.type);
    put16(&r, kClassIn);
    put32(&r, a.ttl);
    put16(&r, static_cast<uint16_t>(a.rdata.size()));
    r += a.rdata;
  }
  return r;
}

std::string make_header_only(uint16_t id, uint16_t query_flags, uint8_t rcode) {
  std::string r;
  put16(&r, id);
  put16(&r, static_cast<uint16_t>(kFlagQr | (query_flags & (kFlagRd | 0x7800)) | kFlagRa |
                                  (rcode & 0xf)));
  for (int i = 0; i < 4; ++i) put16(&r, 0);
  return r;
}

std::string build_query(uint16_t id, std::string_view name, uint16_t qtype) {
  std::string q;
  put16(&q, id);
  put16(&q, kFlagRd);
  put16(&q, 1);
  put16(&q, 0);
  put16(&q, 0);
  put16(&q, 0);
  if (!encode_name(name, &q)) return {};
  put16(&q, qtype);
  put16(&q, kClassIn);
  return q;
}

bool parse_response(std::string_view pkt, Response* out, std::string* error) {
  const auto* p = reinterpret_cast<const unsigned char*>(pkt.data());
  if (pkt.size() < kHeaderSize) {
    *error = "DNS response shorter than a header";
    return false;
  }
  out->id = rd16(p);
  out->flags = rd16(p + 2);
  if (!(out->flags & kFlagQr)) {
    *error = "not a DNS response";
    return false;
  }
  out->rcode = out->flags & 0xf;
  out->truncated = out->flags & kFlagTc;
  const uint16_t qd = rd16(p + 4), an = rd16(p + 6);
  if (qd != 1) {
    *error = "DNS response without exactly one question";
    return false;
  }
  size_t pos = kHeaderSize;
  if (!read_name(pkt, &pos, &out->question.name) || pos + 4 > pkt.size()) {
    *error = "malformed question in DNS response";
    return false;
  }
  out->question.qtype = rd16(p + pos);
  out->question.qclass = rd16(p + pos + 2);
  pos += 4;
  out->answers.clear();
  for (uint16_t i = 0; i < an && i < kMaxRecords; ++i) {
    Record rec;
    if (!read_name(pkt, &pos, &rec.name) || pos + 10 > pkt.size()) {
      // A truncated response may end mid-record: keep what was complete.
      if (out->truncated) break;
      *error = "malformed answer record";
      return false;
    }
    rec.type = rd16(p + pos);
    rec.klass = rd16(p + pos + 2);
    rec.ttl = rd32(p + pos + 4);
    const uint16_t rdlen = rd16(p + pos + 8);
    pos += 10;
    if (pos + rdlen > pkt.size()) {
      if (out->truncated) break;
      *error = "answer record overruns the packet";
      return false;
    }
    rec.rdata.assign(pkt.substr(pos, rdlen));
    pos += rdlen;
    if (rec.ttl & 0x80000000u) rec.ttl = 0;  // RFC 2181 §8: treat as zero
    out->answers.push_back(std::move(rec));
  }
  return true;
}

uint16_t get_id(std::string_view pkt) {
  if (pkt.size() < 2) return 0;
  return rd16(reinterpret_cast<const unsigned char*>(pkt.data()));
}

void set_id(std::string* pkt, uint16_t id) {
  if (pkt->size() < 2) return;
  (*pkt)[0] = static_cast<char>(id >> 8);
  (*pkt)[1] = static_cast<char>(id & 0xff);
}

}  // namespace agentsh::proxy::dns_message
