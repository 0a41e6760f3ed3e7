#include "policy/loader_cache.h"

#include <elf.h>
#include <link.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "common/cache_file.h"

namespace agentsh::policy::loader_cache {

namespace {

constexpr uint32_t kFormat = 1;
constexpr cache_file::Kind kKind = {{'A', 'G', 'S', 'H', 'P', 'O', 'L', 'C'}, kFormat, 16u << 20};

// The serializer below lists every field of the model. A field added to a struct
// without being added here would silently vanish from cached policies: these asserts
// make that a compile error (update fields() and kFormat, then the sizes).
// x86-64 sizes (the only target).
static_assert(sizeof(SourcePos) == 40, "policy model changed: update loader_cache fields()");
static_assert(sizeof(EnvPolicy) == 64, "policy model changed: update loader_cache fields()");
static_assert(sizeof(FileRule) == 216, "policy model changed: update loader_cache fields()");
static_assert(sizeof(NetworkRule) == 224, "policy model changed: update loader_cache fields()");
static_assert(sizeof(CommandRedirect) == 128, "policy model changed: update loader_cache fields()");
static_assert(sizeof(CommandRule) == 360, "policy model changed: update loader_cache fields()");
static_assert(sizeof(SignalRule) == 296, "policy model changed: update loader_cache fields()");
static_assert(sizeof(DnsRedirect) == 200, "policy model changed: update loader_cache fields()");
static_assert(sizeof(ConnectRedirect) == 296, "policy model changed: update loader_cache fields()");
static_assert(sizeof(ResourceLimits) == 88, "policy model changed: update loader_cache fields()");
static_assert(sizeof(AuditSettings) == 16, "policy model changed: update loader_cache fields()");
static_assert(sizeof(Policy) == 416, "policy model changed: update loader_cache fields()");
static_assert(sizeof(Diagnostic) == 104, "policy model changed: update loader_cache fields()");

// The GNU build id of the main program (ld --build-id, Debian's default): a hash of the
// linked binary, so it changes with any change to the code. Empty if there is none (the
// cache is then off).
int find_build_id(struct dl_phdr_info* info, size_t, void* data) {
  auto* out = static_cast<std::string*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
    const char* end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      ElfW(Nhdr) nh;
      memcpy(&nh, p, sizeof nh);
      const char* name = p + sizeof nh;
      const char* desc = name + ((nh.n_namesz + 3) & ~3u);
      const char* next = desc + ((nh.n_descsz + 3) & ~3u);
      if (next > end) break;
      if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
        out->assign(desc, nh.n_descsz);
        return 1;
      }
      p = next;
    }
  }
  return 1;  // only the first object (the main program) is of interest
}

const std::string& build_id() {
  static const std::string id = [] {
    std::string s;
    dl_iterate_phdr(find_build_id, &s);
    return s;
  }();
  return id;
}

