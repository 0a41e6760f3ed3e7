// Broker client (see broker_client.h). House rules: no exceptions, no malloc, no locks,
// no stdio, raw syscalls through sys::call (the gate), errno untouched.
#include "preload/broker_client.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "preload/hook_state.h"
#include "preload/sys.h"

namespace agentsh::hook::broker_client {

namespace {

constexpr int kIovBatch = 64;

// Connects to the broker. Returns the fd or -errno.
long dial(bool nonblocking) noexcept {
  const char* path = HookState::get().broker_socket();
  size_t n = strlen(path);
  struct sockaddr_un sa;
  if (n == 0) return -ENOENT;
  if (n >= sizeof sa.sun_path) return -ENAMETOOLONG;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, n);
  long fd = sys::call(SYS_socket, AF_UNIX,
                      SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) return fd;
  long r;
  do {
    r = sys::call(SYS_connect, fd, sys::arg(&sa),
                  static_cast<long>(offsetof(struct sockaddr_un, sun_path) + n + 1));
  } while (r == -EINTR && !nonblocking);
  if (r < 0) return sys::close_keep(static_cast<int>(fd), r);
  return fd;
}

// Sends iov[0..n) completely (blocking) or as far as possible (non-blocking).
long send_iov(int fd, struct iovec* iov, int n, bool nonblocking) noexcept {
  int flags = MSG_NOSIGNAL | (nonblocking ? MSG_DONTWAIT : 0);
  while (n > 0) {
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = iov;
    mh.msg_iovlen = static_cast<size_t>(n);
    long r = sys::call(SYS_sendmsg, fd, sys::arg(&mh), flags);
    if (r == -EINTR && !nonblocking) continue;
    if (r < 0) return r;
    size_t done = static_cast<size_t>(r);
    while (n > 0 && done >= iov->iov_len) {
      done -= iov->iov_len;
      ++iov;
      --n;
    }
    if (n > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + done;
      iov->iov_len -= done;
      if (nonblocking) return -EAGAIN;  // never wait for a slow broker
    }
  }
  return 0;
}

void set_str(struct iovec* v, const char* s) noexcept {
  if (s == nullptr) s = "";
  v->iov_base = const_cast<char*>(s);
  v->iov_len = strlen(s) + 1;  // with the NUL: the payload is NUL-separated
}

broker::RequestHeader make_header(broker::MsgType type, uint32_t flags, size_t payload,
                                  uint32_t argc) noexcept {
  broker::RequestHeader h;
  h.magic = broker::kMagic;
  h.type = type;
  h.pid = static_cast<int32_t>(sys::getpid());
  h.flags = flags;
  h.payload_len = static_cast<uint32_t>(payload);
  h.argc = argc;
  return h;
}

long read_reply(int fd, broker::Reply* reply) noexcept {
  char* p = reinterpret_cast<char*>(reply);
  size_t got = 0;
  while (got < sizeof *reply) {
    long r = sys::read(fd, p + got, sizeof *reply - got);
    if (r == -EINTR) continue;
    if (r < 0) return r;
    if (r == 0) return -EPROTO;  // the broker hung up mid-reply
    got += static_cast<size_t>(r);
  }
  if (reply->magic != broker::kMagic) return -EPROTO;
  reply->rule[sizeof reply->rule - 1] = '\0';
  reply->message[sizeof reply->message - 1] = '\0';
  reply->redirect_argv[sizeof reply->redirect_argv - 1] = '\0';
  reply->redirect_argv[sizeof reply->redirect_argv - 2] = '\0';
  return 0;
}

// The door's address (<broker_socket> + kDgramSuffix). Returns the address length, or 0
// when the path is empty or too long for one.
socklen_t door_address(struct sockaddr_un* sa) noexcept {
  const char* path = HookState::get().broker_socket();
  size_t pn = strlen(path);
  constexpr size_t kSuffix = sizeof broker::kDgramSuffix - 1;
  if (pn == 0 || pn + kSuffix >= sizeof sa->sun_path) return 0;
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  memcpy(sa->sun_path, path, pn);
  memcpy(sa->sun_path + pn, broker::kDgramSuffix, kSuffix);
  return static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + pn + kSuffix + 1);
}

