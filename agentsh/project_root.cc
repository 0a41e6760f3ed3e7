// PROJECT_ROOT / GIT_ROOT detection (contract in project_root.h).
//
// One refinement of the header's rule: the search for language markers stops at the
// git root when there is one. A Makefile in $HOME must not turn $HOME into the project
// root of every repository below it; a repository is the outer bound of a project.
#include "agentsh/project_root.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <array>
#include <string_view>

namespace agentsh {

namespace {

constexpr std::array<std::string_view, 9> kMarkers = {
    "go.mod",  "package.json", "Cargo.toml", "pyproject.toml", "setup.py",
    "pom.xml", "build.gradle", "Makefile",   "CMakeLists.txt"};

bool exists(const std::string& p) {
  struct stat st;
  return lstat(p.c_str(), &st) == 0;
}

std::string child(const std::string& dir, std::string_view name) {
  return dir == "/" ? "/" + std::string(name) : dir + "/" + std::string(name);
}

std::string parent(const std::string& dir) {
  auto slash = dir.find_last_of('/');
  return slash == 0 || slash == std::string::npos ? "/" : dir.substr(0, slash);
}

}  // namespace

ProjectRoots detect_project_roots(const std::string& workspace) {
  std::string start = workspace;
  if (char real[PATH_MAX]; realpath(workspace.c_str(), real)) start = real;
  while (start.size() > 1 && start.back() == '/') start.pop_back();
  if (start.empty()) start = "/";

  ProjectRoots r;
  std::string marker_dir;  // nearest directory holding a language marker
  for (std::string d = start;; d = parent(d)) {
    if (marker_dir.empty()) {
      for (std::string_view m : kMarkers) {
        if (exists(child(d, m))) {
          marker_dir = d;
          break;
        }
      }
    }
    if (exists(child(d, ".git"))) {
      r.git_root = d;
      break;  // the repository bounds the project (see the file comment)
    }
    if (d == "/") break;
  }
  r.project_root = !marker_dir.empty() ? marker_dir : !r.git_root.empty() ? r.git_root : start;
  return r;
}

}  // namespace agentsh
