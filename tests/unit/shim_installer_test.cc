// ShellInstaller in throwaway --root trees (never the host's /bin): merged-/usr
// resolution, byte-for-byte restore, idempotence, dry-run, the host acknowledgement,
// tamper detection, and the patched shim.conf path.
#include "agentsh/shell_installer.h"

#include <gtest/gtest.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace agentsh {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string build_dir() {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = '\0';
  return fs::path(self).parent_path().parent_path().string();  // build/tests/.. = build
}

// sha256 computed by coreutils, independent of the installer's own implementation.
std::string sha256sum(const std::string& path) {
  std::string cmd = "sha256sum '" + path + "'";
  FILE* p = popen(cmd.c_str(), "r");
  char buf[128] = {};
  size_t n = p ? fread(buf, 1, 64, p) : 0;
  if (p) pclose(p);
  return std::string(buf, n);
}

// Everything under a tree: path → (type, size, target/hash), to prove "nothing changed".
std::map<std::string, std::string> snapshot(const std::string& root) {
  std::map<std::string, std::string> m;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const auto& p = it->path();
    struct stat st;
    lstat(p.c_str(), &st);
    std::string v = std::to_string(st.st_mode) + ":" + std::to_string(st.st_ino) + ":" +
                    std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_nsec);
    if (S_ISLNK(st.st_mode)) v += "->" + fs::read_symlink(p).string();
    m[p.string()] = v;
  }
  return m;
}

struct Captured {
  int rc;
  std::string out, err;
};

class ShimInstallerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shim_ = build_dir() + "/bin/agentsh-shell-shim";
    ASSERT_EQ(access(shim_.c_str(), X_OK), 0) << "build the shim first (make): " << shim_;
    char t[] = "/tmp/agentsh-shimroot-XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    root_ = t;
    // A merged-/usr Debian layout: /bin → usr/bin, /bin/sh → dash.
    fs::create_directories(root_ + "/usr/bin");
    fs::copy_file("/bin/bash", root_ + "/usr/bin/bash");
    fs::copy_file("/bin/dash", root_ + "/usr/bin/dash");
    chmod((root_ + "/usr/bin/bash").c_str(), 0755);
    chmod((root_ + "/usr/bin/dash").c_str(), 0755);
    fs::create_symlink("dash", root_ + "/usr/bin/sh");
    fs::create_symlink("usr/bin", root_ + "/bin");
    bash_orig_ = slurp(root_ + "/usr/bin/bash");
    dash_orig_ = slurp(root_ + "/usr/bin/dash");
  }
  void TearDown() override { fs::remove_all(root_); }

  ShellInstallOptions opts() {
    ShellInstallOptions o;
    o.root = root_;
    o.shim_path = shim_;
    return o;
  }
  Captured call(const ShellInstallOptions& o, int (ShellInstaller::*fn)()) {
    char *ob = nullptr, *eb = nullptr;
    size_t on = 0, en = 0;
    FILE* out = open_memstream(&ob, &on);
    FILE* err = open_memstream(&eb, &en);
    Captured c;
    {
      ShellInstaller inst(o, out, err);
      c.rc = (inst.*fn)();
    }
    fclose(out);
    fclose(err);
    c.out.assign(ob, on);
    c.err.assign(eb, en);
    free(ob);
    free(eb);
    return c;
  }
  Captured install(ShellInstallOptions o) { return call(o, &ShellInstaller::install); }
  Captured uninstall(ShellInstallOptions o) { return call(o, &ShellInstaller::uninstall); }
  Captured status(ShellInstallOptions o) { return call(o, &ShellInstaller::status); }
  std::string p(const std::string& rel) { return root_ + rel; }
  bool is_shim(const std::string& path) {
    return slurp(path).find("AGENTSH-SHIM-CONF-SLOT-v1:") != std::string::npos;
  }

  std::string shim_, root_, bash_orig_, dash_orig_;
};

