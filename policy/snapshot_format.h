// The compiled policy snapshot: a flat, position-independent, read-only blob that
// `agentsh exec` writes once per run and every hooked process maps at start-up.
// The hook and the supervisor decide file and network questions from the same blob
// (policy/snapshot_view.h), so there is one implementation of those decisions.
//
// Layout: SnapHeader at offset 0, then arrays referenced by byte offsets from the start
// of the blob. All integers little-endian (x86_64 native), every array 4-byte aligned.
// Strings are (offset, length) pairs into the string area, NUL-terminated there too;
// a Str's offset is relative to the start of the string area (Header::strings.off),
// whose first byte is NUL so that {0, 0} reads as "". Read them through View::str().
#pragma once

#include <cstdint>

namespace agentsh::snapshot {

inline constexpr char kMagic[8] = {'A', 'G', 'S', 'H', 'S', 'N', 'P', '1'};
inline constexpr uint32_t kVersion = 1;

struct Str {
  uint32_t off;  // 0 with len 0 = empty
  uint32_t len;
};

struct Array {
  uint32_t off;    // byte offset of the first element
  uint32_t count;  // number of elements
};

// A protected path: agentsh's own files. Checked before any rule.
enum ProtectKind : uint32_t {
  kProtectReadOnly = 1,  // reads/exec always allowed, any write/delete/rename/chmod denied
  kProtectHidden = 2,    // every operation denied (e.g. the audit database, the CA key)
};
struct Protected {
  Str path;  // a directory (covers everything below it) or a file
  uint32_t kind;
};

// FileRule::flags
enum FileRuleFlags : uint8_t {
  kRuleScanAlways = 1,  // some glob's literal prefix is shorter than 2 bytes
};

struct FileRule {
  Str name;
  Str message;
  Str redirect_to;   // for decision redirect
  uint32_t ops;      // policy::OpMask
  uint8_t decision;  // policy::Decision
  uint8_t flags;     // FileRuleFlags
  uint8_t pad[2];
  Array globs;  // of Glob
  // Fast reject of whole rules (derived from `globs`; View::attach recomputes and checks
  // it): bit (c & 63) is set for the second byte c of every glob whose literal prefix is
  // at least 2 bytes long ("/etc/**" sets the bit of 'e'). Unless kRuleScanAlways is set,
  // a path whose second byte's bit is clear cannot match any glob of the rule.
  uint32_t head_mask[2];
};

struct Glob {
  Str pattern;          // braces already expanded, variables already substituted
  uint32_t prefix_len;  // literal prefix length, for a fast reject
};

struct Cidr {
  uint8_t net[16];
  uint8_t prefix;
  uint8_t pad[3];
};

struct PortRange {
  uint16_t lo, hi;
};

struct NetRule {
  Str name;
  Str message;
  uint8_t decision;
  uint8_t pad[3];
  Array domains;  // of Str (lower-case globs, '*' crosses dots)
  Array cidrs;    // of Cidr
  Array ports;    // of PortRange
};

// The exec fast table (hook-only mode): what the hook needs to allow an exec in-process,
// without a broker round trip, exactly when the broker's Engine::check_command(argv,
// resolved, nested=true) would say plain "allow" whatever the arguments. Compiled by
// Engine::compile from the command rules that apply in the nested context, in policy
// order; read by View::exec_fast_allow. Anything it cannot settle (a wrapper the engine
// unwraps, a rule with args_patterns naming the command, any decision but allow) means
// "ask the broker", so the table can only ever be stricter than the engine.
inline constexpr uint32_t kExecNoRule = 0xffffffffu;

struct ExecRule {    // one command rule (nested context), in policy order
  uint8_t decision;  // policy::Decision
  uint8_t has_args;  // args_patterns: the decision depends on argv
  uint8_t pad[2];
};

enum ExecKeyFlags : uint8_t {
  kExecKeyPath = 1,     // a rule name with '/': compared with the whole command path
  kExecKeyWrapper = 2,  // command_unwrap looks inside this command (key = wrapper_name)
};

// A literal command name some rule lists (or a wrapper name). Sorted by (flags &
// kExecKeyPath, then text as unsigned bytes, shorter first); unique.
struct ExecKey {
  Str text;
  uint32_t plain;  // first rule without args_patterns listing it, or kExecNoRule
  uint8_t args;    // some rule with args_patterns lists it
  uint8_t flags;   // ExecKeyFlags
  uint8_t pad[2];
};

// A command name that is a glob ("python3.*"): matched like the engine does, per query.
struct ExecGlob {
  Str pattern;
  uint32_t rule;  // index into the rules
  uint8_t path;   // matched against the whole path ('/' separates) instead of the basename
  uint8_t pad[3];
};

struct ExecFast {
  uint32_t any_plain;  // first rule without args that names every command ("*"), or kExecNoRule
  uint8_t any_args;    // a rule with args_patterns names every command
  uint8_t pad[3];
  Array rules;  // of ExecRule
  Array keys;   // of ExecKey
  Array globs;  // of ExecGlob
};

enum HeaderFlags : uint32_t {
  kFlagEnforce = 1,  // 0 = observe only (decide + audit, never deny)
  // Exec decisions: when set, the hook asks the supervisor's broker before every exec
  // (hook-only mode). When clear, the tracer stops every execve/execveat and decides
  // there, so the hook only keeps itself in the child's environment.
  kFlagHookExecViaBroker = 2,
  kFlagTracerActive = 4  // a tracer supervises this tree (informational for the hook)
};

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t total_size;
  uint32_t flags;
  uint8_t approval_mode;  // policy::ApprovalMode
  uint8_t pad[3];
  Array file_rules;  // of FileRule
  Array net_rules;   // of NetRule
  Array protect;     // of Protected
  Array strings;     // the string area (count = bytes)
  // Session plumbing, so a process that finds the snapshot finds everything else.
  Str session_id;
  Str broker_socket;  // unix stream socket of the supervisor (exec checks, audit)
  Str hook_library;   // absolute path of libagentsh_hook.so (re-injected on exec)
  Str snapshot_path;  // where this blob lives (re-injected as AGENTSH_SNAPSHOT)
  Str policy_name;
  Str trash_dir;        // where soft_delete moves files (created by the supervisor)
  uint16_t proxy_port;  // 127.0.0.1:<port>, always reachable; 0 = no proxy
  uint16_t dns_port;    // 127.0.0.1:<port>, always reachable; 0 = no DNS proxy
  // The syscall gate (see tracer/README.md): the hook maps one page at exactly this
  // address (MAP_FIXED_NOREPLACE) holding its syscall trampoline; the tracer's seccomp
  // filter lets governed syscalls whose instruction pointer lies in that page run
  // without a stop, because the hook has already decided them. 0 = no gate.
  uint64_t gate_addr;
  // The exec fast table: one ExecFast (count 1), or none (count 0: a snapshot from a
  // builder that had no command rules to compile — every exec goes to the broker).
  Array exec_fast;
  uint32_t reserved[4];
};

}  // namespace agentsh::snapshot
