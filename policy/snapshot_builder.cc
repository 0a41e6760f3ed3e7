// Lays out the snapshot blob described in snapshot_format.h. Supervisor-only code.
//
// Layout produced (every section 8-byte aligned, which satisfies the 4-byte rule of the
// format and lets the Header's uint64_t be read in place):
//   Header | FileRule[] | Glob[] | NetRule[] | Str[] (domains) | Cidr[] | PortRange[] |
//   Protected[] | ExecFast | ExecRule[] | ExecKey[] | ExecGlob[] | string area
// The string area starts with a NUL byte so that the empty Str {0, 0} reads as "".
// Str offsets are relative to the start of the string area (Header::strings.off).
#include "policy/snapshot_builder.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>
#include <unordered_map>

#include "policy/glob.h"

namespace agentsh::snapshot {

struct Builder::PendingFileRule {
  std::string name, message, redirect_to;
  policy::OpMask ops;
  policy::Decision decision;
  std::vector<std::string> globs;
};

struct Builder::PendingNetRule {
  std::string name, message;
  policy::Decision decision;
  std::vector<std::string> domains;
  std::vector<cidr::Cidr> cidrs;
  std::vector<std::pair<uint16_t, uint16_t>> ports;
};

namespace {

// Interns strings into the string area, de-duplicating identical ones (the same glob
// or message often appears in several rules).
class StringArea {
 public:
  StringArea() { bytes_.push_back('\0'); }
  Str add(std::string_view s) {
    if (s.empty()) return Str{0, 0};
    auto it = index_.find(std::string(s));
    if (it != index_.end()) return Str{it->second, static_cast<uint32_t>(s.size())};
    if (bytes_.size() + s.size() + 1 > UINT32_MAX) {
      throw std::length_error("policy snapshot: string area exceeds 4 GiB");
    }
    uint32_t off = static_cast<uint32_t>(bytes_.size());
    bytes_.append(s.data(), s.size());
    bytes_.push_back('\0');
    index_.emplace(std::string(s), off);
    return Str{off, static_cast<uint32_t>(s.size())};
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
  std::unordered_map<std::string, uint32_t> index_;
};

size_t align8(size_t n) {
  return (n + 7) & ~static_cast<size_t>(7);
}

uint32_t to_u32(size_t n) {
  if (n > UINT32_MAX) throw std::length_error("policy snapshot: blob exceeds 4 GiB");
  return static_cast<uint32_t>(n);
}

std::string ascii_lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return r;
}

// Places `count` elements of type T at the current end of the layout.
template <typename T>
Array reserve(size_t* cursor, size_t count) {
  Array a{to_u32(*cursor), to_u32(count)};
  *cursor = align8(*cursor + sizeof(T) * count);
  return a;
}

template <typename T>
void put(std::string* blob, uint32_t off, const T& v) {
  memcpy(blob->data() + off, &v, sizeof(T));
}

}  // namespace

Builder::Builder() = default;
Builder::~Builder() = default;

void Builder::add_file_rule(std::string_view name, std::string_view message,
                            std::string_view redirect_to, policy::OpMask ops, policy::Decision d,
                            const std::vector<std::string>& globs) {
  // Variable expansion often makes globs identical ("${HOME}/.ssh/**" and
  // "/root/.ssh/**" when HOME=/root); keep the first, the decision is the same.
  std::vector<std::string> unique;
  for (const std::string& g : globs) {
    if (std::find(unique.begin(), unique.end(), g) == unique.end()) unique.push_back(g);
  }
  // A rule over "X/**" also answers the non-mutating questions about X itself (stat,
  // list, open, read, readlink, access): whoever may use /tmp/a must be able to look at
  // /tmp (`ls /tmp`, `find /tmp -maxdepth 0`). Mutations of X itself (delete, rename,
  // chmod, …) are not implied. The companion rule sits right after its rule, so
  // first-match order is unchanged for every other path.
  constexpr policy::OpMask kLookOps =
      policy::op_bit(policy::FileOp::kRead) | policy::op_bit(policy::FileOp::kOpen) |
      policy::op_bit(policy::FileOp::kStat) | policy::op_bit(policy::FileOp::kList) |
      policy::op_bit(policy::FileOp::kReadlink) | policy::op_bit(policy::FileOp::kAccess);
  std::vector<std::string> dirs;
  for (const std::string& g : unique) {
    if (g.size() < 3 || g.compare(g.size() - 3, 3, "/**") != 0) continue;
    std::string dir = g.substr(0, g.size() - 3);
    if (dir.empty()) dir = "/";
    if (std::find(unique.begin(), unique.end(), dir) == unique.end() &&
        std::find(dirs.begin(), dirs.end(), dir) == dirs.end())
      dirs.push_back(dir);
  }
  file_rules_.push_back(PendingFileRule{std::string(name), std::string(message),
                                        std::string(redirect_to), ops, d, std::move(unique)});
  if (!dirs.empty() && (ops & kLookOps) != 0)
    file_rules_.push_back(PendingFileRule{std::string(name), std::string(message),
                                          std::string(redirect_to), ops & kLookOps, d,
                                          std::move(dirs)});
}

void Builder::add_net_rule(std::string_view name, std::string_view message, policy::Decision d,
                           const std::vector<std::string>& domains,
                           const std::vector<cidr::Cidr>& cidrs,
                           const std::vector<std::pair<uint16_t, uint16_t>>& ports) {
  PendingNetRule r{std::string(name), std::string(message), d, {}, cidrs, ports};
  for (const std::string& dom : domains) r.domains.push_back(ascii_lower(dom));
  net_rules_.push_back(std::move(r));
}

void Builder::add_protected(std::string_view path, ProtectKind kind) {
  protect_.emplace_back(std::string(path), kind);
}

void Builder::add_exec_rule(policy::Decision d, bool has_args, const std::vector<ExecName>& names) {
  exec_rules_.push_back(PendingExecRule{d, has_args, names});
}

void Builder::add_exec_wrapper(std::string_view name) {
  exec_wrappers_.emplace_back(name);
}

void Builder::set_session(std::string_view session_id, std::string_view broker_socket,
                          std::string_view hook_library, std::string_view snapshot_path,
                          std::string_view policy_name, uint16_t proxy_port, uint16_t dns_port) {
  session_id_ = session_id;
  broker_socket_ = broker_socket;
  hook_library_ = hook_library;
  snapshot_path_ = snapshot_path;
  policy_name_ = policy_name;
  proxy_port_ = proxy_port;
  dns_port_ = dns_port;
}

std::string Builder::finish() {
  StringArea strings;

  // Pass 1: sizes and offsets.
  size_t n_globs = 0, n_domains = 0, n_cidrs = 0, n_ports = 0;
  for (const auto& r : file_rules_) n_globs += r.globs.size();
  for (const auto& r : net_rules_) {
    n_domains += r.domains.size();
    n_cidrs += r.cidrs.size();
    n_ports += r.ports.size();
  }
  size_t cursor = align8(sizeof(Header));
  Array file_rules = reserve<FileRule>(&cursor, file_rules_.size());
  Array globs = reserve<Glob>(&cursor, n_globs);
  Array net_rules = reserve<NetRule>(&cursor, net_rules_.size());
  Array domains = reserve<Str>(&cursor, n_domains);
  Array cidrs = reserve<Cidr>(&cursor, n_cidrs);
  Array ports = reserve<PortRange>(&cursor, n_ports);
  Array protect = reserve<Protected>(&cursor, protect_.size());

  // The exec fast table: literal names folded into one key each (the first rule without
  // args that lists it, whether a rule with args lists it), globs kept per rule, and the
  // rules that name every command folded into the section header.
  ExecFast ef;
  memset(&ef, 0, sizeof ef);
  ef.any_plain = kExecNoRule;
  struct KeyAcc {
    uint32_t plain = kExecNoRule;
    bool args = false;
    uint8_t flags = 0;
  };
  std::map<std::pair<int, std::string>, KeyAcc> exec_keys;  // (is path, text): sorted
  struct PendingGlob {
    std::string pattern;
    uint32_t rule;
    bool path;
  };
  std::vector<PendingGlob> exec_globs;
  for (size_t i = 0; exec_fast_ && i < exec_rules_.size(); ++i) {
    const PendingExecRule& r = exec_rules_[i];
    const uint32_t idx = to_u32(i);
    bool every = r.names.empty();
    for (const ExecName& n : r.names) every = every || n.text == "*";
    if (every) {
      if (r.has_args) ef.any_args = 1;
      if (!r.has_args && ef.any_plain == kExecNoRule) ef.any_plain = idx;
      continue;
    }
    for (const ExecName& n : r.names) {
      if (n.glob) {
        exec_globs.push_back(PendingGlob{n.text, idx, n.path});
        continue;
      }
      KeyAcc& k = exec_keys[{n.path ? 1 : 0, n.text}];
      if (n.path) k.flags |= kExecKeyPath;
      if (r.has_args) {
        k.args = true;
      } else if (k.plain == kExecNoRule) {
        k.plain = idx;
      }
    }
  }
  if (exec_fast_) {
    for (const std::string& w : exec_wrappers_) exec_keys[{0, w}].flags |= kExecKeyWrapper;
  }
  Array exec_fast = reserve<ExecFast>(&cursor, exec_fast_ ? 1 : 0);
  Array exec_rules = reserve<ExecRule>(&cursor, exec_fast_ ? exec_rules_.size() : 0);
  Array exec_key_arr = reserve<ExecKey>(&cursor, exec_keys.size());
  Array exec_glob_arr = reserve<ExecGlob>(&cursor, exec_globs.size());

  Header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, kMagic, sizeof h.magic);
  h.version = kVersion;
  h.flags = flags_;
  h.approval_mode = static_cast<uint8_t>(approval_mode_);
  h.file_rules = file_rules;
  h.net_rules = net_rules;
  h.protect = protect;
  h.session_id = strings.add(session_id_);
  h.broker_socket = strings.add(broker_socket_);
  h.hook_library = strings.add(hook_library_);
  h.snapshot_path = strings.add(snapshot_path_);
  h.policy_name = strings.add(policy_name_);
  h.trash_dir = strings.add(trash_dir_);
  h.proxy_port = proxy_port_;
  h.dns_port = dns_port_;
  h.gate_addr = gate_addr_;
  h.exec_fast = exec_fast;