// Header and iovecs of an exec request (kExecCheck / kExecAudit) that fits one datagram:
// iov[0] = *h, then resolved, cwd, argv. Returns the number of iovecs, or 0 when the
// request is too big for one datagram (or for `iov`).

// The datagram door (broker_protocol.h kDgramSuffix): one sendmsg of iov[0..n) with one
// end of a fresh SOCK_SEQPACKET pair attached, then one read of the Reply from the other
// end. Returns 0 (reply filled), kNoDoor when the broker has no datagram socket (the
// caller uses the stream socket; nothing was delivered), or another -errno.
constexpr long kNoDoor = -200000;
long dgram_round_trip(struct iovec* iov, int n, broker::Reply* reply) noexcept {
  struct sockaddr_un sa;
  socklen_t salen = door_address(&sa);
  if (salen == 0) return kNoDoor;
  int sv[2];
  long r = sys::call(SYS_socketpair, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sys::arg(sv));
  if (r < 0) return r;
  long d = sys::call(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (d < 0) {
    sys::close(sv[1]);
    return sys::close_keep(sv[0], d);
  }
  alignas(struct cmsghdr) char ctl[CMSG_SPACE(sizeof(int))];
  memset(ctl, 0, sizeof ctl);
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_name = &sa;
  mh.msg_namelen = salen;
  mh.msg_iov = iov;
  mh.msg_iovlen = static_cast<size_t>(n);
  mh.msg_control = ctl;
  mh.msg_controllen = sizeof ctl;
  struct cmsghdr* cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &sv[1], sizeof(int));
  do {
    r = sys::call(SYS_sendmsg, d, sys::arg(&mh), MSG_NOSIGNAL);
  } while (r == -EINTR);
  sys::close(static_cast<int>(d));
  sys::close(sv[1]);  // the broker holds its own reference now (or nobody does)
  if (r < 0) {
    sys::close(sv[0]);
    // Not delivered: no datagram socket there (an older broker), or it is not ours.
    if (r == -ENOENT || r == -ECONNREFUSED || r == -EPROTOTYPE || r == -EMSGSIZE || r == -ENOBUFS ||
        r == -ENOTSOCK) {
      return kNoDoor;
    }
    return r;
  }
  r = read_reply(sv[0], reply);
  sys::close(sv[0]);
  return r;
}

}  // namespace

void audit(const char* op, const char* target, const char* rule, const char* decision,
           const char* message, int err) noexcept {
  long fd = dial(true);
  if (fd < 0) return;
  struct iovec iov[6];
  set_str(&iov[1], op);
  set_str(&iov[2], target);
  set_str(&iov[3], rule);
  set_str(&iov[4], decision);
  set_str(&iov[5], message);
  size_t payload = 0;
  for (int i = 1; i < 6; ++i) payload += iov[i].iov_len;
  broker::RequestHeader h =
      make_header(broker::MsgType::kAudit, static_cast<uint32_t>(err), payload, 0);
  iov[0].iov_base = &h;
  iov[0].iov_len = sizeof h;
  send_iov(static_cast<int>(fd), iov, 6, true);
  sys::close(static_cast<int>(fd));
}

bool approve(const char* kind, const char* op, const char* target, const char* rule,
             const char* message) noexcept {
  long fd = dial(false);
  if (fd < 0) return false;
  struct iovec iov[6];
  set_str(&iov[1], kind);
  set_str(&iov[2], op);
  set_str(&iov[3], target);
  set_str(&iov[4], rule);
  set_str(&iov[5], message);
  size_t payload = 0;
  for (int i = 1; i < 6; ++i) payload += iov[i].iov_len;
  broker::RequestHeader h = make_header(broker::MsgType::kApproval, 0, payload, 0);
  iov[0].iov_base = &h;
  iov[0].iov_len = sizeof h;
  broker::Reply reply;
  bool ok = send_iov(static_cast<int>(fd), iov, 6, false) == 0 &&
            read_reply(static_cast<int>(fd), &reply) == 0 &&
            reply.decision == broker::ReplyDecision::kAllow;
  sys::close(static_cast<int>(fd));
  return ok;
}

