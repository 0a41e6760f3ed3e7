#include "proxy/client_hello.h"

#include <gtest/gtest.h>

#include "tests/unit/proxy_tls_testdata.h"

namespace agentsh::proxy {
namespace {

using client_hello::Status;
namespace td = testdata;

Status parse(const std::string& data, client_hello::Info* info, std::string* err = nullptr) {
  std::string e;
  return client_hello::parse(data, info, err ? err : &e);
}

TEST(ProxyClientHello, RealOpenSslHello) {
  std::string ch = td::openssl_client_hello();
  client_hello::Info info;
  ASSERT_EQ(parse(ch, &info), Status::kOk);
  EXPECT_TRUE(info.has_sni);
  EXPECT_EQ(info.sni, "registry.npm.example");
  EXPECT_EQ(info.record_bytes, ch.size());
  EXPECT_EQ(info.record_version, 0x0301);
}

TEST(ProxyClientHello, EveryPrefixNeedsMore) {
  std::string ch = td::openssl_client_hello();
  client_hello::Info info;
  for (size_t n = 1; n < ch.size(); ++n)
    ASSERT_EQ(parse(ch.substr(0, n), &info), Status::kNeedMore) << "prefix " << n;
  // Bytes after the hello (the client's next record) do not disturb it.
  ASSERT_EQ(parse(ch + "\x17\x03\x03\x00\x01X", &info), Status::kOk);
  EXPECT_EQ(info.record_bytes, ch.size());
}

TEST(ProxyClientHello, SyntheticAcrossManyRecords) {
  std::string ch = td::client_hello_with_sni("api.example.com", 7);
  client_hello::Info info;
  ASSERT_EQ(parse(ch, &info), Status::kOk);
  EXPECT_EQ(info.sni, "api.example.com");
  EXPECT_EQ(info.record_bytes, ch.size());
  for (size_t n = 1; n < ch.size(); ++n)
    ASSERT_EQ(parse(ch.substr(0, n), &info), Status::kNeedMore) << "prefix " << n;
}

TEST(ProxyClientHello, NoSniAndNoExtensions) {
  client_hello::Info info;
  ASSERT_EQ(parse(td::client_hello({{0x000a, std::string("\x00\x02\x00\x1d", 4)}}), &info),
            Status::kOk);
  EXPECT_FALSE(info.has_sni);
  ASSERT_EQ(parse(td::client_hello({}, 16384, false), &info), Status::kOk);
  EXPECT_FALSE(info.has_sni);
}

TEST(ProxyClientHello, NotTls) {
  client_hello::Info info;
  EXPECT_EQ(parse("GET / HTTP/1.1\r\n", &info), Status::kNotTls);
  EXPECT_EQ(parse("SSH-2.0-OpenSSH\r\n", &info), Status::kNotTls);
  EXPECT_EQ(parse(std::string("\x80\x2e\x01", 3), &info), Status::kNotTls);  // SSLv2 hello
}

TEST(ProxyClientHello, Malformed) {
  client_hello::Info info;
  std::string err;
  // Wrong record version major.
  EXPECT_EQ(parse(std::string("\x16\x09", 2), &info, &err), Status::kMalformed);
  // A handshake that is not a ClientHello (ServerHello = 2).
  EXPECT_EQ(parse(std::string("\x16\x03\x01\x00\x04\x02\x00\x00\x00", 9), &info, &err),
            Status::kMalformed);
  // Zero-length record.
  EXPECT_EQ(parse(std::string("\x16\x03\x01\x00\x00", 5), &info, &err), Status::kMalformed);
  // Oversized record.
  EXPECT_EQ(parse(std::string("\x16\x03\x01\x48\x01", 5), &info, &err), Status::kMalformed);
  // Declared handshake larger than we accept.
  EXPECT_EQ(parse(std::string("\x16\x03\x01\x00\x04\x01\x01\x00\x00", 9), &info, &err),
            Status::kMalformed);
  // Hello body too short for its fields.
  EXPECT_EQ(parse(std::string("\x16\x03\x01\x00\x06\x01\x00\x00\x02\x03\x03", 11), &info, &err),
            Status::kMalformed);
  EXPECT_FALSE(err.empty());
  // A record of another type in the middle of the hello.
  std::string split = td::client_hello_with_sni("a.example", 20);
  split[25] = 23;  // second record header → application_data
  EXPECT_EQ(parse(split, &info, &err), Status::kMalformed);
}

TEST(ProxyClientHello, MalformedExtensions) {
  client_hello::Info info;
  std::string err;
  // Duplicate extension.
  EXPECT_EQ(
      parse(td::client_hello({td::sni_extension("a.example"), td::sni_extension("b.example")}),
            &info, &err),
      Status::kMalformed);
  EXPECT_EQ(err, "duplicate extension");
  // server_name list length disagrees with the extension.
  td::Extension bad = td::sni_extension("a.example");
  bad.data[1] ^= 1;
  EXPECT_EQ(parse(td::client_hello({bad}), &info, &err), Status::kMalformed);
  // A host name with a NUL / a space in it.
  EXPECT_EQ(
      parse(td::client_hello({td::sni_extension(std::string("a\0b.example", 11))}), &info, &err),
      Status::kMalformed);
  EXPECT_EQ(parse(td::client_hello({td::sni_extension("a b.example")}), &info, &err),
            Status::kMalformed);
  // Empty server_name extension.
  EXPECT_EQ(parse(td::client_hello({{0, ""}}), &info, &err), Status::kMalformed);
  // Extensions block length lies.
  std::string ch = td::client_hello_with_sni("a.example");
  ch[5 + 4 + 2 + 32 + 1 + 2 + 4 + 2 + 1] ^= 0x01;
  EXPECT_EQ(parse(ch, &info, &err), Status::kMalformed);
}

TEST(ProxyClientHello, RewriteSniReplacesAndStaysParseable) {
  std::string ch = td::openssl_client_hello();
  std::string out, err;
  ASSERT_TRUE(client_hello::rewrite_sni(ch, "mirror.internal.example", &out, &err)) << err;
  client_hello::Info info;
  ASSERT_EQ(parse(out, &info), Status::kOk);
  EXPECT_EQ(info.sni, "mirror.internal.example");
  EXPECT_EQ(info.record_bytes, out.size());
  EXPECT_EQ(out.size(), ch.size() + 3);  // the name grew by 3 bytes
  // Everything but the server name is kept: the cipher suites are still there.
  EXPECT_NE(out.find(std::string("\x13\x02\x13\x03\x13\x01", 6)), std::string::npos);
}

TEST(ProxyClientHello, RewriteSniAddsWhenMissingAndDropsPsk) {
  std::string ch = td::client_hello({{41, std::string(10, 'p')}, {42, ""}, {0x0a, "\x00\x00"}});
  std::string out, err;
  ASSERT_TRUE(client_hello::rewrite_sni(ch, "new.example", &out, &err)) << err;
  client_hello::Info info;
  ASSERT_EQ(parse(out, &info), Status::kOk);
  EXPECT_EQ(info.sni, "new.example");
  EXPECT_EQ(out.find(std::string(10, 'p')), std::string::npos);  // pre_shared_key gone
  EXPECT_FALSE(client_hello::rewrite_sni(ch, "bad name", &out, &err));
  EXPECT_FALSE(client_hello::rewrite_sni("garbage", "x.example", &out, &err));
}

TEST(ProxyClientHello, FatalAlert) {
  EXPECT_EQ(client_hello::fatal_alert(49), std::string("\x15\x03\x03\x00\x02\x02\x31", 7));
}

}  // namespace
}  // namespace agentsh::proxy