  // Pass 2: the records (strings are interned as we go; the area is placed last).
  std::vector<FileRule> out_file_rules;
  std::vector<Glob> out_globs;
  out_file_rules.reserve(file_rules_.size());
  out_globs.reserve(n_globs);
  for (const auto& r : file_rules_) {
    FileRule fr;
    memset(&fr, 0, sizeof fr);
    fr.name = strings.add(r.name);
    fr.message = strings.add(r.message);
    fr.redirect_to = strings.add(r.redirect_to);
    fr.ops = r.ops;
    fr.decision = static_cast<uint8_t>(r.decision);
    fr.globs = Array{to_u32(globs.off + sizeof(Glob) * out_globs.size()), to_u32(r.globs.size())};
    for (const std::string& g : r.globs) {
      Glob og;
      og.pattern = strings.add(g);
      og.prefix_len = to_u32(glob::literal_prefix(g.data(), g.size()));
      if (og.prefix_len < 2) {
        fr.flags |= kRuleScanAlways;
      } else {
        unsigned bit = static_cast<unsigned char>(g[1]) & 63u;
        fr.head_mask[bit / 32] |= 1u << (bit % 32);
      }
      out_globs.push_back(og);
    }
    out_file_rules.push_back(fr);
  }

  std::vector<NetRule> out_net_rules;
  std::vector<Str> out_domains;
  std::vector<Cidr> out_cidrs;
  std::vector<PortRange> out_ports;
  for (const auto& r : net_rules_) {
    NetRule nr;
    memset(&nr, 0, sizeof nr);
    nr.name = strings.add(r.name);
    nr.message = strings.add(r.message);
    nr.decision = static_cast<uint8_t>(r.decision);
    nr.domains =
        Array{to_u32(domains.off + sizeof(Str) * out_domains.size()), to_u32(r.domains.size())};
    for (const std::string& d : r.domains) out_domains.push_back(strings.add(d));
    nr.cidrs = Array{to_u32(cidrs.off + sizeof(Cidr) * out_cidrs.size()), to_u32(r.cidrs.size())};
    for (const cidr::Cidr& c : r.cidrs) {
      Cidr oc;
      memset(&oc, 0, sizeof oc);
      memcpy(oc.net, c.net.b, 16);
      oc.prefix = c.prefix;
      out_cidrs.push_back(oc);
    }
    nr.ports =
        Array{to_u32(ports.off + sizeof(PortRange) * out_ports.size()), to_u32(r.ports.size())};
    for (const auto& [lo, hi] : r.ports) {
      out_ports.push_back(PortRange{lo <= hi ? lo : hi, lo <= hi ? hi : lo});
    }
    out_net_rules.push_back(nr);
  }

