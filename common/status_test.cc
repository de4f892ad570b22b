#include "common/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace berth {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Error(Code::kInvalidArgument, "{} is odd", x);
  return x / 2;
}

Result<int> Quarter(int x) {
  BERTH_ASSIGN_OR_RETURN(int half, Half(x));
  BERTH_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(StatusTest, OkAndErrors) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.ToString(), "OK");
  Status s = Error(Code::kNotFound, "blob {} not found", "x");
  EXPECT_EQ(s.ToString(), "NOT_FOUND: blob x not found");
  EXPECT_EQ(s.Annotate("pull").message(), "pull: blob x not found");
  EXPECT_EQ(CodeName(static_cast<Code>(99)), "CODE(99)");
  EXPECT_EQ(ErrnoStatus(ENOENT, "open /x").ToString(),
            "NOT_FOUND: open /x: No such file or directory");
  EXPECT_EQ(Status(Code::kOk, "ignored"), Status::Ok());
}

TEST(StatusTest, ResultPropagation) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().message(), "3 is odd");
  Result<int> from_ok = Status::Ok();
  EXPECT_EQ(from_ok.status().code(), Code::kInternal);
}

TEST(StatusDeathTest, ValueOfFailedResultAborts) {
  Result<int> failed = Error(Code::kNotFound, "gone");
  EXPECT_DEATH((void)*failed, "value of a failed Result accessed: NOT_FOUND: gone");
}

}  // namespace
}  // namespace berth