// One function per struct lists its fields for both directions: `A` is Writer (and `X`
// const) or Reader, which have the same member names, so the two cannot disagree about
// the layout. Declared before Writer and Reader, which find them by ordinary lookup.
template <class A, class X>
requires std::is_same_v<std::remove_const_t<X>, SourcePos>
void fields(A& a, X& p) {
  a.val(p.file);
  a.val(p.line);
  a.val(p.column);
}
template <class A, class X>
requires std::is_same_v<std::remove_const_t<X>, EnvPolicy>
void fields(A& a, X& e) {
  a.val(e.allow);
  a.val(e.deny);
  a.val(e.max_bytes);
  a.val(e.max_keys);
  a.val(e.block_iteration);
  a.val(e.present);
}
template <class A, class X>
requires std::is_same_v<std::remove_const_t<X>, FileRule>
void fields(A& a, X& r) {
  a.val(r.name);
  a.val(r.description);
  a.val(r.message);
  a.val(r.paths);
  a.val(r.ops);
  a.val(r.decision);
  a.val(r.redirect_to);
  a.val(r.preserve_tree);
  a.val(r.timeout_ms);
  a.val(r.pos);
}
template <class A, class X>
requires std::is_same_v<std::remove_const_t<X>, NetworkRule>
void fields(A& a, X& r) {
  a.val(r.name);
  a.val(r.description);
  a.val(r.message);
  a.val(r.domains);
  a.val(r.cidrs);
  a.val(r.ports);
  a.val(r.decision);
  a.val(r.timeout_ms);
  a.val(r.pos);
}
template <class A, class X>
requires std::is_same_v<std::remove_const_t<X>, CommandRedirect>
void fields(A& a, X& r) {
  a.val(r.command);
  a.val(r.args);
  a.val(r.args_append);
  a.val(r.environment);
}
template <class A, class X>
requires std::is_same_v<std::remove_const_t<X>, CommandRule>
void fields(A& a, X& r) {
  a.val(r.name);
  a.val(r.description);
  a.val(r.message);
  a.val(r.commands);
  a.val(r.args_patterns);
  a.val(r.decision);
  a.val(r.redirect_to);
  a.val(r.context);
  a.val(r.timeout_ms);
  a.val(r.pos);
}
template <class A, class X>
requires std::is_same_v<std::remove_const_t<X>, SignalRule>
void fields(A& a, X& r) {
  a.val(r.name);
  a.val(r.description);
  a.val(r.message);
  a.val(r.signals);
  a.val(r.target);
  a.val(r.target_pattern);
  a.val(r.target_min);
  a.val(r.target_max);
  a.val(r.decision);
  a.val(r.redirect_to);
  a.val(r.fallback);
  a.val(r.timeout_ms);
  a.val(r.pos);
}
template <class A, class X>
requires std::is_same_v<std::remove_const_t<X>, DnsRedirect>
void fields(A& a, X& r) {
  a.val(r.name);
  a.val(r.match);
  a.val(r.resolve_to);
  a.val(r.visibility);
  a.val(r.on_failure);
  a.val(r.pos);
}
template <class A, class X>
requires std::is_same_v<std::remove_const_t<X>, ConnectRedirect>
void fields(A& a, X& r) {
  a.val(r.name);
  a.val(r.match);
  a.val(r.redirect_to);
  a.val(r.tls_mode);
  a.val(r.sni);
  a.val(r.visibility);
  a.val(r.message);
  a.val(r.on_failure);
  a.val(r.pos);
}
template <class A, class X>
requires std::is_same_v<std::remove_const_t<X>, ResourceLimits>
void fields(A& a, X& l) {
  a.val(l.max_memory_mb);
  a.val(l.memory_swap_max_mb);
  a.val(l.cpu_quota_percent);
  a.val(l.pids_max);
  a.val(l.disk_read_bps_max);
  a.val(l.disk_write_bps_max);
  a.val(l.net_bandwidth_mbps);
  a.val(l.command_timeout_ms);
  a.val(l.session_timeout_ms);
  a.val(l.idle_timeout_ms);
  a.val(l.present);
}
template <class A, class X>
requires std::is_same_v<std::remove_const_t<X>, AuditSettings>
void fields(A& a, X& s) {
  a.val(s.log_allowed);
  a.val(s.log_denied);
  a.val(s.log_approved);
  a.val(s.include_stdout);
  a.val(s.include_stderr);
  a.val(s.include_file_content);
  a.val(s.retention_days);
  a.val(s.present);
}
template <class A, class X>
requires std::is_same_v<std::remove_const_t<X>, Policy>
void fields(A& a, X& p) {
  a.val(p.version);
  a.val(p.name);
  a.val(p.description);
  a.val(p.source);
  a.val(p.env);
  a.val(p.file_rules);
  a.val(p.network_rules);
  a.val(p.command_rules);
  a.val(p.signal_rules);
  a.val(p.dns_redirects);
  a.val(p.connect_redirects);
  a.val(p.limits);
  a.val(p.audit);
}
template <class A, class X>
requires std::is_same_v<std::remove_const_t<X>, Diagnostic>
void fields(A& a, X& d) {
  a.val(d.file);
  a.val(d.line);
  a.val(d.column);
  a.val(d.rule);
  a.val(d.message);
}

