// common/resolver_daemon_sockets.h: which spellings are listed, and which final
// components make the hook/tracer compare by device and inode.
#include <gtest/gtest.h>

#include "common/resolver_daemon_sockets.h"

namespace agentsh {
namespace {

namespace rds = resolver_daemon_sockets;

TEST(DnsUnixSockets, BothSpellingsOfEachDaemonAreListed) {
  for (const char* p :
       {"/run/nscd/socket", "/var/run/nscd/socket", "/run/systemd/resolve/io.systemd.Resolve",
        "/var/run/systemd/resolve/io.systemd.Resolve"})
    EXPECT_TRUE(rds::is_listed(p)) << p;
  for (const char* p :
       {"/run/nscd/socket/", "//run/nscd/socket", "run/nscd/socket", "/run/nscd/sock",
        "/run/systemd/resolve/io.systemd.Resolve.Monitor", "/run/dbus/system_bus_socket", ""})
    EXPECT_FALSE(rds::is_listed(p)) << p;
}

TEST(DnsUnixSockets, OnlyMatchingFinalComponentsAreWorthAStat) {
  EXPECT_TRUE(rds::may_name_one("socket"));
  EXPECT_TRUE(rds::may_name_one("../nscd/socket"));
  EXPECT_TRUE(rds::may_name_one("/tmp/alias/io.systemd.Resolve"));
  EXPECT_FALSE(rds::may_name_one("/run/dbus/system_bus_socket"));
  EXPECT_FALSE(rds::may_name_one("/var/run/docker.sock"));
  EXPECT_FALSE(rds::may_name_one("/run/nscd/"));
  EXPECT_FALSE(rds::may_name_one(""));
}

TEST(DnsUnixSockets, BaseName) {
  EXPECT_STREQ(rds::base_name("/run/nscd/socket"), "socket");
  EXPECT_STREQ(rds::base_name("socket"), "socket");
  EXPECT_STREQ(rds::base_name("/run/nscd/"), "");
}

}  // namespace
}  // namespace agentsh
