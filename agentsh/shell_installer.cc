// Shell shim installer (contract in shell_installer.h).
#include "agentsh/shell_installer.h"
#include "common/fs_util.h"

#include <fcntl.h>
#include <limits.h>
#include <mbedtls/sha256.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>

#include "common/scoped_fd.h"
#include "shim/conf_slot.h"

namespace agentsh {

namespace {

using Json = nlohmann::json;

std::string errstr(int e = errno) {
  return strerror(e);
}

// The slot magic, forwards (see conf_slot.h for why it is stored reversed).
std::string slot_magic() {
  std::string m = AGENTSH_SHIM_SLOT_MAGIC_REVERSED;
  std::reverse(m.begin(), m.end());
  return m;
}

size_t count_occurrences(const std::string& hay, const std::string& needle, size_t* first) {
  size_t n = 0;
  for (size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) {
    if (n++ == 0 && first) *first = pos;
  }
  return n;
}

bool write_all(int fd, const char* p, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

std::string tmp_name(const std::string& path) {
  auto slash = path.find_last_of('/');
  return path.substr(0, slash + 1) + "." + path.substr(slash + 1) + ".agentsh-tmp." +
         std::to_string(getpid());
}

// Writes `data` to `path` atomically with the given mode and owner (temp + fsync +
// rename). Leaves nothing behind on failure; errno describes it.
bool write_atomic(const std::string& path, const std::string& data, mode_t mode, uid_t uid,
                  gid_t gid) {
  std::string tmp = tmp_name(path);
  unlink(tmp.c_str());
  ScopedFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return false;
  bool ok = write_all(fd.get(), data.data(), data.size()) &&
            (fchown(fd.get(), uid, gid) == 0 || geteuid() != 0) && fchmod(fd.get(), mode) == 0 &&
            fsync(fd.get()) == 0 && rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) {
    int e = errno;
    unlink(tmp.c_str());
    errno = e;
  }
  return ok;
}

// Copies src to dst (which must not exist) keeping mode, owner and times.
bool copy_preserving(const std::string& src, const std::string& dst) {
  ScopedFd in(open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return false;
  struct stat st;
  if (fstat(in.get(), &st) != 0) return false;
  ScopedFd out(open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out) return false;
  char buf[65536];
  bool ok = true;
  for (;;) {
    ssize_t n = read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (n > 0 && !write_all(out.get(), buf, static_cast<size_t>(n)))) {
      ok = false;
      break;
    }
    if (n == 0) break;
  }
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  ok = ok && (fchown(out.get(), st.st_uid, st.st_gid) == 0 || geteuid() != 0) &&
       fchmod(out.get(), st.st_mode & 07777) == 0 && futimens(out.get(), times) == 0 &&
       fsync(out.get()) == 0;
  if (!ok) {
    int e = errno;
    unlink(dst.c_str());
    errno = e;
  }
  return ok;
}

bool read_link(const std::string& path, std::string* out) {
  char buf[PATH_MAX];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf);
  if (n < 0 || static_cast<size_t>(n) >= sizeof buf) return false;
  out->assign(buf, static_cast<size_t>(n));
  return true;
}

std::vector<std::string> split_path(const std::string& p) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    if (j > i) parts.push_back(p.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

// Resolves the directory `path` as seen inside `root` ("" = the host): symlinks are
// followed with absolute targets taken relative to the root and ".." clamped at it.
// Returns the in-root path ("/usr/bin").
bool resolve_dir_in_root(const std::string& root, const std::string& path, std::string* out,
                         std::string* err) {
  std::vector<std::string> cur;
  auto parts = split_path(path);
  std::deque<std::string> todo(parts.begin(), parts.end());
  int links = 0;
  auto joined = [&] {
    std::string s;
    for (const auto& c : cur) s += "/" + c;
    return s.empty() ? std::string("/") : s;
  };
  while (!todo.empty()) {
    std::string c = todo.front();
    todo.pop_front();
    if (c == ".") continue;
    if (c == "..") {
      if (!cur.empty()) cur.pop_back();
      continue;
    }
    std::string in_root = (cur.empty() ? "" : joined()) + "/" + c;
    std::string host = root + in_root;
    struct stat st;
    if (lstat(host.c_str(), &st) != 0) {
      *err = host + ": " + errstr();
      return false;
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target;
      if (++links > 40 || !read_link(host, &target)) {
        *err = host + ": " +
               (links > 40 ? std::string("too many levels of symbolic links") : errstr());
        return false;
      }
      if (!target.empty() && target[0] == '/') cur.clear();
      auto tparts = split_path(target);
      todo.insert(todo.begin(), tparts.begin(), tparts.end());
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      *err = host + " is not a directory";
      return false;
    }
    cur.push_back(c);
  }
  *out = joined();
  return true;
}

struct Sha256Ctx {
  Sha256Ctx() { mbedtls_sha256_init(&ctx); }
  ~Sha256Ctx() { mbedtls_sha256_free(&ctx); }
  Sha256Ctx(const Sha256Ctx&) = delete;
  Sha256Ctx& operator=(const Sha256Ctx&) = delete;
  mbedtls_sha256_context ctx;
};

std::string hex(const unsigned char* p, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += kHex[p[i] >> 4];
    s += kHex[p[i] & 15];
  }
  return s;
}

std::string sha256_bytes(const std::string& data) {
  unsigned char out[32];
  mbedtls_sha256_ret(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, 0);
  return hex(out, sizeof out);
}

std::string mode_str(mode_t m) {
  char buf[16];
  snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

int64_t now_us() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

}  // namespace

ShellInstaller::ShellInstaller(ShellInstallOptions opts, FILE* out, FILE* err)
    : opts_(std::move(opts)), out_(out), err_(err) {}

std::string ShellInstaller::sha256_file(const std::string& path) {
  ScopedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return "";
  Sha256Ctx c;
  mbedtls_sha256_starts_ret(&c.ctx, 0);
  unsigned char buf[65536];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return "";
    if (n == 0) break;
    mbedtls_sha256_update_ret(&c.ctx, buf, static_cast<size_t>(n));
  }
  unsigned char out[32];
  mbedtls_sha256_finish_ret(&c.ctx, out);
  return hex(out, sizeof out);
}