  std::vector<Protected> out_protect;
  for (const auto& [path, kind] : protect_) {
    Protected p;
    memset(&p, 0, sizeof p);
    // A trailing slash would make is_under miss the directory itself ("/x/" vs "/x").
    std::string_view v = path;
    while (v.size() > 1 && v.back() == '/') v.remove_suffix(1);
    p.path = strings.add(v);
    p.kind = kind;
    out_protect.push_back(p);
  }

  ef.rules = exec_rules;
  ef.keys = exec_key_arr;
  ef.globs = exec_glob_arr;
  std::vector<ExecRule> out_exec_rules;
  for (size_t i = 0; i < exec_rules.count; ++i) {
    ExecRule er;
    memset(&er, 0, sizeof er);
    er.decision = static_cast<uint8_t>(exec_rules_[i].decision);
    er.has_args = exec_rules_[i].has_args ? 1 : 0;
    out_exec_rules.push_back(er);
  }
  std::vector<ExecKey> out_exec_keys;
  for (const auto& [key, acc] : exec_keys) {
    ExecKey k;
    memset(&k, 0, sizeof k);
    k.text = strings.add(key.second);
    k.plain = acc.plain;
    k.args = acc.args ? 1 : 0;
    k.flags = acc.flags;
    out_exec_keys.push_back(k);
  }
  std::vector<ExecGlob> out_exec_globs;
  for (const PendingGlob& g : exec_globs) {
    ExecGlob og;
    memset(&og, 0, sizeof og);
    og.pattern = strings.add(g.pattern);
    og.rule = g.rule;
    og.path = g.path ? 1 : 0;
    out_exec_globs.push_back(og);
  }

