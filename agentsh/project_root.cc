#include "agentsh/project_root.h"

#include <sys/stat.h>

namespace agentsh {

namespace {
bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}
}  // namespace

ProjectRoots detect_project_roots(const std::string& workspace) {
  static const char* kMarkers[] = {"go.mod",   "package.json", "Cargo.toml",     "pyproject.toml",
                                   "setup.py", "pom.xml",      "build.gradle",   "Makefile",
                                   "CMakeLists.txt"};
  ProjectRoots r;
  std::string dir = workspace;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  for (std::string d = dir;;) {
    if (r.project_root.empty()) {
      for (const char* m : kMarkers)
        if (exists(d + "/" + m)) {
          r.project_root = d;
          break;
        }
    }
    if (r.git_root.empty() && exists(d + "/.git")) r.git_root = d;
    if (!r.project_root.empty() && !r.git_root.empty()) break;
    if (d == "/" || d.empty()) break;
    auto slash = d.find_last_of('/');
    d = slash == 0 ? "/" : d.substr(0, slash);
  }
  if (r.project_root.empty()) r.project_root = r.git_root.empty() ? dir : r.git_root;
  if (r.project_root.empty()) r.project_root = "/";
  return r;
}

}  // namespace agentsh
