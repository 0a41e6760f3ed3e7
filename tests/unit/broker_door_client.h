// The client side of the broker's datagram door, as the hook speaks it, for unit tests of
// the broker (common/broker_protocol.h): build a request and send it with or without a
// reply channel attached.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "agentsh/broker.h"
#include "common/scoped_fd.h"

namespace agentsh::broker_door_client {

// Header + payload: `parts` is resolved path, cwd, then argv (argc = parts.size() - 2).
inline std::string request(broker::MsgType type, uint32_t pid,
                           const std::vector<std::string>& parts) {
  std::string payload;
  for (const auto& p : parts) {
    payload += p;
    payload.push_back('\0');
  }
  broker::RequestHeader h{};
  h.magic = broker::kMagic;
  h.type = type;
  h.pid = pid;
  h.payload_len = static_cast<uint32_t>(payload.size());
  h.argc = static_cast<uint32_t>(parts.size() - 2);
  return std::string(reinterpret_cast<const char*>(&h), sizeof h) + payload;
}

// Sends `msg` to the door of the broker listening at `socket_path` with `fd` attached
// (-1: none). Returns 0 or sendmsg's errno.
inline int send(const std::string& socket_path, const std::string& msg, int fd) {
  ScopedFd d(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::string dp = socket_path + broker::kDgramSuffix;
  strncpy(a.sun_path, dp.c_str(), sizeof a.sun_path - 1);
  iovec iov{const_cast<char*>(msg.data()), msg.size()};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  msghdr mh{};
  mh.msg_name = &a;
  mh.msg_namelen = sizeof a;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (fd >= 0) {
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof ctl;
    cmsghdr* cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  }
  return sendmsg(d.get(), &mh, MSG_NOSIGNAL) < 0 ? errno : 0;
}

}  // namespace agentsh::broker_door_client