TEST_F(ShimInstallerTest, InstallsIntoUsrBinThroughTheBinSymlink) {
  auto o = opts();
  o.bash_only = true;
  Captured c = install(o);
  ASSERT_EQ(c.rc, 0) << c.err;
  EXPECT_TRUE(fs::is_symlink(p("/bin"))) << "the /bin symlink must stay a symlink";
  EXPECT_TRUE(is_shim(p("/usr/bin/bash")));
  EXPECT_EQ(slurp(p("/usr/bin/bash.real")), bash_orig_);
  EXPECT_EQ(slurp(p("/bin/bash.real")), bash_orig_);
  struct stat st;
  ASSERT_EQ(stat(p("/usr/bin/bash").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  // The install record has the original's checksum (as coreutils computes it).
  auto state = nlohmann::json::parse(slurp(p("/var/lib/agentsh/shim-state")));
  EXPECT_EQ(state["entries"]["bash"]["sha256"], sha256sum(p("/usr/bin/bash.real")));
  EXPECT_EQ(state["entries"]["bash"]["path"], "/usr/bin/bash");
  EXPECT_FALSE(state["entries"].contains("sh"));
}

TEST_F(ShimInstallerTest, BashOnlyLeavesShAndDashUntouched) {
  auto o = opts();
  o.bash_only = true;
  ASSERT_EQ(install(o).rc, 0);
  EXPECT_TRUE(fs::is_symlink(p("/usr/bin/sh")));
  EXPECT_EQ(fs::read_symlink(p("/usr/bin/sh")), "dash");
  EXPECT_FALSE(fs::exists(fs::symlink_status(p("/usr/bin/sh.real"))));
  EXPECT_EQ(slurp(p("/usr/bin/dash")), dash_orig_);
}

TEST_F(ShimInstallerTest, WithoutBashOnlyShIsShimmedAndItsSymlinkKept) {
  ASSERT_EQ(install(opts()).rc, 0);
  EXPECT_TRUE(is_shim(p("/usr/bin/sh")));
  ASSERT_TRUE(fs::is_symlink(p("/usr/bin/sh.real")));
  EXPECT_EQ(fs::read_symlink(p("/usr/bin/sh.real")), "dash");
  EXPECT_EQ(slurp(p("/usr/bin/dash")), dash_orig_) << "dash itself is never replaced";
  Captured u = uninstall(opts());
  ASSERT_EQ(u.rc, 0) << u.err;
  ASSERT_TRUE(fs::is_symlink(p("/usr/bin/sh")));
  EXPECT_EQ(fs::read_symlink(p("/usr/bin/sh")), "dash");
}

TEST_F(ShimInstallerTest, AbsoluteSymlinksResolveInsideTheRoot) {
  fs::remove(p("/bin"));
  fs::create_symlink("/usr/bin", p("/bin"));  // absolute: must mean <root>/usr/bin
  bool host_had_real = fs::exists("/usr/bin/bash.real");
  auto o = opts();
  o.bash_only = true;
  Captured c = install(o);
  ASSERT_EQ(c.rc, 0) << c.err;
  EXPECT_EQ(slurp(p("/usr/bin/bash.real")), bash_orig_);
  EXPECT_EQ(fs::exists("/usr/bin/bash.real"), host_had_real) << "the host was touched";
}

TEST_F(ShimInstallerTest, SecondInstallChangesNothingAndSaysSo) {
  auto o = opts();
  o.bash_only = true;
  ASSERT_EQ(install(o).rc, 0);
  auto before = snapshot(root_);
  Captured c = install(o);
  EXPECT_EQ(c.rc, 0) << c.err;
  EXPECT_NE(c.out.find("already installed"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("no change"), std::string::npos) << c.out;
  EXPECT_EQ(snapshot(root_), before);
}

TEST_F(ShimInstallerTest, UninstallRestoresTheOriginalByteForByte) {
  struct stat orig;
  ASSERT_EQ(stat(p("/usr/bin/bash").c_str(), &orig), 0);
  std::string sum = sha256sum(p("/usr/bin/bash"));
  ASSERT_EQ(install(opts()).rc, 0);
  Captured u = uninstall(opts());
  ASSERT_EQ(u.rc, 0) << u.err;
  EXPECT_NE(u.out.find("sha256 verified"), std::string::npos) << u.out;
  EXPECT_EQ(slurp(p("/usr/bin/bash")), bash_orig_);
  EXPECT_EQ(sha256sum(p("/usr/bin/bash")), sum);
  struct stat now;
  ASSERT_EQ(stat(p("/usr/bin/bash").c_str(), &now), 0);
  EXPECT_EQ(now.st_ino, orig.st_ino) << "the original inode comes back (hard link kept)";
  EXPECT_EQ(now.st_mode, orig.st_mode);
  EXPECT_FALSE(fs::exists(p("/usr/bin/bash.real")));
  EXPECT_FALSE(fs::exists(p("/var/lib/agentsh/shim-state")));
  Captured again = uninstall(opts());
  EXPECT_EQ(again.rc, 0);
  EXPECT_NE(again.out.find("nothing to do"), std::string::npos) << again.out;
}

TEST_F(ShimInstallerTest, DryRunChangesNothing) {
  auto before = snapshot(root_);
  auto o = opts();
  o.dry_run = true;
  Captured c = install(o);
  ASSERT_EQ(c.rc, 0) << c.err;
  EXPECT_NE(c.out.find("would install the shim at " + p("/usr/bin/bash")), std::string::npos)
      << c.out;
  EXPECT_NE(c.out.find("would keep " + p("/usr/bin/bash") + " as " + p("/usr/bin/bash.real")),
            std::string::npos)
      << c.out;
  EXPECT_EQ(snapshot(root_), before);
  // And a dry-run uninstall of a real install changes nothing either.
  ASSERT_EQ(install(opts()).rc, 0);
  auto installed = snapshot(root_);
  Captured u = uninstall(o);
  ASSERT_EQ(u.rc, 0) << u.err;
  EXPECT_NE(u.out.find("would restore"), std::string::npos) << u.out;
  EXPECT_EQ(snapshot(root_), installed);
}

TEST_F(ShimInstallerTest, RefusesTheHostWithoutTheAcknowledgement) {
  ShellInstallOptions o;
  o.root = "/";
  o.shim_path = shim_;
  o.bash_only = true;
  bool host_had_real = fs::exists("/usr/bin/bash.real");
  Captured c = install(o);
  EXPECT_EQ(c.rc, 2);
  EXPECT_NE(c.err.find("--i-understand-this-modifies-the-host"), std::string::npos) << c.err;
  Captured u = uninstall(o);
  EXPECT_EQ(u.rc, 2);
  EXPECT_NE(u.err.find("--i-understand-this-modifies-the-host"), std::string::npos) << u.err;
  EXPECT_EQ(fs::exists("/usr/bin/bash.real"), host_had_real);
  // A root that is a symlink to / is still the host.
  fs::create_directory_symlink("/", p("/hostlink"));
  o.root = p("/hostlink");
  EXPECT_EQ(install(o).rc, 2);
}

TEST_F(ShimInstallerTest, UninstallRefusesAChangedRealShellUnlessForced) {
  ASSERT_EQ(install(opts()).rc, 0);
  { std::ofstream(p("/usr/bin/bash.real"), std::ios::app) << "tampered"; }
  Captured u = uninstall(opts());
  EXPECT_EQ(u.rc, 1);
  EXPECT_NE(u.err.find("changed since install"), std::string::npos) << u.err;
  EXPECT_TRUE(is_shim(p("/usr/bin/bash"))) << "nothing restored";
  Captured s = status(opts());
  EXPECT_EQ(s.rc, 1);
  EXPECT_NE(s.out.find("CHANGED since install"), std::string::npos) << s.out;
  auto o = opts();
  o.force = true;
  Captured f = uninstall(o);
  EXPECT_EQ(f.rc, 0) << f.err;
  EXPECT_EQ(slurp(p("/usr/bin/bash")), bash_orig_ + "tampered");
}

TEST_F(ShimInstallerTest, AReplacedShellIsNeverOverwrittenSilently) {
  auto o = opts();
  o.bash_only = true;
  ASSERT_EQ(install(o).rc, 0);
  // A package upgrade writes a new bash over the shim.
  fs::remove(p("/usr/bin/bash"));
  { std::ofstream(p("/usr/bin/bash")) << "new bash from the package manager"; }
  Captured u = uninstall(o);
  EXPECT_EQ(u.rc, 1);
  EXPECT_NE(u.err.find("no longer the agentsh shim"), std::string::npos) << u.err;
  Captured i = install(o);
  EXPECT_EQ(i.rc, 1);
  EXPECT_NE(i.err.find("--force"), std::string::npos) << i.err;
  EXPECT_EQ(slurp(p("/usr/bin/bash")), "new bash from the package manager");
  o.force = true;
  Captured f = install(o);
  ASSERT_EQ(f.rc, 0) << f.err;
  EXPECT_TRUE(is_shim(p("/usr/bin/bash")));
  EXPECT_EQ(slurp(p("/usr/bin/bash.real")), "new bash from the package manager");
  auto state = nlohmann::json::parse(slurp(p("/var/lib/agentsh/shim-state")));
  EXPECT_EQ(state["entries"]["bash"]["sha256"], sha256sum(p("/usr/bin/bash.real")));
}

TEST_F(ShimInstallerTest, InstalledShimCarriesTheShimConfPathOfItsRoot) {
  auto o = opts();
  o.bash_only = true;
  ASSERT_EQ(install(o).rc, 0);
  std::string bytes = slurp(p("/usr/bin/bash"));
  std::string want =
      "AGENTSH-SHIM-CONF-SLOT-v1:" + p("/etc/agentsh/shim.conf") + std::string(1, '\0');
  EXPECT_NE(bytes.find(want), std::string::npos);
  EXPECT_EQ(bytes.size(), slurp(shim_).size()) << "patched in place, same size";
  // The source shim itself is not modified.
  EXPECT_NE(slurp(shim_).find("AGENTSH-SHIM-CONF-SLOT-v1:/etc/agentsh/shim.conf"),
            std::string::npos);
}

TEST_F(ShimInstallerTest, RejectsBinariesThatAreNotTheShim) {
  auto o = opts();
  o.shim_path = "/bin/true";
  Captured c = install(o);
  EXPECT_EQ(c.rc, 1);
  EXPECT_NE(c.err.find("not an agentsh-shell-shim"), std::string::npos) << c.err;
  o.shim_path = build_dir() + "/bin/agentsh";  // knows the slot's name, has no slot
  c = install(o);
  EXPECT_EQ(c.rc, 1);
  EXPECT_NE(c.err.find("not an agentsh-shell-shim"), std::string::npos) << c.err;
  EXPECT_EQ(slurp(p("/usr/bin/bash")), bash_orig_);
}

TEST_F(ShimInstallerTest, MissingShellOrRootIsAClearError) {
  fs::remove(p("/usr/bin/bash"));
  auto o = opts();
  o.bash_only = true;
  Captured c = install(o);
  EXPECT_EQ(c.rc, 1);
  EXPECT_NE(c.err.find("no /usr/bin/bash in the tree"), std::string::npos) << c.err;
  o.root = p("/does-not-exist");
  c = install(o);
  EXPECT_EQ(c.rc, 2);
  EXPECT_NE(c.err.find("--root"), std::string::npos) << c.err;
}

TEST_F(ShimInstallerTest, StatusReportsEachShell) {
  Captured s0 = status(opts());
  EXPECT_EQ(s0.rc, 0);
  EXPECT_NE(s0.out.find("bash: not installed"), std::string::npos) << s0.out;
  EXPECT_NE(s0.out.find("sh: not installed (" + p("/usr/bin/sh") + " -> dash"), std::string::npos)
      << s0.out;
  auto o = opts();
  o.bash_only = true;
  ASSERT_EQ(install(o).rc, 0);
  fs::create_directories(p("/etc/agentsh"));
  { std::ofstream(p("/etc/agentsh/shim.conf")) << "# test\nforce = true\n"; }
  Captured s1 = status(opts());
  EXPECT_EQ(s1.rc, 0) << s1.out;
  EXPECT_NE(s1.out.find("bash: installed"), std::string::npos) << s1.out;
  EXPECT_NE(s1.out.find("matches the install record"), std::string::npos) << s1.out;
  EXPECT_NE(s1.out.find("sh: not installed"), std::string::npos) << s1.out;
  EXPECT_NE(s1.out.find("(force=true)"), std::string::npos) << s1.out;
}

}  // namespace
}  // namespace agentsh
