// `agentsh shim …` as a user runs it: the host is refused without the acknowledgement
// (and a dry-run on the host changes nothing), and a --root tree round-trips.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/exec_support.h"
#include "tests/integration/server_test_support.h"

namespace agentsh {
namespace {

using server_test::clean_env;
using testing_support::agentsh_bin;
using testing_support::repo_root;
using testing_support::run;
using testing_support::RunResult;
using testing_support::TempDir;

std::string shim_bin() {
  return repo_root() + "/build/bin/agentsh-shell-shim";
}

RunResult shim(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {agentsh_bin(), "shim"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, clean_env());
}

// mode, inode, size and mtime of the host's bash: enough to see any change.
std::string host_bash_identity() {
  struct stat st;
  if (stat("/usr/bin/bash", &st) != 0 && stat("/bin/bash", &st) != 0) return "none";
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
         std::to_string(access("/usr/bin/bash.real", F_OK));
}

TEST(ShimCliTest, TheHostIsRefusedWithoutTheAcknowledgement) {
  std::string before = host_bash_identity();
  RunResult r = shim({"install-shell", "--shim", shim_bin(), "--bash-only"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("refusing to modify this host's /bin/bash without "
                       "--i-understand-this-modifies-the-host"),
            std::string::npos)
      << r.err;
  RunResult u = shim({"uninstall-shell", "--root", "/"});
  EXPECT_EQ(u.status, 2);
  EXPECT_EQ(host_bash_identity(), before);
}

TEST(ShimCliTest, ADryRunOnTheHostChangesNothing) {
  std::string before = host_bash_identity();
  RunResult r =
      shim({"install-shell", "--root", "/", "--shim", shim_bin(), "--bash-only", "--dry-run"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("would install the shim at "), std::string::npos) << r.out;
  EXPECT_EQ(host_bash_identity(), before);
}

TEST(ShimCliTest, RoundTripInATree) {
  TempDir d;
  std::string root = d.path() + "/root";
  ASSERT_EQ(run({"/bin/mkdir", "-p", root + "/usr/bin"}, {}).status, 0);
  ASSERT_EQ(symlink("usr/bin", (root + "/bin").c_str()), 0);
  ASSERT_EQ(run({"/bin/cp", "-p", "/bin/bash", root + "/usr/bin/bash"}, {}).status, 0);
  RunResult sum_before = run({"/usr/bin/sha256sum", root + "/usr/bin/bash"}, clean_env());

  RunResult i = shim({"install-shell", "--root", root, "--shim", shim_bin(), "--bash-only"});
  ASSERT_EQ(i.status, 0) << i.err;
  EXPECT_NE(i.out.find("bash: installed the shim at " + root + "/usr/bin/bash"), std::string::npos)
      << i.out;
  RunResult again = shim({"install-shell", "--root", root, "--shim", shim_bin(), "--bash-only"});
  EXPECT_EQ(again.status, 0);
  EXPECT_NE(again.out.find("already installed"), std::string::npos) << again.out;
  RunResult st = shim({"status", "--root", root});
  EXPECT_EQ(st.status, 0) << st.out;
  EXPECT_NE(st.out.find("bash: installed"), std::string::npos) << st.out;
  RunResult u = shim({"uninstall-shell", "--root", root});
  ASSERT_EQ(u.status, 0) << u.err;
  RunResult sum_after = run({"/usr/bin/sha256sum", root + "/usr/bin/bash"}, clean_env());
  EXPECT_EQ(sum_after.out, sum_before.out);
}

TEST(ShimCliTest, UsageErrors) {
  EXPECT_EQ(shim({}).status, 2);
  EXPECT_EQ(shim({"install-everything"}).status, 2);
  EXPECT_EQ(shim({"status", "--unknown"}).status, 2);
}

}  // namespace
}  // namespace agentsh