std::string ShellInstaller::find_default_shim() {
  std::vector<std::string> cands;
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string s(self, static_cast<size_t>(n));
    cands.push_back(s.substr(0, s.find_last_of('/') + 1) + "agentsh-shell-shim");
  }
  for (const char* d : {"/usr/local/bin", "/usr/bin", "/usr/lib/agentsh"})
    cands.push_back(std::string(d) + "/agentsh-shell-shim");
  for (const auto& c : cands)
    if (access(c.c_str(), X_OK) == 0) return c;
  return "";
}

void ShellInstaller::act(const std::string& what) {
  if (opts_.dry_run) fprintf(out_, "would %s\n", what.c_str());
}

int ShellInstaller::prepare(const char* verb, bool modifies) {
  char real[PATH_MAX];
  if (!realpath(opts_.root.c_str(), real)) {
    fprintf(err_, "agentsh shim %s: root %s: %s (pass an existing directory to --root)\n", verb,
            opts_.root.c_str(), errstr().c_str());
    return 2;
  }
  root_ = strcmp(real, "/") == 0 ? "" : real;
  if (modifies && root_.empty() && !opts_.acknowledged && !opts_.dry_run) {
    fprintf(err_,
            "agentsh shim %s: refusing to modify this host's /bin/bash without "
            "--i-understand-this-modifies-the-host\n"
            "  (use --root DIR to work on another tree, or --dry-run to see what would change)\n",
            verb);
    return 2;
  }
  state_path_ = root_ + "/var/lib/agentsh/shim-state";
  conf_path_ = root_ + "/etc/agentsh/shim.conf";
  return 0;
}

bool ShellInstaller::resolve_targets(std::vector<Target>* out) {
  std::string bin, err;
  if (!resolve_dir_in_root(root_, "/bin", &bin, &err)) {
    fprintf(err_, "agentsh shim: cannot resolve /bin inside %s: %s\n",
            root_.empty() ? "/" : root_.c_str(), err.c_str());
    return false;
  }
  for (const char* name : {"bash", "sh"}) {
    if (opts_.bash_only && strcmp(name, "sh") == 0) continue;
    Target t;
    t.name = name;
    t.in_root = (bin == "/" ? "" : bin) + "/" + name;
    t.host = root_ + t.in_root;
    t.real = t.host + ".real";
    out->push_back(std::move(t));
  }
  return true;
}

