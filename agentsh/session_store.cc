// Sessions on disk (contract in session_store.h).
//
// Layout: <dir>/<id>/session.json. Every write goes to a temp file in the same
// directory, is fsync'd, then renamed over the old file, so a reader (another agentsh
// process, the server) sees either the old or the new session, never half of one.
// Ids are validated against the exact "sess-" + 16 hex format before they touch a
// path, so an id from an HTTP request can never name anything outside <dir>.
#include "agentsh/session_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "agentsh/project_root.h"
#include "common/fs_util.h"
#include "common/scoped_fd.h"

namespace agentsh {

namespace {

int64_t now_us() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

bool valid_id(const std::string& id) {
  if (id.size() != 21 || id.compare(0, 5, "sess-") != 0) return false;
  return std::all_of(id.begin() + 5, id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string new_id() {
  unsigned char b[8];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = getrandom(b + got, sizeof b - got, 0);
    if (n > 0)
      got += static_cast<size_t>(n);
    else if (errno != EINTR)
      break;
  }
  if (got < sizeof b) {  // getrandom unavailable: time and pid still make a unique id
    uint64_t v = static_cast<uint64_t>(now_us()) ^ (static_cast<uint64_t>(getpid()) << 40);
    memcpy(b, &v, sizeof b);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string id = "sess-";
  for (unsigned char c : b) {
    id += kHex[c >> 4];
    id += kHex[c & 15];
  }
  return id;
}

nlohmann::json to_json(const SessionInfo& s) {
  return {{"id", s.id},
          {"workspace", s.workspace},
          {"project_root", s.project_root},
          {"git_root", s.git_root},
          {"policy", s.policy},
          {"created_us", s.created_us},
          {"last_active_us", s.last_active_us}};
}

bool read_all(const std::string& path, std::string* out) {
  ScopedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  char buf[8192];
  out->clear();
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

std::optional<SessionInfo> SessionStore::create(const std::string& workspace,
                                                const std::string& policy, std::string* error) {
  char real[PATH_MAX];
  if (!realpath(workspace.c_str(), real)) {
    *error =
        "workspace " + workspace + ": " + strerror(errno) + " (it must be an existing directory)";
    return std::nullopt;
  }
  struct stat st;
  if (stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = "workspace " + workspace + " is not a directory";
    return std::nullopt;
  }
  if (!fs_util::make_dirs(dir_, 0750)) {
    *error = "sessions directory " + dir_ + ": " + strerror(errno) +
             " (set sessions.base_dir in the config to a writable directory)";
    return std::nullopt;
  }
  SessionInfo s;
  s.workspace = real;
  ProjectRoots roots = detect_project_roots(real);
  s.project_root = roots.project_root;
  s.git_root = roots.git_root;
  s.policy = policy;
  s.created_us = s.last_active_us = now_us();
  // mkdir is the uniqueness check: a (vanishingly unlikely) id collision just retries.
  for (int attempt = 0; attempt < 8; ++attempt) {
    s.id = new_id();
    std::string d = dir_ + "/" + s.id;
    if (mkdir(d.c_str(), 0750) != 0) {
      if (errno == EEXIST) continue;
      *error = "cannot create " + d + ": " + strerror(errno);
      return std::nullopt;
    }
    if (!fs_util::write_file_atomic(d + "/session.json", to_json(s).dump(2) + "\n", 0640)) {
      *error = "cannot write " + d + "/session.json: " + strerror(errno);
      rmdir(d.c_str());
      return std::nullopt;
    }
    return s;
  }
  *error = "could not pick an unused session id in " + dir_;
  return std::nullopt;
}

std::optional<SessionInfo> SessionStore::load(const std::string& id, std::string* error) const {
  std::string ignored;
  if (!error) error = &ignored;
  if (!valid_id(id)) {
    *error = "invalid session id '" + id + "' (expected sess- and 16 hex digits)";
    return std::nullopt;
  }
  std::string path = dir_ + "/" + id + "/session.json", text;
  if (!read_all(path, &text)) {
    *error = errno == ENOENT ? "no session '" + id + "' in " + dir_ : path + ": " + strerror(errno);
    return std::nullopt;
  }
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    *error = path + ": not a valid session file (malformed JSON)";
    return std::nullopt;
  }
  SessionInfo s;
  auto str = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto num = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : int64_t{0};
  };
  s.id = str("id");
  s.workspace = str("workspace");
  s.project_root = str("project_root");
  s.git_root = str("git_root");
  s.policy = str("policy");
  s.created_us = num("created_us");
  s.last_active_us = num("last_active_us");
  if (s.id != id || s.workspace.empty()) {
    *error = path + ": not a valid session file (id or workspace missing)";
    return std::nullopt;
  }
  return s;
}

std::vector<SessionInfo> SessionStore::list() const {
  std::vector<SessionInfo> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(dir_.c_str()), closedir);
  if (!d) return out;
  while (dirent* e = readdir(d.get())) {
    if (!valid_id(e->d_name)) continue;
    if (auto s = load(e->d_name, nullptr)) out.push_back(std::move(*s));
  }
  std::sort(out.begin(), out.end(), [](const SessionInfo& a, const SessionInfo& b) {
    return a.created_us != b.created_us ? a.created_us < b.created_us : a.id < b.id;
  });
  return out;
}

bool SessionStore::destroy(const std::string& id, std::string* error) {
  std::string ignored;
  if (!error) error = &ignored;
  if (!valid_id(id)) {
    *error = "invalid session id '" + id + "' (expected sess- and 16 hex digits)";
    return false;
  }
  std::string d = dir_ + "/" + id;
  struct stat st;
  if (lstat((d + "/session.json").c_str(), &st) != 0) {
    *error = "no session '" + id + "' in " + dir_;
    return false;
  }
  // session.json goes first: from then on no reader sees the session, even if removing
  // the rest (the session's trash, scratch files) fails half-way.
  if (unlink((d + "/session.json").c_str()) != 0) {
    *error = "cannot remove " + d + "/session.json: " + strerror(errno);
    return false;
  }
  std::error_code ec;
  std::filesystem::remove_all(d, ec);
  if (ec) {
    *error = "session '" + id + "' removed, but " + d + " could not be cleaned up: " + ec.message();
    return false;
  }
  return true;
}

bool SessionStore::touch(const std::string& id) {
  auto s = load(id, nullptr);
  if (!s) return false;
  s->last_active_us = now_us();
  return fs_util::write_file_atomic(dir_ + "/" + id + "/session.json", to_json(*s).dump(2) + "\n",
                                    0640);
}

}  // namespace agentsh
