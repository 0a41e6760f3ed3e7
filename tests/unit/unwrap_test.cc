// Wrapper unwrapping (policy/command_unwrap) and the shell reader behind `sh -c`
// (policy/shell_words): which commands a command line really starts.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/command_unwrap.h"
#include "policy/shell_words.h"

namespace agentsh {
namespace {

using Argv = std::vector<std::string>;

std::vector<Argv> layers_of(const Argv& argv) {
  std::vector<Argv> out;
  for (const auto& l : command_unwrap::unwrap(argv).layers) out.push_back(l.argv);
  return out;
}

struct UnwrapCase {
  const char* name;
  Argv argv;
  std::vector<Argv> want;  // every layer, outermost first
};

class UnwrapTable : public ::testing::TestWithParam<UnwrapCase> {};

TEST_P(UnwrapTable, FindsEveryLayer) {
  const UnwrapCase& c = GetParam();
  EXPECT_EQ(layers_of(c.argv), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Wrappers, UnwrapTable,
    ::testing::Values(
        UnwrapCase{"plain", {"/bin/ls", "/"}, {{"/bin/ls", "/"}}},
        UnwrapCase{
            "env", {"env", "sudo", "whoami"}, {{"env", "sudo", "whoami"}, {"sudo", "whoami"}}},
        UnwrapCase{"env_assign", {"env", "FOO=1", "ls"}, {{"env", "FOO=1", "ls"}, {"ls"}}},
        UnwrapCase{"env_i_assign",
                   {"env", "-i", "PATH=/bin", "sudo", "id"},
                   {{"env", "-i", "PATH=/bin", "sudo", "id"}, {"sudo", "id"}}},
        UnwrapCase{
            "env_unset_chdir",
            {"/usr/bin/env", "-u", "HOME", "--unset=PATH", "-C", "/tmp", "A=b", "id"},
            {{"/usr/bin/env", "-u", "HOME", "--unset=PATH", "-C", "/tmp", "A=b", "id"}, {"id"}}},
        UnwrapCase{"env_attached_unset",
                   {"env", "-uHOME", "-", "x"},
                   {{"env", "-uHOME", "-", "x"}, {"x"}}},
        UnwrapCase{"env_split_string",
                   {"env", "-S", "sudo -n id", "extra"},
                   {{"env", "-S", "sudo -n id", "extra"}, {"sudo", "-n", "id", "extra"}}},
        UnwrapCase{"env_alone_prints", {"env", "-i", "A=1"}, {{"env", "-i", "A=1"}}},
        UnwrapCase{"env_unknown_option_stops",
                   {"env", "--frobnicate", "sudo"},
                   {{"env", "--frobnicate", "sudo"}}},
        UnwrapCase{"nice_n",
                   {"nice", "-n", "5", "sudo", "ls"},
                   {{"nice", "-n", "5", "sudo", "ls"}, {"sudo", "ls"}}},
        UnwrapCase{"nice_numeric", {"nice", "-10", "make"}, {{"nice", "-10", "make"}, {"make"}}},
        UnwrapCase{"nice_long",
                   {"nice", "--adjustment=3", "make"},
                   {{"nice", "--adjustment=3", "make"}, {"make"}}},
        UnwrapCase{"nohup_env",
                   {"nohup", "env", "sudo", "id"},
                   {{"nohup", "env", "sudo", "id"}, {"env", "sudo", "id"}, {"sudo", "id"}}},
        UnwrapCase{"timeout",
                   {"timeout", "5", "sudo", "ls"},
                   {{"timeout", "5", "sudo", "ls"}, {"sudo", "ls"}}},
        UnwrapCase{
            "timeout_opts",
            {"timeout", "-s", "KILL", "--kill-after=3", "--preserve-status", "1m", "make", "-j2"},
            {{"timeout", "-s", "KILL", "--kill-after=3", "--preserve-status", "1m", "make", "-j2"},
             {"make", "-j2"}}},
        UnwrapCase{
            "time_p", {"time", "-p", "sudo", "ls"}, {{"time", "-p", "sudo", "ls"}, {"sudo", "ls"}}},
        UnwrapCase{"gnu_time_format",
                   {"/usr/bin/time", "-f", "%e", "-o", "t", "cc", "x.c"},
                   {{"/usr/bin/time", "-f", "%e", "-o", "t", "cc", "x.c"}, {"cc", "x.c"}}},
        UnwrapCase{"stdbuf",
                   {"stdbuf", "-oL", "-e", "0", "--input=0", "grep", "x"},
                   {{"stdbuf", "-oL", "-e", "0", "--input=0", "grep", "x"}, {"grep", "x"}}},
        UnwrapCase{"xargs_cmd",
                   {"xargs", "-0", "-n", "1", "sudo"},
                   {{"xargs", "-0", "-n", "1", "sudo"}, {"sudo"}}},
        UnwrapCase{"xargs_default_echo", {"xargs", "-r"}, {{"xargs", "-r"}, {"echo"}}},
        UnwrapCase{"xargs_replace",
                   {"xargs", "-I{}", "rm", "{}"},
                   {{"xargs", "-I{}", "rm", "{}"}, {"rm", "{}"}}},
        UnwrapCase{"setsid",
                   {"setsid", "-f", "sudo", "x"},
                   {{"setsid", "-f", "sudo", "x"}, {"sudo", "x"}}},
        UnwrapCase{"chrt", {"chrt", "-f", "10", "sudo"}, {{"chrt", "-f", "10", "sudo"}, {"sudo"}}},
        UnwrapCase{"chrt_pid_mode", {"chrt", "-p", "10", "1234"}, {{"chrt", "-p", "10", "1234"}}},
        UnwrapCase{
            "ionice", {"ionice", "-c", "3", "sudo"}, {{"ionice", "-c", "3", "sudo"}, {"sudo"}}},
        UnwrapCase{"ionice_pid_mode", {"ionice", "-p", "1"}, {{"ionice", "-p", "1"}}},
        UnwrapCase{
            "taskset", {"taskset", "-c", "0", "sudo"}, {{"taskset", "-c", "0", "sudo"}, {"sudo"}}},
        UnwrapCase{
            "exec_builtin", {"exec", "-a", "x", "sudo"}, {{"exec", "-a", "x", "sudo"}, {"sudo"}}},
        UnwrapCase{"command_builtin",
                   {"command", "sudo", "id"},
                   {{"command", "sudo", "id"}, {"sudo", "id"}}},
        UnwrapCase{"command_v_is_lookup", {"command", "-v", "sudo"}, {{"command", "-v", "sudo"}}},
        UnwrapCase{"find_exec",
                   {"find", "/tmp", "-maxdepth", "0", "-exec", "sudo", "whoami", ";", "-print"},
                   {{"find", "/tmp", "-maxdepth", "0", "-exec", "sudo", "whoami", ";", "-print"},
                    {"sudo", "whoami"}}},
        UnwrapCase{"find_execdir_plus",
                   {"find", ".", "-execdir", "rm", "{}", "+"},
                   {{"find", ".", "-execdir", "rm", "{}", "+"}, {"rm", "{}"}}},
        UnwrapCase{"bash_c",
                   {"bash", "-c", "echo hi; sudo ls"},
                   {{"bash", "-c", "echo hi; sudo ls"}, {"echo", "hi"}, {"sudo", "ls"}}},
        UnwrapCase{"bash_real_c_pipe_xargs",
                   {"/bin/bash.real", "-c", "echo whoami | xargs sudo"},
                   {{"/bin/bash.real", "-c", "echo whoami | xargs sudo"},
                    {"echo", "whoami"},
                    {"xargs", "sudo"},
                    {"sudo"}}},
        UnwrapCase{"sh_c_quoted",
                   {"sh", "-c", "ls | xargs sudo"},
                   {{"sh", "-c", "ls | xargs sudo"}, {"ls"}, {"xargs", "sudo"}, {"sudo"}}},
        UnwrapCase{"sh_ec_cluster",
                   {"sh", "-ec", "sudo id", "name", "arg"},
                   {{"sh", "-ec", "sudo id", "name", "arg"}, {"sudo", "id"}}},
        UnwrapCase{"bash_o_option",
                   {"bash", "-o", "pipefail", "-c", "make"},
                   {{"bash", "-o", "pipefail", "-c", "make"}, {"make"}}},
        UnwrapCase{"bash_login_c",
                   {"bash", "--noprofile", "--norc", "-lc", "id"},
                   {{"bash", "--noprofile", "--norc", "-lc", "id"}, {"id"}}},
        UnwrapCase{"bash_script_file", {"bash", "build.sh", "-c"}, {{"bash", "build.sh", "-c"}}},
        UnwrapCase{"dash_zsh_ksh",
                   {"zsh", "-c", "ksh -c 'dash -c sudo'"},
                   {{"zsh", "-c", "ksh -c 'dash -c sudo'"},
                    {"ksh", "-c", "dash -c sudo"},
                    {"dash", "-c", "sudo"},
                    {"sudo"}}},
        UnwrapCase{"eval",
                   {"eval", "sudo", "id;", "ls"},
                   {{"eval", "sudo", "id;", "ls"}, {"sudo", "id"}, {"ls"}}},
        UnwrapCase{"busybox",
                   {"busybox", "sh", "-c", "sudo"},
                   {{"busybox", "sh", "-c", "sudo"}, {"sh", "-c", "sudo"}, {"sudo"}}}),
    [](const ::testing::TestParamInfo<UnwrapCase>& i) { return std::string(i.param.name); });

TEST(Unwrap, LayersBelowTheCommandLineAreNested) {
  auto r = command_unwrap::unwrap({"env", "nice", "sudo"});
  ASSERT_EQ(r.layers.size(), 3u);
  EXPECT_FALSE(r.layers[0].nested);
  EXPECT_EQ(r.layers[0].depth, 0);
  EXPECT_TRUE(r.layers[1].nested);
  EXPECT_EQ(r.layers[2].depth, 2);
  EXPECT_FALSE(r.truncated);
}

TEST(Unwrap, DepthLimitIsReported) {
  Argv argv;
  for (int i = 0; i < 9; ++i) argv.push_back("env");
  argv.push_back("sudo");
  auto r = command_unwrap::unwrap(argv, 8);
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.layers.size(), 9u);  // depths 0..8; sudo at depth 9 was not reached
  argv.erase(argv.begin());
  r = command_unwrap::unwrap(argv, 8);
  EXPECT_FALSE(r.truncated);
  EXPECT_EQ(r.layers.back().argv, Argv{"sudo"});
}

TEST(Unwrap, UnreadableShellStringStillChecksTheFirstWord) {
  auto r = command_unwrap::unwrap({"bash", "-c", "sudo 'unterminated"});
  EXPECT_TRUE(r.incomplete);
  bool saw_sudo = false;
  for (const auto& l : r.layers) saw_sudo |= (!l.argv.empty() && l.argv[0] == "sudo");
  EXPECT_TRUE(saw_sudo);
}

TEST(Unwrap, WrapperNameStripsPathAndRealSuffix) {
  EXPECT_EQ(command_unwrap::wrapper_name("/bin/bash.real"), "bash");
  EXPECT_EQ(command_unwrap::wrapper_name("env"), "env");
  EXPECT_EQ(command_unwrap::wrapper_name("/usr/bin/.real"), ".real");
}

// ---- the shell reader -------------------------------------------------------------------

struct ShellCase {
  const char* name;
  const char* script;
  std::vector<Argv> want;
  bool complete;
};

class ShellTable : public ::testing::TestWithParam<ShellCase> {};

TEST_P(ShellTable, SplitsIntoSimpleCommands) {
  const ShellCase& c = GetParam();
  shell_words::Script s = shell_words::parse(c.script);
  EXPECT_EQ(s.commands, c.want) << c.script;
  EXPECT_EQ(s.complete, c.complete) << c.script;
}

INSTANTIATE_TEST_SUITE_P(
    Scripts, ShellTable,
    ::testing::Values(
        ShellCase{"separators",
                  "a 1; b 2 && c || d | e |& f & g\nh",
                  {{"a", "1"}, {"b", "2"}, {"c"}, {"d"}, {"e"}, {"f"}, {"g"}, {"h"}},
                  true},
        ShellCase{"quotes",
                  "echo 'a b' \"c $HOME d\" e\\ f",
                  {{"echo", "a b", "c $HOME d", "e f"}},
                  true},
        ShellCase{"assignments_stripped", "FOO=1 BAR='x y' sudo id", {{"sudo", "id"}}, true},
        ShellCase{"only_assignment", "FOO=1", {}, true},
        ShellCase{"redirections_stripped",
                  "sudo id >/tmp/o 2>&1 </dev/null &>>log",
                  {{"sudo", "id"}},
                  true},
        ShellCase{"redirection_first", ">out 2> err sudo ls", {{"sudo", "ls"}}, true},
        ShellCase{"subshell", "(cd /tmp && sudo ls)", {{"cd", "/tmp"}, {"sudo", "ls"}}, true},
        ShellCase{"group", "{ echo a; sudo b; }", {{"echo", "a"}, {"sudo", "b"}}, true},
        ShellCase{"command_substitution",
                  "echo $(sudo cat /etc/shadow) x",
                  {{"sudo", "cat", "/etc/shadow"}, {"echo", "$(…)", "x"}},
                  true},
        ShellCase{"nested_substitution_in_quotes",
                  "echo \"$(id -u $(sudo id))\"",
                  {{"sudo", "id"}, {"id", "-u", "$(…)"}, {"echo", "$(…)"}},
                  true},
        ShellCase{"backquotes", "echo `sudo id`", {{"sudo", "id"}, {"echo", "`…`"}}, true},
        ShellCase{"process_substitution",
                  "diff <(sudo ls) file",
                  {{"sudo", "ls"}, {"diff", "<(…)", "file"}},
                  true},
        ShellCase{"if_while_keywords",
                  "if sudo true; then ls; else id; fi; while x; do y; done",
                  {{"sudo", "true"}, {"ls"}, {"id"}, {"x"}, {"y"}},
                  true},
        ShellCase{"for_loop", "for f in a b; do sudo $f; done", {{"sudo", "$f"}}, true},
        ShellCase{"negation", "! sudo false", {{"sudo", "false"}}, true},
        ShellCase{"comment", "ls # sudo rm\nid", {{"ls"}, {"id"}}, true},
        ShellCase{"heredoc", "cat <<EOF\nsudo rm -rf /\nEOF\nid", {{"cat"}, {"id"}}, true},
        ShellCase{
            "heredoc_substitution_incomplete", "cat <<EOF\n$(sudo id)\nEOF\n", {{"cat"}}, false},
        ShellCase{"here_string", "cat <<< 'sudo x'", {{"cat"}}, true},
        ShellCase{"arithmetic", "echo $((1+2))", {{"echo", "$((…))"}}, true},
        ShellCase{"line_continuation", "su\\\ndo id", {{"sudo", "id"}}, true},
        ShellCase{"function_def", "f() { sudo id; }; f", {{"sudo", "id"}, {"f"}}, true},
        ShellCase{"unterminated_single", "echo 'abc", {{"echo", "abc"}}, false},
        ShellCase{"unterminated_double", "sudo \"abc", {{"sudo", "abc"}}, false},
        ShellCase{"unbalanced_paren", "ls )", {{"ls"}}, false}, ShellCase{"empty", "", {}, true}),
    [](const ::testing::TestParamInfo<ShellCase>& i) { return std::string(i.param.name); });

TEST(ShellWords, DeepNestingIsBoundedAndMarkedIncomplete) {
  std::string s;
  for (int i = 0; i < 50; ++i) s += "$(";
  s += "sudo";
  for (int i = 0; i < 50; ++i) s += ")";
  shell_words::Script r = shell_words::parse(s, 8);
  EXPECT_FALSE(r.complete);
}

TEST(ShellWords, SplitForEnvS) {
  std::vector<std::string> w;
  EXPECT_TRUE(shell_words::split("  a 'b c'  \"d\\\"e\" x ", &w));
  EXPECT_EQ(w, (Argv{"a", "b c", "d\"e", "x"}));
  w.clear();
  EXPECT_TRUE(shell_words::split("sudo -n id", &w));
  EXPECT_EQ(w, (Argv{"sudo", "-n", "id"}));
  w.clear();
  EXPECT_FALSE(shell_words::split("'open", &w));
}

TEST(ShellWords, Assignments) {
  EXPECT_TRUE(shell_words::is_assignment("A=1"));
  EXPECT_TRUE(shell_words::is_assignment("_a9="));
  EXPECT_TRUE(shell_words::is_assignment("PATH+=:/x"));
  EXPECT_FALSE(shell_words::is_assignment("=1"));
  EXPECT_FALSE(shell_words::is_assignment("9A=1"));
  EXPECT_FALSE(shell_words::is_assignment("a-b=1"));
  EXPECT_FALSE(shell_words::is_assignment("ls"));
}

}  // namespace
}  // namespace agentsh
