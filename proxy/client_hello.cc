#include "proxy/client_hello.h"

#include <vector>

namespace agentsh::proxy::client_hello {
namespace {

constexpr uint8_t kHandshakeRecord = 22;
constexpr uint8_t kClientHello = 1;
constexpr size_t kMaxRecord = 16384;
constexpr uint16_t kExtServerName = 0;
constexpr uint16_t kExtPreSharedKey = 41;
constexpr uint16_t kExtEarlyData = 42;
constexpr uint16_t kExtEch = 0xfe0d;

uint16_t u16(const unsigned char* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

// A bounds-checked cursor over the handshake body.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool u8(uint8_t* v) {
    if (left() < 1) return false;
    *v = static_cast<uint8_t>(s_[pos_++]);
    return true;
  }
  bool u16v(uint16_t* v) {
    if (left() < 2) return false;
    *v = u16(reinterpret_cast<const unsigned char*>(s_.data() + pos_));
    pos_ += 2;
    return true;
  }
  bool bytes(size_t n, std::string_view* out) {
    if (left() < n) return false;
    *out = s_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  size_t left() const { return s_.size() - pos_; }
  size_t pos() const { return pos_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

bool valid_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

// Reassembles the handshake message from the records at the start of `data`.
Status reassemble(std::string_view data, std::string* hs, size_t* record_bytes,
                  uint16_t* record_version, std::string* error) {
  const auto* d = reinterpret_cast<const unsigned char*>(data.data());
  if (data.empty()) return Status::kNeedMore;
  if (d[0] != kHandshakeRecord) return Status::kNotTls;
  hs->clear();
  size_t pos = 0;
  while (true) {
    const size_t avail = data.size() - pos;
    if (avail >= 1 && d[pos] != kHandshakeRecord) {
      *error = "unexpected TLS record type inside ClientHello";
      return Status::kMalformed;
    }
    if (avail >= 2 && d[pos + 1] != 3) {
      *error = "bad TLS record version";
      return Status::kMalformed;
    }
    if (avail < 5) return Status::kNeedMore;
    if (pos == 0) *record_version = u16(d + 1);
    const size_t len = u16(d + pos + 3);
    if (len == 0 || len > kMaxRecord) {
      *error = "bad TLS record length";
      return Status::kMalformed;
    }
    const size_t body_avail = std::min(len, avail - 5);
    // Validate what we already have of the handshake header before waiting for more.
    std::string_view part = data.substr(pos + 5, body_avail);
    const size_t had = hs->size();
    hs->append(part);
    if (had == 0 && !hs->empty() && static_cast<uint8_t>((*hs)[0]) != kClientHello) {
      *error = "first handshake message is not a ClientHello";
      return Status::kMalformed;
    }
    if (hs->size() >= 4) {
      const auto* h = reinterpret_cast<const unsigned char*>(hs->data());
      const size_t hlen = (size_t{h[1]} << 16) | (size_t{h[2]} << 8) | h[3];
      if (hlen > kMaxHandshake) {
        *error = "ClientHello too large";
        return Status::kMalformed;
      }
      if (hs->size() > 4 + hlen) {
        *error = "trailing data after ClientHello";
        return Status::kMalformed;
      }
      if (body_avail < len) return Status::kNeedMore;
      if (hs->size() == 4 + hlen) {
        *record_bytes = pos + 5 + len;
        return Status::kOk;
      }
    } else if (body_avail < len) {
      return Status::kNeedMore;
    }
    pos += 5 + len;
  }
}

struct Parsed {
  size_t ext_block = 0;     // offset in body of the extensions length (0 = none)
  size_t sni_ext_off = 0;   // offset in body of the server_name extension header
  size_t sni_ext_size = 0;  // header + data
  bool has_ext = false;
};

Status parse_body(std::string_view body, Info* info, Parsed* parsed, std::string* error) {
  Reader r(body);
  uint16_t version;
  std::string_view skip;
  uint8_t n8;
  uint16_t n16;
  auto bad = [&](const char* what) {
    *error = what;
    return Status::kMalformed;
  };
  if (!r.u16v(&version) || (version >> 8) != 3) return bad("bad ClientHello version");
  if (!r.bytes(32, &skip)) return bad("truncated ClientHello random");
  if (!r.u8(&n8) || n8 > 32 || !r.bytes(n8, &skip)) return bad("bad session id");
  if (!r.u16v(&n16) || n16 < 2 || (n16 & 1) || !r.bytes(n16, &skip))
    return bad("bad cipher suites");
  if (!r.u8(&n8) || n8 < 1 || !r.bytes(n8, &skip)) return bad("bad compression methods");
  if (r.left() == 0) return Status::kOk;  // no extensions at all (allowed before TLS 1.3)
  parsed->has_ext = true;
  parsed->ext_block = r.pos();
  if (!r.u16v(&n16) || n16 != r.left()) return bad("bad extensions length");
  std::vector<uint16_t> seen;
  while (r.left() > 0) {
    const size_t ext_off = r.pos();
    uint16_t type, len;
    std::string_view data;
    if (!r.u16v(&type) || !r.u16v(&len) || !r.bytes(len, &data)) return bad("truncated extension");
    for (uint16_t t : seen)
      if (t == type) return bad("duplicate extension");
    if (seen.size() < 64) seen.push_back(type);
    if (type != kExtServerName) continue;
    parsed->sni_ext_off = ext_off;
    parsed->sni_ext_size = 4 + len;
    Reader sr(data);
    uint16_t list_len;
    if (!sr.u16v(&list_len) || list_len != sr.left() || list_len == 0)
      return bad("bad server_name list");
    while (sr.left() > 0) {
      uint8_t name_type;
      uint16_t name_len;
      std::string_view name;
      if (!sr.u8(&name_type) || !sr.u16v(&name_len) || !sr.bytes(name_len, &name))
        return bad("truncated server_name");
      if (name_type != 0) continue;
      if (info->has_sni) return bad("more than one host_name in server_name");
      if (name.empty() || name.size() > 255) return bad("bad host_name length");
      for (char c : name)
        if (!valid_host_char(c)) return bad("invalid character in SNI host_name");
      info->has_sni = true;
      info->sni.assign(name);
    }
  }
  return Status::kOk;
}

void put16(std::string* s, size_t v) {
  s->push_back(static_cast<char>((v >> 8) & 0xff));
  s->push_back(static_cast<char>(v & 0xff));
}

}  // namespace

Status parse(std::string_view data, Info* out, std::string* error) {
  *out = Info{};
  std::string hs;
  Status st = reassemble(data, &hs, &out->record_bytes, &out->record_version, error);
  if (st != Status::kOk) return st;
  Parsed parsed;
  return parse_body(std::string_view(hs).substr(4), out, &parsed, error);
}

bool rewrite_sni(std::string_view data, std::string_view new_sni, std::string* out,
                 std::string* error) {
  if (new_sni.empty() || new_sni.size() > 255) {
    *error = "bad replacement SNI";
    return false;
  }
  for (char c : new_sni) {
    if (!valid_host_char(c)) {
      *error = "invalid character in replacement SNI";
      return false;
    }
  }
  Info info;
  std::string hs;
  if (reassemble(data, &hs, &info.record_bytes, &info.record_version, error) != Status::kOk) {
    if (error->empty()) *error = "incomplete ClientHello";
    return false;
  }
  std::string_view body = std::string_view(hs).substr(4);
  Parsed parsed;
  if (parse_body(body, &info, &parsed, error) != Status::kOk) return false;

  std::string sni_ext;
  put16(&sni_ext, kExtServerName);
  put16(&sni_ext, new_sni.size() + 5);
  put16(&sni_ext, new_sni.size() + 3);
  sni_ext.push_back(0);  // host_name
  put16(&sni_ext, new_sni.size());
  sni_ext.append(new_sni);

  // New extension list: the old one with server_name replaced in place (or put first),
  // and without the extensions a changed ClientHello invalidates: pre_shared_key (its
  // binder covers the hello), early_data (needs the PSK) and ECH (its outer hello is
  // authenticated) — the server then simply does a full handshake.
  std::string exts;
  std::string_view prefix = parsed.has_ext ? body.substr(0, parsed.ext_block) : body;
  if (parsed.has_ext) {
    if (parsed.sni_ext_off == 0) exts += sni_ext;
    Reader r(body.substr(parsed.ext_block + 2));
    while (r.left() > 0) {
      const size_t off = parsed.ext_block + 2 + r.pos();
      uint16_t type = 0, len = 0;
      std::string_view d;
      r.u16v(&type);
      r.u16v(&len);
      r.bytes(len, &d);
      if (off == parsed.sni_ext_off) {
        exts += sni_ext;
        continue;
      }
      if (type == kExtPreSharedKey || type == kExtEarlyData || type == kExtEch) continue;
      exts.append(body.substr(off, 4 + len));
    }
  } else {
    exts = sni_ext;
  }
  if (exts.size() > 0xffff) {
    *error = "rewritten extensions too large";
    return false;
  }
  std::string new_body(prefix);
  put16(&new_body, exts.size());
  new_body += exts;

  std::string msg;
  msg.push_back(static_cast<char>(kClientHello));
  msg.push_back(static_cast<char>((new_body.size() >> 16) & 0xff));
  put16(&msg, new_body.size() & 0xffff);
  msg += new_body;

  out->clear();
  for (size_t off = 0; off < msg.size(); off += kMaxRecord) {
    const size_t n = std::min(kMaxRecord, msg.size() - off);
    out->push_back(static_cast<char>(kHandshakeRecord));
    put16(out, info.record_version);
    put16(out, n);
    out->append(msg, off, n);
  }
  return true;
}

std::string fatal_alert(uint8_t description) {
  return std::string("\x15\x03\x03\x00\x02\x02", 6) + static_cast<char>(description);
}

}  // namespace agentsh::proxy::client_hello