  h.strings = Array{to_u32(cursor), to_u32(strings.bytes().size())};
  size_t total = cursor + strings.bytes().size();
  h.total_size = to_u32(total);

  std::string blob(total, '\0');
  put(&blob, 0, h);
  for (size_t i = 0; i < out_file_rules.size(); ++i) {
    put(&blob, to_u32(file_rules.off + i * sizeof(FileRule)), out_file_rules[i]);
  }
  for (size_t i = 0; i < out_globs.size(); ++i) {
    put(&blob, to_u32(globs.off + i * sizeof(Glob)), out_globs[i]);
  }
  for (size_t i = 0; i < out_net_rules.size(); ++i) {
    put(&blob, to_u32(net_rules.off + i * sizeof(NetRule)), out_net_rules[i]);
  }
  for (size_t i = 0; i < out_domains.size(); ++i) {
    put(&blob, to_u32(domains.off + i * sizeof(Str)), out_domains[i]);
  }
  for (size_t i = 0; i < out_cidrs.size(); ++i) {
    put(&blob, to_u32(cidrs.off + i * sizeof(Cidr)), out_cidrs[i]);
  }
  for (size_t i = 0; i < out_ports.size(); ++i) {
    put(&blob, to_u32(ports.off + i * sizeof(PortRange)), out_ports[i]);
  }
  for (size_t i = 0; i < out_protect.size(); ++i) {
    put(&blob, to_u32(protect.off + i * sizeof(Protected)), out_protect[i]);
  }
  if (exec_fast.count == 1) put(&blob, exec_fast.off, ef);
  for (size_t i = 0; i < out_exec_rules.size(); ++i) {
    put(&blob, to_u32(exec_rules.off + i * sizeof(ExecRule)), out_exec_rules[i]);
  }
  for (size_t i = 0; i < out_exec_keys.size(); ++i) {
    put(&blob, to_u32(exec_key_arr.off + i * sizeof(ExecKey)), out_exec_keys[i]);
  }
  for (size_t i = 0; i < out_exec_globs.size(); ++i) {
    put(&blob, to_u32(exec_glob_arr.off + i * sizeof(ExecGlob)), out_exec_globs[i]);
  }
  memcpy(blob.data() + cursor, strings.bytes().data(), strings.bytes().size());
  return blob;
}

}  // namespace agentsh::snapshot