long exec_check(const char* resolved, const char* cwd, char* const argv[],
                broker::Reply* reply) noexcept {
  size_t argc = 0;
  size_t payload = strlen(resolved) + 1 + strlen(cwd) + 1;
  if (argv != nullptr) {
    for (; argv[argc] != nullptr; ++argc) payload += strlen(argv[argc]) + 1;
  }
  if (payload > broker::kMaxPayload) return -E2BIG;
  broker::RequestHeader h =
      make_header(broker::MsgType::kExecCheck, 0, payload, static_cast<uint32_t>(argc));
  struct iovec iov[kIovBatch];
  iov[0].iov_base = &h;
  iov[0].iov_len = sizeof h;
  set_str(&iov[1], resolved);
  set_str(&iov[2], cwd);
  int n = 3;
  long r = 0;
  // The usual exec fits one datagram: one wake-up of the broker instead of two.
  if (sizeof h + payload <= broker::kMaxDgramRequest && argc + 3 <= size_t{kIovBatch}) {
    for (size_t i = 0; i < argc; ++i) set_str(&iov[n++], argv[i]);
    r = dgram_round_trip(iov, n, reply);
    if (r != kNoDoor) return r;
    n = 3;
    r = 0;
  }
  long fd = dial(false);
  if (fd < 0) return fd;
  // argv goes out straight from the caller's strings, a batch of iovecs at a time:
  // no copy, no buffer that could be too small for an ARG_MAX-sized command line.
  for (size_t i = 0; i < argc && r == 0; ++i) {
    set_str(&iov[n++], argv[i]);
    if (n == kIovBatch) {
      r = send_iov(static_cast<int>(fd), iov, n, false);
      n = 0;
    }
  }
  if (r == 0 && n > 0) r = send_iov(static_cast<int>(fd), iov, n, false);
  if (r == 0) r = read_reply(static_cast<int>(fd), reply);
  sys::close(static_cast<int>(fd));
  return r;
}

bool exec_audit(const char* resolved, const char* cwd, char* const argv[]) noexcept {
  // Up to 253 argv strings (compilers get long command lines); 4 KiB of stack.
  constexpr size_t kAuditIov = 256;
  size_t argc = 0;
  size_t payload = strlen(resolved) + 1 + strlen(cwd) + 1;
  if (argv != nullptr) {
    for (; argv[argc] != nullptr; ++argc) {
      payload += strlen(argv[argc]) + 1;
      if (argc + 4 > kAuditIov) return false;  // more strings than iovecs
    }
  }
  broker::RequestHeader h =
      make_header(broker::MsgType::kExecAudit, 0, payload, static_cast<uint32_t>(argc));
  if (sizeof h + payload > broker::kMaxDgramRequest) return false;
  struct sockaddr_un sa;
  socklen_t salen = door_address(&sa);
  if (salen == 0) return false;
  struct iovec iov[kAuditIov];
  iov[0].iov_base = &h;
  iov[0].iov_len = sizeof h;
  set_str(&iov[1], resolved);
  set_str(&iov[2], cwd);
  int n = 3;
  for (size_t i = 0; i < argc; ++i) set_str(&iov[n++], argv[i]);
  long d = sys::call(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (d < 0) return false;
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_name = &sa;
  mh.msg_namelen = salen;
  mh.msg_iov = iov;
  mh.msg_iovlen = static_cast<size_t>(n);
  long r;
  do {
    r = sys::call(SYS_sendmsg, d, sys::arg(&mh), MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (r == -EINTR);
  sys::close(static_cast<int>(d));
  // A datagram is queued whole or not at all.
  return r == static_cast<long>(sizeof h + payload);
}

}  // namespace agentsh::hook::broker_client
