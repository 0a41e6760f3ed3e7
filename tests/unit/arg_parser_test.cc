#include "agentsh/arg_parser.h"

#include <gtest/gtest.h>

namespace agentsh {
namespace {

TEST(ArgParser, OptionsFlagsAndRest) {
  ArgParser p("exec");
  p.option("policy").flag("json").repeated("env");
  ASSERT_TRUE(
      p.parse({"--policy", "strict", "--json", "--env=A=1", "--env", "B=2", "--", "ls", "-l"}));
  EXPECT_EQ(p.get("policy"), "strict");
  EXPECT_TRUE(p.has("json"));
  EXPECT_EQ(p.get_all("env"), (std::vector<std::string>{"A=1", "B=2"}));
  EXPECT_EQ(p.rest(), (std::vector<std::string>{"ls", "-l"}));
  EXPECT_TRUE(p.saw_double_dash());
}

TEST(ArgParser, StopAtPositionalKeepsCommandOptions) {
  ArgParser p("exec");
  p.option("policy");
  ASSERT_TRUE(p.parse({"--policy", "x", "ls", "--color", "-l"}, true));
  EXPECT_EQ(p.rest(), (std::vector<std::string>{"ls", "--color", "-l"}));
}

TEST(ArgParser, Errors) {
  struct {
    std::vector<std::string> args;
    const char* msg;
  } cases[] = {
      {{"--nope"}, "unknown option --nope"}, {{"-x"}, "unknown option -x"},
      {{"--policy"}, "needs a value"},       {{"--policy", "a", "--policy", "b"}, "given twice"},
      {{"--json=1"}, "takes no value"},
  };
  for (const auto& c : cases) {
    ArgParser p("t");
    p.option("policy").flag("json");
    EXPECT_FALSE(p.parse(c.args));
    EXPECT_NE(p.error().find(c.msg), std::string::npos) << p.error();
  }
}

}  // namespace
}  // namespace agentsh
