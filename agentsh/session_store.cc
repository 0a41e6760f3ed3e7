// Minimal session store (the server issue extends it): JSON files under dir_.
#include "agentsh/session_store.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <climits>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "agentsh/project_root.h"

namespace agentsh {

namespace {
int64_t now_us() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}
bool mkdirs(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
  auto slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0 && !mkdirs(dir.substr(0, slash))) return false;
  return mkdir(dir.c_str(), 0750) == 0 || errno == EEXIST;
}
nlohmann::json to_json(const SessionInfo& s) {
  return {{"id", s.id},         {"workspace", s.workspace}, {"project_root", s.project_root},
          {"git_root", s.git_root}, {"policy", s.policy},   {"created_us", s.created_us},
          {"last_active_us", s.last_active_us}};
}
bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}
bool write_atomic(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!(out << data)) return false;
  }
  return rename(tmp.c_str(), path.c_str()) == 0;
}
}  // namespace

std::optional<SessionInfo> SessionStore::create(const std::string& workspace,
                                                const std::string& policy, std::string* error) {
  char real[PATH_MAX];
  if (!realpath(workspace.c_str(), real)) {
    *error = "workspace " + workspace + ": " + strerror(errno);
    return std::nullopt;
  }
  std::random_device rd;
  std::ostringstream id;
  id << "sess-" << std::hex;
  for (int i = 0; i < 4; ++i) id << ((rd() & 0xffff) | 0x10000) % 0x10000;
  SessionInfo s;
  s.id = id.str();
  s.workspace = real;
  ProjectRoots roots = detect_project_roots(real);
  s.project_root = roots.project_root;
  s.git_root = roots.git_root;
  s.policy = policy;
  s.created_us = s.last_active_us = now_us();
  std::string d = dir_ + "/" + s.id;
  if (!mkdirs(d) || !write_atomic(d + "/session.json", to_json(s).dump(2))) {
    *error = "cannot write session under " + dir_ + ": " + strerror(errno);
    return std::nullopt;
  }
  return s;
}

std::optional<SessionInfo> SessionStore::load(const std::string& id, std::string* error) const {
  if (!valid_id(id)) {
    *error = "invalid session id '" + id + "'";
    return std::nullopt;
  }
  std::ifstream in(dir_ + "/" + id + "/session.json");
  if (!in) {
    *error = "no session '" + id + "' in " + dir_;
    return std::nullopt;
  }
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    SessionInfo s;
    s.id = j.value("id", id);
    s.workspace = j.value("workspace", "");
    s.project_root = j.value("project_root", "");
    s.git_root = j.value("git_root", "");
    s.policy = j.value("policy", "");
    s.created_us = j.value("created_us", int64_t{0});
    s.last_active_us = j.value("last_active_us", int64_t{0});
    return s;
  } catch (const std::exception& e) {
    *error = "session '" + id + "': " + e.what();
    return std::nullopt;
  }
}

std::vector<SessionInfo> SessionStore::list() const {
  std::vector<SessionInfo> out;
  DIR* d = opendir(dir_.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string err;
    if (e->d_name[0] == '.') continue;
    if (auto s = load(e->d_name, &err)) out.push_back(*s);
  }
  closedir(d);
  return out;
}

bool SessionStore::destroy(const std::string& id, std::string* error) {
  if (!valid_id(id)) {
    *error = "invalid session id '" + id + "'";
    return false;
  }
  std::string d = dir_ + "/" + id;
  if (unlink((d + "/session.json").c_str()) != 0 || rmdir(d.c_str()) != 0) {
    *error = "cannot remove session '" + id + "': " + strerror(errno);
    return false;
  }
  return true;
}

bool SessionStore::touch(const std::string& id) {
  std::string err;
  auto s = load(id, &err);
  if (!s) return false;
  s->last_active_us = now_us();
  return write_atomic(dir_ + "/" + id + "/session.json", to_json(*s).dump(2));
}

}  // namespace agentsh
