// PROJECT_ROOT / GIT_ROOT detection: walk up from the workspace. Language markers
// (go.mod, package.json, Cargo.toml, pyproject.toml, setup.py, pom.xml, build.gradle,
// Makefile, CMakeLists.txt) set PROJECT_ROOT; the nearest .git sets GIT_ROOT (and
// PROJECT_ROOT if no language marker was found); with neither, PROJECT_ROOT is the
// workspace itself.
#pragma once

#include <string>

namespace agentsh {

struct ProjectRoots {
  std::string project_root;
  std::string git_root;
};

ProjectRoots detect_project_roots(const std::string& workspace);

}  // namespace agentsh
