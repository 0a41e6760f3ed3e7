// Tests for policy/decision: decision and file-operation names.
#include "policy/decision.h"

#include <gtest/gtest.h>

namespace agentsh::policy {
namespace {

TEST(Decision, ParsesEveryNameCaseInsensitively) {
  for (int i = 0; i < kDecisionCount; ++i) {
    Decision want = static_cast<Decision>(i);
    std::string name(decision_name(want));
    Decision got = Decision::kAllow;
    ASSERT_TRUE(parse_decision(name, &got)) << name;
    EXPECT_EQ(got, want);
    std::string upper = name;
    for (char& c : upper) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
    got = want == Decision::kDeny ? Decision::kAllow : Decision::kDeny;
    ASSERT_TRUE(parse_decision(upper, &got)) << upper;
    EXPECT_EQ(got, want);
  }
  Decision d = Decision::kAudit;
  EXPECT_TRUE(parse_decision("Soft_Delete", &d));
  EXPECT_EQ(d, Decision::kSoftDelete);
}

TEST(Decision, RejectsUnknownNames) {
  Decision d = Decision::kAudit;
  for (const char* s : {"", "alow", "allow ", "denied", "soft-delete", "approved", "*"}) {
    EXPECT_FALSE(parse_decision(s, &d)) << s;
  }
  EXPECT_EQ(d, Decision::kAudit);  // untouched on failure
}

TEST(Decision, StricterIsLarger) {
  EXPECT_LT(Decision::kAllow, Decision::kAudit);
  EXPECT_LT(Decision::kApprove, Decision::kDeny);
}

TEST(FileOp, ParsesEveryName) {
  for (int i = 0; i < static_cast<int>(FileOp::kCount); ++i) {
    FileOp op = static_cast<FileOp>(i);
    OpMask m = 0;
    ASSERT_TRUE(parse_file_op(file_op_name(op), &m)) << file_op_name(op);
    EXPECT_EQ(m, op_bit(op));
    std::string prefixed = "file_" + std::string(file_op_name(op));
    m = 0;
    ASSERT_TRUE(parse_file_op(prefixed, &m)) << prefixed;
    EXPECT_EQ(m, op_bit(op));
  }
}

TEST(FileOp, StarIsEveryOp) {
  OpMask m = 0;
  ASSERT_TRUE(parse_file_op("*", &m));
  EXPECT_EQ(m, kAllOps);
  EXPECT_EQ(kAllOps, (1u << 18) - 1);
  EXPECT_NE(m & op_bit(FileOp::kExec), 0u);
  EXPECT_NE(m & op_bit(FileOp::kRead), 0u);
}

TEST(FileOp, CaseAndPrefixVariants) {
  OpMask m = 0;
  ASSERT_TRUE(parse_file_op("READ", &m));
  EXPECT_EQ(m, op_bit(FileOp::kRead));
  ASSERT_TRUE(parse_file_op("File_Write", &m));
  EXPECT_EQ(m, op_bit(FileOp::kWrite));
}

TEST(FileOp, RejectsUnknownNames) {
  OpMask m = 123;
  for (const char* s : {"", "file_", "file_*", "reads", "net_connect", "file-read", "**",
                        "file_file_read", " read"}) {
    EXPECT_FALSE(parse_file_op(s, &m)) << s;
  }
  EXPECT_EQ(m, 123u);
}

}  // namespace
}  // namespace agentsh::policy
