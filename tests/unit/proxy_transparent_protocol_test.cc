#include "proxy/transparent_protocol.h"

#include <gtest/gtest.h>

#include <cstring>

namespace agentsh::proxy {
namespace {

IpAddress ip(const char* s) {
  IpAddress a;
  EXPECT_TRUE(IpAddress::parse(s, &a)) << s;
  return a;
}

TEST(ProxyTransparentProtocol, RoundTripV4AndV6) {
  uint8_t buf[transparent_protocol::kHeaderSize];
  ASSERT_TRUE(
      transparent_protocol::encode(ip("198.18.0.10"), 443, 4242, "Registry.NPM.example", buf));
  EXPECT_TRUE(transparent_protocol::looks_like_header(buf[0]));
  transparent_protocol::Header h;
  std::string err;
  ASSERT_TRUE(transparent_protocol::decode(
      std::string_view(reinterpret_cast<char*>(buf), sizeof(buf)), &h, &err))
      << err;
  EXPECT_EQ(h.address.to_string(), "198.18.0.10");
  EXPECT_EQ(h.port, 443);
  EXPECT_EQ(h.pid, 4242u);
  EXPECT_EQ(h.domain, "registry.npm.example");

  // A v4-mapped IPv6 destination is decided as IPv4.
  ASSERT_TRUE(transparent_protocol::encode(ip("2001:db8::1"), 80, 0, "", buf));
  uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254, 169, 254};
  std::memcpy(buf + 16, mapped, 16);
  ASSERT_TRUE(transparent_protocol::decode(
      std::string_view(reinterpret_cast<char*>(buf), sizeof(buf)), &h, &err));
  EXPECT_FALSE(h.address.v6);
  EXPECT_EQ(h.address.to_string(), "169.254.169.254");
  EXPECT_EQ(h.domain, "");
}

TEST(ProxyTransparentProtocol, RejectsBadHeaders) {
  uint8_t buf[transparent_protocol::kHeaderSize];
  transparent_protocol::Header h;
  std::string err;
  auto decode = [&] {
    return transparent_protocol::decode(std::string_view(reinterpret_cast<char*>(buf), sizeof(buf)),
                                        &h, &err);
  };
  ASSERT_TRUE(transparent_protocol::encode(ip("127.0.0.1"), 80, 1, "ok.example", buf));
  ASSERT_TRUE(decode());
  buf[7] = 2;  // version
  EXPECT_FALSE(decode());
  ASSERT_TRUE(transparent_protocol::encode(ip("127.0.0.1"), 80, 1, "ok.example", buf));
  buf[8] = 5;  // family
  EXPECT_FALSE(decode());
  ASSERT_TRUE(transparent_protocol::encode(ip("127.0.0.1"), 80, 1, "ok.example", buf));
  buf[10] = buf[11] = 0;  // port 0
  EXPECT_FALSE(decode());
  ASSERT_TRUE(transparent_protocol::encode(ip("127.0.0.1"), 80, 1, "bad name!", buf));
  EXPECT_FALSE(decode());
  EXPECT_FALSE(transparent_protocol::encode(ip("127.0.0.1"), 80, 1, std::string(256, 'a'), buf));
  EXPECT_FALSE(transparent_protocol::decode("short", &h, &err));
}

}  // namespace
}  // namespace agentsh::proxy