bool ShellInstaller::load_shim(std::string* bytes) {
  std::string src = opts_.shim_path.empty() ? find_default_shim() : opts_.shim_path;
  if (src.empty()) {
    fprintf(err_,
            "agentsh shim: no agentsh-shell-shim found next to agentsh, in /usr/local/bin, "
            "/usr/bin or /usr/lib/agentsh; pass --shim PATH\n");
    return false;
  }
  if (!fs_util::read_file(src, bytes)) {
    fprintf(err_, "agentsh shim: cannot read the shim %s: %s\n", src.c_str(), errstr().c_str());
    return false;
  }
  size_t pos = 0;
  size_t n = count_occurrences(*bytes, slot_magic(), &pos);
  if (n != 1) {
    fprintf(err_,
            "agentsh shim: %s is not an agentsh-shell-shim (%s); pass the shim built as "
            "build/bin/agentsh-shell-shim\n",
            src.c_str(), n == 0 ? "no configuration slot in it" : "more than one slot");
    return false;
  }
  if (conf_path_.size() + 1 > shim_slot::kPathCap ||
      pos + shim_slot::kMagicLen + shim_slot::kPathCap > bytes->size()) {
    fprintf(err_, "agentsh shim: the shim.conf path %s does not fit the shim's slot\n",
            conf_path_.c_str());
    return false;
  }
  char* slot = bytes->data() + pos + shim_slot::kMagicLen;
  memset(slot, 0, shim_slot::kPathCap);
  memcpy(slot, conf_path_.data(), conf_path_.size());
  return true;
}

bool ShellInstaller::load_state() {
  state_ = Json{{"version", 1}, {"entries", Json::object()}};
  std::string text;
  if (!fs_util::read_file(state_path_, &text)) return errno == ENOENT;
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("entries") || !j["entries"].is_object()) {
    fprintf(err_, "agentsh shim: %s is not a valid shim state file (malformed JSON)\n",
            state_path_.c_str());
    return false;
  }
  state_ = std::move(j);
  return true;
}

bool ShellInstaller::save_state() {
  if (state_["entries"].empty()) {
    if (unlink(state_path_.c_str()) != 0 && errno != ENOENT) {
      fprintf(err_, "agentsh shim: cannot remove %s: %s\n", state_path_.c_str(), errstr().c_str());
      return false;
    }
    return true;
  }
  state_["shim_conf"] = conf_path_;
  if (!fs_util::make_dirs(state_path_.substr(0, state_path_.find_last_of('/'))) ||
      !write_atomic(state_path_, state_.dump(2) + "\n", 0644, 0, 0)) {
    fprintf(err_, "agentsh shim: cannot write the install record %s: %s\n", state_path_.c_str(),
            errstr().c_str());
    return false;
  }
  return true;
}

int ShellInstaller::install() {
  if (int rc = prepare("install-shell", true)) return rc;
  std::string shim;
  std::vector<Target> targets;
  if (!load_shim(&shim) || !resolve_targets(&targets) || !load_state()) return 1;
  int worst = 0;
  for (const Target& t : targets) worst = std::max(worst, install_one(t, shim));
  if (worst == 0 && !opts_.dry_run) {
    fprintf(out_, "shim.conf: %s (force=true there routes non-TTY shells through agentsh too)\n",
            conf_path_.c_str());
    fprintf(out_, "install record: %s\n", state_path_.c_str());
  }
  return worst;
}

