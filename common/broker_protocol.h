// Wire format between hooked processes (and the tracer's helpers) and the supervisor's
// broker (agentsh/broker.*), over the unix stream socket named in the snapshot header.
//
// One connection per request; the client writes one Request (header + payload) and, for
// requests that want one, reads one Reply (or one datagram, see kDgramSuffix). Hook-safe:
// fixed-size structs, no allocation. The payload is a sequence of NUL-terminated strings whose
// meaning depends on the type.
#pragma once

#include <cstdint>

namespace agentsh::broker {

inline constexpr uint32_t kMagic = 0x41475342;     // "AGSB"
inline constexpr uint32_t kMaxPayload = 4u << 20;  // 4 MiB: ARG_MAX-sized argv fits

// The datagram door. A request that wants a reply may instead go as ONE datagram (header
// + payload, nothing else) to the broker's SOCK_DGRAM socket at <broker_socket> +
// kDgramSuffix, carrying in an SCM_RIGHTS message exactly one fd: one end of a fresh
// SOCK_SEQPACKET socketpair, on which the broker writes the Reply as one record. The
// broker then wakes once with the whole request (a stream connection wakes it on
// `connect`, usually before the data is there), and the client still learns of a broker
// that dies mid-request (its end of the pair reads EOF). Requests whose header + payload
// exceed kMaxDgramRequest use the stream socket; so does a client whose datagram cannot
// be delivered (no such socket: ENOENT/ECONNREFUSED).
inline constexpr char kDgramSuffix[] = ".d";
inline constexpr uint32_t kMaxDgramRequest = 32768;

enum class MsgType : uint32_t {
  // payload: resolved executable path, cwd, then argv[0..n). Reply expected.
  kExecCheck = 1,
  // payload: operation name, target, rule, decision, message. No reply.
  // `flags` carries the errno returned to the program.
  kAudit = 2,
  // payload: kind ("file"|"network"), operation, target, rule, message. Reply expected;
  // blocks until a person answers or the rule's timeout passes.
  kApproval = 3,
  // payload as kExecCheck. No reply. An exec the hook allowed in-process (the snapshot's
  // exec fast table, policy/snapshot_format.h ExecFast): the broker writes the audit row
  // it writes for a kExecCheck. Sent as one datagram to the door with NO fd attached,
  // MSG_DONTWAIT; a client that cannot send it asks with kExecCheck instead.
  kExecAudit = 4,
};

struct RequestHeader {
  uint32_t magic;
  MsgType type;
  int32_t pid;
  uint32_t flags;
  uint32_t payload_len;
  uint32_t argc;  // for kExecCheck: number of argv strings in the payload
};

enum class ReplyDecision : uint32_t { kAllow = 0, kDeny = 1 };

struct Reply {
  uint32_t magic;
  ReplyDecision decision;
  int32_t err;        // errno to return when denied (EACCES / EPERM)
  uint32_t redirect;  // 1 = run `redirect_argv` instead (command redirect)
  char rule[128];     // NUL-terminated, truncated if longer
  char message[512];  // the one stderr line (without "agentsh: " prefix) or reason
  // For redirect: NUL-separated argv, double NUL at the end.
  char redirect_argv[1024];
};

}  // namespace agentsh::broker
