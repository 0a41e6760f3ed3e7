// Test data for the proxy's TLS ClientHello handling: a ClientHello captured from
// `openssl s_client -servername registry.npm.example`, and a builder for synthetic ones
// (any SNI, split over several records, extra extensions). Shared by the unit and
// integration tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentsh::proxy::testdata {

inline std::string from_hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    auto v = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
    out.push_back(static_cast<char>(v(hex[i]) * 16 + v(hex[i + 1])));
  }
  return out;
}

// OpenSSL 3 ClientHello, SNI "registry.npm.example", one record of 326 bytes.
inline std::string openssl_client_hello() {
  return from_hex(
      "16030101410100013d03035e6bfdff9197e562a80026b61c89b7027e5044abf614cd5e3cc7b9da677dd19020d44b"
      "80b5"
      "30dab4fa1b29b027f5d442da4110c90c267791d0d36e54fce60f4b65003e130213031301c02cc030009fcca9cca8"
      "ccaa"
      "c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff0100"
      "00b6"
      "00000019001700001472656769737472792e6e706d2e6578616d706c65000b000403000102000a00160014001d00"
      "1700"
      "1e0019001801000101010201030104002300000016000000170000000d002a002804030503060308070808080908"
      "0a08"
      "0b080408050806040105010601030303010302040205020602002b0009080304030303020301002d000201010033"
      "0026"
      "0024001d002025edc3c0b0691a4677f3712253b9c24f264fad4382ecf99f240fe98b4f1a295d");
}

inline std::string to_hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

inline void put16(std::string* s, size_t v) {
  s->push_back(static_cast<char>((v >> 8) & 0xff));
  s->push_back(static_cast<char>(v & 0xff));
}

struct Extension {
  uint16_t type;
  std::string data;
};

inline Extension sni_extension(std::string_view name) {
  std::string d;
  put16(&d, name.size() + 3);
  d.push_back(0);
  put16(&d, name.size());
  d.append(name);
  return {0, d};
}

// A syntactically valid TLS 1.2-style ClientHello carrying `exts`, split into records of
// at most `record_size` bytes of handshake data.
inline std::string client_hello(const std::vector<Extension>& exts, size_t record_size = 16384,
                                bool with_ext_block = true) {
  std::string body;
  put16(&body, 0x0303);
  body.append(32, '\x11');  // random
  body.push_back(0);        // session id
  put16(&body, 4);          // two cipher suites
  put16(&body, 0x1301);
  put16(&body, 0xc02f);
  body.push_back(1);
  body.push_back(0);  // null compression
  if (with_ext_block) {
    std::string e;
    for (const auto& x : exts) {
      put16(&e, x.type);
      put16(&e, x.data.size());
      e += x.data;
    }
    put16(&body, e.size());
    body += e;
  }
  std::string hs;
  hs.push_back(1);
  hs.push_back(static_cast<char>((body.size() >> 16) & 0xff));
  put16(&hs, body.size() & 0xffff);
  hs += body;
  std::string out;
  for (size_t off = 0; off < hs.size(); off += record_size) {
    size_t n = std::min(record_size, hs.size() - off);
    out.push_back(22);
    put16(&out, 0x0301);
    put16(&out, n);
    out.append(hs, off, n);
  }
  return out;
}

inline std::string client_hello_with_sni(std::string_view sni, size_t record_size = 16384) {
  return client_hello({{0x000a, std::string("\x00\x02\x00\x1d", 4)},
                       sni_extension(sni),
                       {0x0010, std::string("\x00\x09\x08http/1.1", 11)}},
                      record_size);
}

}  // namespace agentsh::proxy::testdata