int ShellInstaller::install_one(const Target& t, const std::string& shim) {
  struct stat st;
  if (lstat(t.host.c_str(), &st) != 0) {
    fprintf(err_, "%s: no %s in the tree (looked at %s: %s); nothing to replace\n", t.name.c_str(),
            t.in_root.c_str(), t.host.c_str(), errstr().c_str());
    return 1;
  }
  struct stat rst;
  bool real_exists = lstat(t.real.c_str(), &rst) == 0;
  std::string current;
  if (S_ISREG(st.st_mode) && !fs_util::read_file(t.host, &current)) {
    fprintf(err_, "%s: cannot read %s: %s\n", t.name.c_str(), t.host.c_str(), errstr().c_str());
    return 1;
  }
  bool is_shim = S_ISREG(st.st_mode) && count_occurrences(current, slot_magic(), nullptr) > 0;
  Json& entries = state_["entries"];

  if (is_shim) {
    if (!real_exists) {
      fprintf(err_,
              "%s: %s is an agentsh shim but %s.real is missing: the real shell is gone; "
              "reinstall %s from the package manager, then run install-shell again\n",
              t.name.c_str(), t.host.c_str(), t.host.c_str(), t.name.c_str());
      return 1;
    }
    if (current == shim) {
      fprintf(out_, "%s: already installed at %s (no change)%s\n", t.name.c_str(), t.host.c_str(),
              entries.contains(t.name) ? "" : " — but there is no install record for it");
      return 0;
    }
    act("update the shim at " + t.host + " (different shim build or shim.conf path)");
    if (!opts_.dry_run) {
      if (!write_atomic(t.host, shim, st.st_mode & 0777, st.st_uid, st.st_gid)) {
        fprintf(err_, "%s: cannot update %s: %s\n", t.name.c_str(), t.host.c_str(),
                errstr().c_str());
        return 1;
      }
      if (entries.contains(t.name)) {
        entries[t.name]["shim_sha256"] = sha256_bytes(shim);
        if (!save_state()) return 1;
      }
      fprintf(out_, "%s: updated the shim at %s\n", t.name.c_str(), t.host.c_str());
    }
    return 0;
  }

  if (real_exists && !opts_.force) {
    fprintf(err_,
            "%s: %s.real already exists but %s is not the agentsh shim (replaced by a package "
            "update?); refusing to overwrite %s.real. Re-run with --force to keep the current %s "
            "as %s.real and install the shim\n",
            t.name.c_str(), t.host.c_str(), t.host.c_str(), t.host.c_str(), t.host.c_str(),
            t.host.c_str());
    return 1;
  }

  Json e;
  e["path"] = t.in_root;
  e["real"] = t.in_root + ".real";
  e["mode"] = mode_str(st.st_mode);
  e["uid"] = st.st_uid;
  e["gid"] = st.st_gid;
  e["installed_us"] = now_us();
  e["shim_sha256"] = sha256_bytes(shim);
  if (S_ISLNK(st.st_mode)) {
    std::string target;
    if (!read_link(t.host, &target)) {
      fprintf(err_, "%s: cannot read the symlink %s: %s\n", t.name.c_str(), t.host.c_str(),
              errstr().c_str());
      return 1;
    }
    e["kind"] = "symlink";
    e["link_target"] = target;
  } else if (S_ISREG(st.st_mode)) {
    e["kind"] = "file";
    e["sha256"] = sha256_bytes(current);
    e["size"] = current.size();
  } else {
    fprintf(err_, "%s: %s is neither a file nor a symlink; not replacing it\n", t.name.c_str(),
            t.host.c_str());
    return 1;
  }

  act("keep " + t.host + " as " + t.real +
      (e["kind"] == "symlink" ? " (a symlink to " + e["link_target"].get<std::string>() + ")"
                              : " (sha256 " + e["sha256"].get<std::string>() + ")"));
  act("install the shim at " + t.host + " (shim.conf: " + conf_path_ + ")");
  act("record the install in " + state_path_);
  if (opts_.dry_run) return 0;

  // 1. NAME.real appears beside NAME (NAME never disappears).
  std::string tmp_real = tmp_name(t.real);
  unlink(tmp_real.c_str());
  bool made;
  if (e["kind"] == "symlink") {
    made = symlink(e["link_target"].get<std::string>().c_str(), tmp_real.c_str()) == 0;
  } else {
    made = link(t.host.c_str(), tmp_real.c_str()) == 0 || copy_preserving(t.host, tmp_real);
  }
  if (!made || rename(tmp_real.c_str(), t.real.c_str()) != 0) {
    int err = errno;
    unlink(tmp_real.c_str());
    fprintf(err_, "%s: cannot create %s: %s\n", t.name.c_str(), t.real.c_str(),
            errstr(err).c_str());
    return 1;
  }
  if (e["kind"] == "file" && sha256_file(t.real) != e["sha256"]) {
    fprintf(err_,
            "%s: %s does not match %s after copying; left both in place, shim not installed\n",
            t.name.c_str(), t.real.c_str(), t.host.c_str());
    return 1;
  }
  // 2. The shim replaces NAME in one rename.
  mode_t mode = S_ISREG(st.st_mode) ? (st.st_mode & 0777) : 0755;
  if (!write_atomic(t.host, shim, mode, st.st_uid, st.st_gid)) {
    int err = errno;
    fprintf(err_, "%s: cannot write the shim to %s: %s (the original is untouched)\n",
            t.name.c_str(), t.host.c_str(), errstr(err).c_str());
    if (!real_exists) unlink(t.real.c_str());
    return 1;
  }
  entries[t.name] = e;
  if (!save_state()) return 1;
  fprintf(out_, "%s: installed the shim at %s; the real shell is %s\n", t.name.c_str(),
          t.host.c_str(), t.real.c_str());
  return 0;
}

