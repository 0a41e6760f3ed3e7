// PROJECT_ROOT / GIT_ROOT detection from the markers in project_root.h.
#include "agentsh/project_root.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace agentsh {
namespace {

namespace fs = std::filesystem;

class ProjectRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/agentsh-proot-XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    root_ = t;
  }
  void TearDown() override { fs::remove_all(root_); }
  void touch(const std::string& rel) {
    fs::create_directories(fs::path(root_ + "/" + rel).parent_path());
    std::ofstream(root_ + "/" + rel) << "";
  }
  void mkdir(const std::string& rel) { fs::create_directories(root_ + "/" + rel); }
  std::string root_;
};

TEST_F(ProjectRootTest, NoMarkersMeansTheWorkspaceItself) {
  mkdir("a/b");
  ProjectRoots r = detect_project_roots(root_ + "/a/b");
  EXPECT_EQ(r.project_root, root_ + "/a/b");
  EXPECT_EQ(r.git_root, "");
}

TEST_F(ProjectRootTest, NearestLanguageMarkerWinsAndGitRootIsRecorded) {
  mkdir("repo/.git");
  touch("repo/services/api/go.mod");
  mkdir("repo/services/api/internal/x");
  ProjectRoots r = detect_project_roots(root_ + "/repo/services/api/internal/x");
  EXPECT_EQ(r.project_root, root_ + "/repo/services/api");
  EXPECT_EQ(r.git_root, root_ + "/repo");
}

TEST_F(ProjectRootTest, GitRootIsTheProjectRootWithoutLanguageMarkers) {
  touch("repo/.git");  // a worktree's .git is a file
  mkdir("repo/docs");
  ProjectRoots r = detect_project_roots(root_ + "/repo/docs");
  EXPECT_EQ(r.project_root, root_ + "/repo");
  EXPECT_EQ(r.git_root, root_ + "/repo");
}

TEST_F(ProjectRootTest, MarkerInTheWorkspaceItselfCounts) {
  for (const char* m : {"package.json", "Cargo.toml", "pyproject.toml", "setup.py", "pom.xml",
                        "build.gradle", "Makefile", "CMakeLists.txt"}) {
    std::string dir = std::string("p-") + m;
    touch(dir + "/" + m);
    ProjectRoots r = detect_project_roots(root_ + "/" + dir);
    EXPECT_EQ(r.project_root, root_ + "/" + dir) << m;
  }
}

TEST_F(ProjectRootTest, MarkersAboveTheRepositoryDoNotCount) {
  // A Makefile in $HOME must not make $HOME the project of every repository below it.
  touch("home/Makefile");
  mkdir("home/code/repo/.git");
  mkdir("home/code/repo/src");
  ProjectRoots r = detect_project_roots(root_ + "/home/code/repo/src");
  EXPECT_EQ(r.git_root, root_ + "/home/code/repo");
  EXPECT_EQ(r.project_root, root_ + "/home/code/repo");
}

TEST_F(ProjectRootTest, MarkerAboveWorkspaceWithoutGitIsFound) {
  touch("proj/Cargo.toml");
  mkdir("proj/src/bin");
  ProjectRoots r = detect_project_roots(root_ + "/proj/src/bin/");
  EXPECT_EQ(r.project_root, root_ + "/proj");
  EXPECT_EQ(r.git_root, "");
}

TEST_F(ProjectRootTest, SymlinkedWorkspaceIsResolved) {
  touch("real/package.json");
  fs::create_directory_symlink(root_ + "/real", root_ + "/link");
  ProjectRoots r = detect_project_roots(root_ + "/link");
  EXPECT_EQ(r.project_root, root_ + "/real");
}

}  // namespace
}  // namespace agentsh
