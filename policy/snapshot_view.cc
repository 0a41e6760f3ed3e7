// Decisions over a mapped snapshot (see snapshot_view.h).
//
// Compiled into the supervisor and into libagentsh_hook.so: no allocation, no
// exceptions, no locks, no syscalls, no errno changes. attach() validates every offset,
// length and count once, so the check_* paths can index the blob without re-checking;
// a corrupt or truncated blob makes attach() fail rather than read out of bounds.
#include "policy/snapshot_view.h"

#include <cstring>

#include "common/path_util.h"
#include "policy/glob.h"

namespace agentsh::snapshot {

namespace {

constexpr const char kRuleProtected[] = "agentsh-protected";
constexpr const char kMsgReadOnly[] = "agentsh runtime file is read-only: {{.Path}}";
constexpr const char kMsgHidden[] = "agentsh runtime file is not accessible: {{.Path}}";
constexpr const char kRuleProxy[] = "agentsh-proxy";
constexpr const char kRuleDefaultFiles[] = "default-deny-files";
constexpr const char kRuleDefaultNet[] = "default-deny-network";

// Operations that only observe a file (or run it): allowed on read-only protected paths.
constexpr policy::OpMask kReadOps =
    policy::op_bit(policy::FileOp::kRead) | policy::op_bit(policy::FileOp::kOpen) |
    policy::op_bit(policy::FileOp::kStat) | policy::op_bit(policy::FileOp::kList) |
    policy::op_bit(policy::FileOp::kReadlink) | policy::op_bit(policy::FileOp::kAccess) |
    policy::op_bit(policy::FileOp::kExec);

// Checks that `count` elements of `elem` bytes at `off` lie inside [0, size) and are
// 4-byte aligned. 64-bit arithmetic: off + count * elem cannot overflow.
bool array_ok(const Array& a, size_t elem, size_t size) noexcept {
  if (a.count == 0) return a.off <= size;
  if (a.off % 4 != 0) return false;
  uint64_t end = static_cast<uint64_t>(a.off) + static_cast<uint64_t>(a.count) * elem;
  return end <= size;
}

template <typename T>
const T* at(const uint8_t* base, uint32_t off) noexcept {
  return reinterpret_cast<const T*>(base + off);
}

// Equality of n bytes, inlined: the literal-prefix reject runs once per glob per
// decision and nearly always fails within the first word, where a call to memcmp
// would cost more than the comparison.
inline bool bytes_equal(const char* a, const char* b, size_t n) noexcept {
  while (n >= 8) {
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    if (x != y) return false;
    a += 8;
    b += 8;
    n -= 8;
  }
  while (n > 0) {
    if (*a != *b) return false;
    ++a;
    ++b;
    --n;
  }
  return true;
}

bool is_loopback(const cidr::IpAddr& ip) noexcept {
  static constexpr uint8_t kV4Lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
  static constexpr uint8_t kV6Lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return memcmp(ip.b, kV4Lo, 16) == 0 || memcmp(ip.b, kV6Lo, 16) == 0;
}

// The ExecKey order: basename keys before path keys, then the bytes (unsigned), a
// prefix before its extensions — the order std::map<pair<int, string>> gives the builder.
int exec_key_cmp(unsigned a_path, const char* a, size_t alen, unsigned b_path, const char* b,
                 size_t blen) noexcept {
  if (a_path != b_path) return a_path < b_path ? -1 : 1;
  size_t n = alen < blen ? alen : blen;
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return alen == blen ? 0 : (alen < blen ? -1 : 1);
}

}  // namespace

bool View::attach(const void* data, size_t size) noexcept {
  base_ = nullptr;
  size_ = 0;
  hdr_ = nullptr;
  exec_ = nullptr;
  if (data == nullptr || size < sizeof(Header)) return false;
  // The Header holds a uint64_t and every record is read in place: an mmap()ed file or
  // a heap buffer is always aligned enough; anything else is a caller bug.
  if (reinterpret_cast<uintptr_t>(data) % alignof(Header) != 0) return false;
  const auto* base = static_cast<const uint8_t*>(data);
  const auto* h = reinterpret_cast<const Header*>(base);
  if (memcmp(h->magic, kMagic, sizeof kMagic) != 0) return false;
  if (h->version != kVersion) return false;
  // A mapping may be longer than the blob (page rounding), never shorter.
  if (h->total_size < sizeof(Header) || h->total_size > size) return false;
  size = h->total_size;

  // The string area: every Str must lie inside it and be followed by its NUL.
  if (!array_ok(Array{h->strings.off, h->strings.count}, 1, size)) return false;
  if (h->strings.count == 0) return false;
  const char* sbase = reinterpret_cast<const char*>(base + h->strings.off);
  const uint32_t slen = h->strings.count;
  if (sbase[0] != '\0') return false;  // the empty Str {0,0} must read as ""
  auto str_ok = [sbase, slen](const Str& s) noexcept {
    uint64_t end = static_cast<uint64_t>(s.off) + s.len;
    return end < slen && sbase[end] == '\0';
  };

  if (!str_ok(h->session_id) || !str_ok(h->broker_socket) || !str_ok(h->hook_library) ||
      !str_ok(h->snapshot_path) || !str_ok(h->policy_name) || !str_ok(h->trash_dir)) {
    return false;
  }
  if (h->approval_mode > static_cast<uint8_t>(policy::ApprovalMode::kTty)) return false;

  if (!array_ok(h->file_rules, sizeof(FileRule), size)) return false;
  for (uint32_t i = 0; i < h->file_rules.count; ++i) {
    const FileRule& r = at<FileRule>(base, h->file_rules.off)[i];
    if (!str_ok(r.name) || !str_ok(r.message) || !str_ok(r.redirect_to)) return false;
    if (r.decision >= policy::kDecisionCount) return false;
    if (!array_ok(r.globs, sizeof(Glob), size)) return false;
    // The rule's fast-reject summary must agree with its globs, or check_file could
    // skip a rule that matches.
    uint32_t mask[2] = {0, 0};
    uint8_t flags = 0;
    for (uint32_t j = 0; j < r.globs.count; ++j) {
      const Glob& g = at<Glob>(base, r.globs.off)[j];
      if (!str_ok(g.pattern) || g.prefix_len > g.pattern.len) return false;
      if (g.prefix_len < 2) {
        flags |= kRuleScanAlways;
      } else {
        unsigned bit = static_cast<unsigned char>(sbase[g.pattern.off + 1]) & 63u;
        mask[bit / 32] |= 1u << (bit % 32);
      }
    }
    if (r.flags != flags || r.head_mask[0] != mask[0] || r.head_mask[1] != mask[1]) {
      return false;
    }
  }

  if (!array_ok(h->net_rules, sizeof(NetRule), size)) return false;
  for (uint32_t i = 0; i < h->net_rules.count; ++i) {
    const NetRule& r = at<NetRule>(base, h->net_rules.off)[i];
    if (!str_ok(r.name) || !str_ok(r.message)) return false;
    if (r.decision >= policy::kDecisionCount) return false;
    if (!array_ok(r.domains, sizeof(Str), size) || !array_ok(r.cidrs, sizeof(Cidr), size) ||
        !array_ok(r.ports, sizeof(PortRange), size)) {
      return false;
    }
    for (uint32_t j = 0; j < r.domains.count; ++j) {
      if (!str_ok(at<Str>(base, r.domains.off)[j])) return false;
    }
    for (uint32_t j = 0; j < r.cidrs.count; ++j) {
      if (at<Cidr>(base, r.cidrs.off)[j].prefix > 128) return false;
    }
  }

  if (!array_ok(h->protect, sizeof(Protected), size)) return false;
  for (uint32_t i = 0; i < h->protect.count; ++i) {
    const Protected& p = at<Protected>(base, h->protect.off)[i];
    // An empty protected path would cover nothing useful and is certainly corruption.
    if (!str_ok(p.path) || p.path.len == 0) return false;
    if (p.kind != kProtectReadOnly && p.kind != kProtectHidden) return false;
  }

  // The exec fast table: bounds, rule indices, and the key order binary search relies on.
  const ExecFast* ef = nullptr;
  if (h->exec_fast.count > 1 || !array_ok(h->exec_fast, sizeof(ExecFast), size)) return false;
  if (h->exec_fast.count == 1) {
    ef = at<ExecFast>(base, h->exec_fast.off);
    if (!array_ok(ef->rules, sizeof(ExecRule), size) ||
        !array_ok(ef->keys, sizeof(ExecKey), size) ||
        !array_ok(ef->globs, sizeof(ExecGlob), size)) {
      return false;
    }
    const uint32_t nrules = ef->rules.count;
    auto rule_ok = [nrules](uint32_t r) noexcept { return r == kExecNoRule || r < nrules; };
    if (!rule_ok(ef->any_plain)) return false;
    for (uint32_t i = 0; i < nrules; ++i) {
      if (at<ExecRule>(base, ef->rules.off)[i].decision >= policy::kDecisionCount) return false;
    }
    const ExecKey* keys = at<ExecKey>(base, ef->keys.off);
    for (uint32_t i = 0; i < ef->keys.count; ++i) {
      if (!str_ok(keys[i].text) || !rule_ok(keys[i].plain)) return false;
      if (i > 0 && exec_key_cmp(keys[i - 1].flags & kExecKeyPath, sbase + keys[i - 1].text.off,
                                keys[i - 1].text.len, keys[i].flags & kExecKeyPath,
                                sbase + keys[i].text.off, keys[i].text.len) >= 0) {
        return false;
      }
    }
    for (uint32_t i = 0; i < ef->globs.count; ++i) {
      const ExecGlob& g = at<ExecGlob>(base, ef->globs.off)[i];
      if (!str_ok(g.pattern) || g.rule >= nrules) return false;
    }
  }

  base_ = base;
  size_ = size;
  hdr_ = h;
  exec_ = ef;
  return true;
}

const char* View::str(const Str& s) const noexcept {
  if (hdr_ == nullptr) return "";
  // Strs from the blob were validated by attach(); this guards caller-made ones.
  uint64_t end = static_cast<uint64_t>(s.off) + s.len;
  if (end >= hdr_->strings.count) return "";
  const char* p = reinterpret_cast<const char*>(base_ + hdr_->strings.off) + s.off;
  return p[s.len] == '\0' ? p : "";
}

FileVerdict View::check_file(const char* path, size_t len, policy::FileOp op) const noexcept {
  FileVerdict v{policy::Decision::kDeny, kRuleDefaultFiles, "", "", false};
  if (hdr_ == nullptr || path == nullptr) return v;
  const policy::OpMask bit =
      static_cast<unsigned>(op) < static_cast<unsigned>(policy::FileOp::kCount) ? policy::op_bit(op)
                                                                                : 0;
  const char* sbase = reinterpret_cast<const char*>(base_ + hdr_->strings.off);

  // agentsh's own files first: no policy rule can open them up.
  const Protected* prot = at<Protected>(base_, hdr_->protect.off);
  for (uint32_t i = 0; i < hdr_->protect.count; ++i) {
    const Protected& p = prot[i];
    if (!path_util::is_under(path, len, sbase + p.path.off, p.path.len)) continue;
    v.rule = kRuleProtected;
    v.message = p.kind == kProtectHidden ? kMsgHidden : kMsgReadOnly;
    v.protected_path = true;
    v.decision = (p.kind == kProtectReadOnly && (bit & kReadOps) != 0) ? policy::Decision::kAllow
                                                                       : policy::Decision::kDeny;
    return v;
  }

  // The path's second byte selects the rules that can match at all (see FileRule).
  unsigned head = len >= 2 ? static_cast<unsigned char>(path[1]) & 63u : 64u;
  const FileRule* rules = at<FileRule>(base_, hdr_->file_rules.off);
  for (uint32_t i = 0; i < hdr_->file_rules.count; ++i) {
    const FileRule& r = rules[i];
    if ((r.ops & bit) == 0) continue;
    if ((r.flags & kRuleScanAlways) == 0 &&
        (head == 64u || (r.head_mask[head / 32] & (1u << (head % 32))) == 0)) {
      continue;
    }
    const Glob* globs = at<Glob>(base_, r.globs.off);
    for (uint32_t j = 0; j < r.globs.count; ++j) {
      const Glob& g = globs[j];
      const char* pat = sbase + g.pattern.off;
      // Fast reject on the literal prefix before running the matcher.
      if (g.prefix_len > len || !bytes_equal(pat, path, g.prefix_len)) continue;
      if (g.prefix_len == g.pattern.len) {
        if (len != g.prefix_len) continue;  // a plain path: the prefix test was equality
      } else if (g.pattern.len == g.prefix_len + 2 && pat[g.prefix_len] == '*' &&
                 pat[g.prefix_len + 1] == '*') {
        // "<literal>**" (e.g. "/usr/**", "**"): any rest matches; the prefix test decided.
      } else if (!glob::match(pat, g.pattern.len, path, len, '/', false)) {
        continue;
      }
      v.decision = static_cast<policy::Decision>(r.decision);
      v.rule = sbase + r.name.off;
      v.message = sbase + r.message.off;
      v.redirect_to = sbase + r.redirect_to.off;
      return v;
    }
  }
  return v;
}

NetVerdict View::check_net(const char* domain, size_t dlen, const cidr::IpAddr* ip,
                           uint16_t port) const noexcept {
  NetVerdict v{policy::Decision::kDeny, kRuleDefaultNet, ""};
  if (hdr_ == nullptr) return v;
  if (domain == nullptr) dlen = 0;
  // "example.com." is the same host as "example.com": a trailing root dot must not
  // slip past a domain rule.
  if (dlen > 1 && domain[dlen - 1] == '.') --dlen;

  // agentsh's own proxy and DNS server are always reachable.
  if (ip != nullptr && port != 0 && is_loopback(*ip) &&
      ((hdr_->proxy_port != 0 && port == hdr_->proxy_port) ||
       (hdr_->dns_port != 0 && port == hdr_->dns_port))) {
    v.decision = policy::Decision::kAllow;
    v.rule = kRuleProxy;
    return v;
  }

  const char* sbase = reinterpret_cast<const char*>(base_ + hdr_->strings.off);
  const NetRule* rules = at<NetRule>(base_, hdr_->net_rules.off);
  for (uint32_t i = 0; i < hdr_->net_rules.count; ++i) {
    const NetRule& r = rules[i];
    if (r.ports.count != 0 && port != 0) {
      const PortRange* pr = at<PortRange>(base_, r.ports.off);
      bool hit = false;
      for (uint32_t j = 0; j < r.ports.count && !hit; ++j) {
        hit = pr[j].lo <= port && port <= pr[j].hi;
      }
      if (!hit) continue;
    }
    if (r.domains.count != 0) {
      if (dlen == 0) continue;
      const Str* doms = at<Str>(base_, r.domains.off);
      bool hit = false;
      for (uint32_t j = 0; j < r.domains.count && !hit; ++j) {
        // Rule domains are stored lower-case; icase folds the query's case.
        hit = glob::match(sbase + doms[j].off, doms[j].len, domain, dlen, '\0', true);
      }
      if (!hit) continue;
    }
    if (r.cidrs.count != 0) {
      if (ip == nullptr) continue;
      const Cidr* cs = at<Cidr>(base_, r.cidrs.off);
      bool hit = false;
      for (uint32_t j = 0; j < r.cidrs.count && !hit; ++j) {
        cidr::Cidr c;
        memcpy(c.net.b, cs[j].net, 16);
        c.prefix = cs[j].prefix;
        hit = cidr::contains(c, *ip);
      }
      if (!hit) continue;
    }
    v.decision = static_cast<policy::Decision>(r.decision);
    v.rule = sbase + r.name.off;
    v.message = sbase + r.message.off;
    return v;
  }
  return v;
}

const ExecKey* View::exec_key(bool path, const char* text, size_t len) const noexcept {
  const char* sbase = reinterpret_cast<const char*>(base_ + hdr_->strings.off);
  const ExecKey* keys = at<ExecKey>(base_, exec_->keys.off);
  const unsigned want = path ? kExecKeyPath : 0;
  uint32_t lo = 0, hi = exec_->keys.count;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    const ExecKey& k = keys[mid];
    int c = exec_key_cmp(k.flags & kExecKeyPath, sbase + k.text.off, k.text.len, want, text, len);
    if (c == 0) return &k;
    if (c < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return nullptr;
}

// Mirrors Engine::CompiledCommandRule::name_matches over every rule at once: a literal
// name matches the basename (or, with a '/', the whole path) exactly or followed by
// ".suffix" (bash → bash.real), so the name itself and every prefix ending before a
// '.' that is not the last character are looked up; globs are matched as the engine
// matches them; "*" (and a rule without names) matches everything.
bool View::exec_name(const char* n, size_t len, uint32_t* plain) const noexcept {
  uint32_t best = exec_->any_plain;
  bool args = exec_->any_args != 0;
  auto take = [&](const ExecKey* k) noexcept {
    if (k == nullptr) return;
    if (k->args != 0) args = true;
    if (k->plain < best) best = k->plain;
  };
  size_t b = len;
  while (b > 0 && n[b - 1] != '/') --b;
  const char* base = n + b;
  const size_t blen = len - b;
  take(exec_key(false, base, blen));
  for (size_t p = 0; p + 1 < blen; ++p) {
    if (base[p] == '.') take(exec_key(false, base, p));
  }
  take(exec_key(true, n, len));
  for (size_t p = 0; p + 1 < len; ++p) {
    if (n[p] == '.') take(exec_key(true, n, p));
  }
  const char* sbase = reinterpret_cast<const char*>(base_ + hdr_->strings.off);
  const ExecGlob* globs = at<ExecGlob>(base_, exec_->globs.off);
  const ExecRule* rules = at<ExecRule>(base_, exec_->rules.off);
  for (uint32_t i = 0; i < exec_->globs.count; ++i) {
    const ExecGlob& g = globs[i];
    bool hit = g.path != 0
                   ? glob::match(sbase + g.pattern.off, g.pattern.len, n, len, '/', false)
                   : glob::match(sbase + g.pattern.off, g.pattern.len, base, blen, '\0', false);
    if (!hit) continue;
    if (rules[g.rule].has_args != 0) {
      args = true;
    } else if (g.rule < best) {
      best = g.rule;
    }
  }
  *plain = best;
  return !args;
}

bool View::exec_fast_allow(const char* argv0, const char* resolved) const noexcept {
  if (hdr_ == nullptr || exec_ == nullptr || argv0 == nullptr || argv0[0] == '\0') return false;
  const size_t alen = strlen(argv0);
  // A wrapper (env, sh -c, xargs, find -exec, …) runs commands the engine finds in its
  // arguments: only the broker can unwrap them. The name is command_unwrap's
  // wrapper_name: the basename without a trailing ".real".
  size_t b = alen;
  while (b > 0 && argv0[b - 1] != '/') --b;
  size_t wlen = alen - b;
  constexpr size_t kReal = 5;  // ".real"
  if (wlen > kReal && memcmp(argv0 + alen - kReal, ".real", kReal) == 0) wlen -= kReal;
  const ExecKey* w = exec_key(false, argv0 + b, wlen);
  if (w != nullptr && (w->flags & kExecKeyWrapper) != 0) return false;

  const ExecRule* rules = at<ExecRule>(base_, exec_->rules.off);
  uint32_t plain = kExecNoRule;
  if (!exec_name(argv0, alen, &plain)) return false;
  if (plain != kExecNoRule &&
      rules[plain].decision != static_cast<uint8_t>(policy::Decision::kAllow))
    return false;
  // The engine judges the resolved path too when it differs from argv[0].
  if (resolved != nullptr && resolved[0] != '\0' && strcmp(resolved, argv0) != 0) {
    if (!exec_name(resolved, strlen(resolved), &plain)) return false;
    if (plain != kExecNoRule &&
        rules[plain].decision != static_cast<uint8_t>(policy::Decision::kAllow))
      return false;
  }
  return true;
}

}  // namespace agentsh::snapshot