int ShellInstaller::uninstall() {
  if (int rc = prepare("uninstall-shell", true)) return rc;
  if (!load_state()) return 1;
  std::vector<Target> targets;
  if (!resolve_targets(&targets)) return 1;
  Json& entries = state_["entries"];
  if (entries.empty() && !opts_.force) {
    bool any_real = false;
    for (const Target& t : targets) any_real = any_real || access(t.real.c_str(), F_OK) == 0;
    if (!any_real) {
      fprintf(out_, "not installed (no install record at %s, no .real shells): nothing to do\n",
              state_path_.c_str());
      return 0;
    }
    fprintf(err_,
            "agentsh shim uninstall-shell: no install record at %s, so the .real shells cannot be "
            "verified; --force restores them without verification\n",
            state_path_.c_str());
    return 1;
  }
  int worst = 0;
  for (const Target& t : targets) {
    bool have_record = entries.contains(t.name);
    if (!have_record && !(opts_.force && access(t.real.c_str(), F_OK) == 0)) continue;
    // The record's own path wins over today's resolution (the tree may have changed).
    Target rt = t;
    if (have_record && entries[t.name].contains("path")) {
      rt.in_root = entries[t.name]["path"].get<std::string>();
      rt.host = root_ + rt.in_root;
      rt.real = rt.host + ".real";
    }
    worst = std::max(worst, uninstall_one(rt, have_record));
  }
  return worst;
}

int ShellInstaller::uninstall_one(const Target& t, bool have_record) {
  Json& entries = state_["entries"];
  Json e = have_record ? entries[t.name] : Json::object();
  struct stat rst;
  if (lstat(t.real.c_str(), &rst) != 0) {
    fprintf(err_, "%s: %s is missing (%s): cannot restore the real shell\n", t.name.c_str(),
            t.real.c_str(), errstr().c_str());
    return 1;
  }
  std::string kind = e.value("kind", S_ISLNK(rst.st_mode) ? "symlink" : "file");
  std::string now_sum, recorded;
  if (kind == "symlink") {
    read_link(t.real, &now_sum);
    recorded = e.value("link_target", "");
  } else {
    now_sum = sha256_file(t.real);
    recorded = e.value("sha256", "");
  }
  if (have_record && now_sum != recorded) {
    if (!opts_.force) {
      fprintf(err_,
              "%s: %s changed since install (%s now %s, recorded %s); not restoring a file this "
              "installer cannot vouch for. --force restores it anyway\n",
              t.name.c_str(), t.real.c_str(), kind == "symlink" ? "link target" : "sha256",
              now_sum.c_str(), recorded.c_str());
      return 1;
    }
    fprintf(err_, "%s: warning: %s changed since install; restoring it anyway (--force)\n",
            t.name.c_str(), t.real.c_str());
  }
  struct stat st;
  if (lstat(t.host.c_str(), &st) == 0) {
    std::string current;
    bool is_shim = S_ISREG(st.st_mode) && fs_util::read_file(t.host, &current) &&
                   count_occurrences(current, slot_magic(), nullptr) > 0;
    if (!is_shim && !opts_.force) {
      fprintf(err_,
              "%s: %s is no longer the agentsh shim (replaced since install?); not overwriting it. "
              "--force restores %s over it anyway\n",
              t.name.c_str(), t.host.c_str(), t.real.c_str());
      return 1;
    }
  }
  act("restore " + t.real + " to " + t.host);
  if (opts_.dry_run) return 0;
  if (rename(t.real.c_str(), t.host.c_str()) != 0) {
    fprintf(err_, "%s: cannot rename %s to %s: %s\n", t.name.c_str(), t.real.c_str(),
            t.host.c_str(), errstr().c_str());
    return 1;
  }
  std::string verified;
  if (kind == "file" && !recorded.empty()) {
    verified = sha256_file(t.host) == recorded ? " (sha256 verified)"
                                               : " (sha256 DIFFERS from the record)";
  }
  entries.erase(t.name);
  if (!save_state()) return 1;
  fprintf(out_, "%s: restored %s%s\n", t.name.c_str(), t.host.c_str(), verified.c_str());
  return 0;
}