class Writer {
 public:
  std::string out;
  template <class T>
  requires std::is_arithmetic_v<T> || std::is_enum_v<T>
  void val(const T& v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void val(const std::string& s) {
    val(uint64_t(s.size()));
    out += s;
  }
  template <class T>
  void val(const std::vector<T>& v) {
    val(uint64_t(v.size()));
    for (const T& x : v) val(x);
  }
  template <class A, class B>
  void val(const std::pair<A, B>& p) {
    val(p.first);
    val(p.second);
  }
  template <class K, class V>
  void val(const std::map<K, V>& m) {
    val(uint64_t(m.size()));
    for (const auto& [k, v] : m) {
      val(k);
      val(v);
    }
  }
  template <class T>
  void val(const std::optional<T>& o) {
    val(uint8_t(o.has_value()));
    if (o) val(*o);
  }
  template <class T>
  requires requires(Writer& w, const T& t) { fields(w, t); }
  void val(const T& t) { fields(*this, t); }
};

class Reader {
 public:
  Reader(const char* p, size_t n) : p_(p), end_(p + n) {}
  bool ok() const { return ok_; }
  bool at_end() const { return p_ == end_; }

  template <class T>
  requires std::is_arithmetic_v<T> || std::is_enum_v<T>
  void val(T& v) { take(&v, sizeof v); }
  void val(std::string& s) {
    uint64_t n = 0;
    val(n);
    if (!ok_ || n > uint64_t(end_ - p_)) return fail();
    s.assign(p_, n);
    p_ += n;
  }
  template <class T>
  void val(std::vector<T>& v) {
    uint64_t n = 0;
    val(n);
    // Every element takes at least one byte: a count beyond what is left is corrupt.
    if (!ok_ || n > uint64_t(end_ - p_)) return fail();
    v.resize(n);
    for (T& x : v) val(x);
  }
  template <class A, class B>
  void val(std::pair<A, B>& p) {
    val(p.first);
    val(p.second);
  }
  template <class K, class V>
  void val(std::map<K, V>& m) {
    uint64_t n = 0;
    val(n);
    if (!ok_ || n > uint64_t(end_ - p_)) return fail();
    for (uint64_t i = 0; i < n && ok_; ++i) {
      K k;
      V v;
      val(k);
      val(v);
      m.emplace(std::move(k), std::move(v));
    }
  }
  template <class T>
  void val(std::optional<T>& o) {
    uint8_t has = 0;
    val(has);
    if (has > 1) return fail();
    if (has) {
      o.emplace();
      val(*o);
    } else {
      o.reset();
    }
  }
  template <class T>
  requires requires(Reader& r, T& t) { fields(r, t); }
  void val(T& t) { fields(*this, t); }

 private:
  void fail() { ok_ = false; }
  void take(void* dst, size_t n) {
    if (!ok_ || n > size_t(end_ - p_)) return fail();
    memcpy(dst, p_, n);
    p_ += n;
  }
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

}  // namespace

std::string path_for(const std::string& dir, const std::string& key) {
  return dir + "/policy-" + key + ".bin";
}

std::string key_for(std::string_view yaml, const std::string& origin) {
  const std::string& bid = build_id();
  if (bid.empty()) return std::string();
  std::string material = "agentsh policy cache ";
  material += std::to_string(kFormat);
  material.push_back('\0');
  material += bid;
  material.push_back('\0');
  material += origin;
  material.push_back('\0');
  material.append(yaml.data(), yaml.size());
  return cache_file::key_of(material);
}

bool load(const std::string& dir, const std::string& key, LoadResult* out) {
  std::string payload;
  if (!cache_file::load(kKind, dir, path_for(dir, key), key, &payload)) return false;
  LoadResult r;
  Reader rd(payload.data(), payload.size());
  rd.val(r.policy);
  rd.val(r.warnings);
  if (!rd.ok() || !rd.at_end()) return false;
  r.ok = true;
  *out = std::move(r);
  return true;
}

bool store(const std::string& dir, const std::string& key, const LoadResult& r) {
  if (!r.ok) return false;
  Writer w;
  w.val(r.policy);
  w.val(r.warnings);
  return cache_file::store(kKind, dir, path_for(dir, key), key, w.out);
}

LoadResult load_policy_text_cached(std::string_view yaml, const std::string& origin,
                                   const std::string& dir) {
  std::string key = dir.empty() ? std::string() : key_for(yaml, origin);
  LoadResult r;
  if (!key.empty() && load(dir, key, &r)) return r;
  r = load_policy_text(yaml, origin);
  if (r.ok && !key.empty()) store(dir, key, r);
  return r;
}

}  // namespace agentsh::policy::loader_cache