int ShellInstaller::status() {
  if (int rc = prepare("status", false)) return rc;
  if (!load_state()) return 1;
  bool saved_bash_only = opts_.bash_only;
  opts_.bash_only = false;
  std::vector<Target> targets;
  bool ok = resolve_targets(&targets);
  opts_.bash_only = saved_bash_only;
  if (!ok) return 1;
  int rc = 0;
  Json& entries = state_["entries"];
  for (const Target& t : targets) {
    struct stat st, rst;
    bool exists = lstat(t.host.c_str(), &st) == 0;
    bool real_exists = lstat(t.real.c_str(), &rst) == 0;
    std::string current;
    bool is_shim = exists && S_ISREG(st.st_mode) && fs_util::read_file(t.host, &current) &&
                   count_occurrences(current, slot_magic(), nullptr) > 0;
    const char* name = t.name.c_str();
    if (is_shim && real_exists) {
      std::string check = " (no install record)";
      if (entries.contains(t.name)) {
        const Json& e = entries[t.name];
        std::string now_sum, recorded;
        if (e.value("kind", "") == "symlink") {
          read_link(t.real, &now_sum);
          recorded = e.value("link_target", "");
        } else {
          now_sum = sha256_file(t.real);
          recorded = e.value("sha256", "");
        }
        check = now_sum == recorded ? " (matches the install record)"
                                    : " (CHANGED since install: uninstall will refuse)";
        if (now_sum != recorded) rc = 1;
      }
      fprintf(out_, "%s: installed: %s is the agentsh shim; real shell %s%s\n", name,
              t.host.c_str(), t.real.c_str(), check.c_str());
    } else if (is_shim) {
      fprintf(out_, "%s: BROKEN: %s is the agentsh shim but %s is missing\n", name, t.host.c_str(),
              t.real.c_str());
      rc = 1;
    } else if (real_exists) {
      fprintf(out_, "%s: INCONSISTENT: %s exists but %s is not the agentsh shim\n", name,
              t.real.c_str(), t.host.c_str());
      rc = 1;
    } else if (!exists) {
      fprintf(out_, "%s: not installed (%s does not exist)\n", name, t.host.c_str());
    } else {
      std::string link;
      if (S_ISLNK(st.st_mode) && read_link(t.host, &link)) link = " -> " + link;
      fprintf(out_, "%s: not installed (%s%s is the system's)\n", name, t.host.c_str(),
              link.c_str());
    }
  }
  std::string conf;
  if (fs_util::read_file(conf_path_, &conf)) {
    bool force = false;
    size_t pos = 0;
    while (pos < conf.size()) {
      size_t nl = conf.find('\n', pos);
      std::string line = conf.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      pos = nl == std::string::npos ? conf.size() : nl + 1;
      line.erase(std::remove_if(line.begin(), line.end(), ::isspace), line.end());
      for (auto& ch : line) ch = static_cast<char>(tolower(static_cast<unsigned char>(ch)));
      if (line == "force=true" || line == "force=1" || line == "force=yes") force = true;
      if (line == "force=false" || line == "force=0" || line == "force=no") force = false;
    }
    fprintf(out_, "shim.conf: %s (force=%s)\n", conf_path_.c_str(), force ? "true" : "false");
  } else {
    fprintf(out_,
            "shim.conf: %s (absent: non-TTY shells bypass agentsh unless AGENTSH_SHIM_FORCE=1)\n",
            conf_path_.c_str());
  }
  fprintf(out_, "install record: %s%s\n", state_path_.c_str(),
          access(state_path_.c_str(), F_OK) == 0 ? "" : " (none)");
  return rc;
}

}  // namespace agentsh
