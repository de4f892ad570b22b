#include "common/logging.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "common/fs.h"
#include "common/temp_dir.h"

namespace berth {
namespace {

// "2024-05-01T10:00:00.123456+00:00": digits where the template has '9'.
bool IsTimestamp(std::string_view text) {
  constexpr std::string_view kShape = "9999-99-99T99:99:99.999999+99:99";
  if (text.size() != kShape.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool digit = text[i] >= '0' && text[i] <= '9';
    if (kShape[i] == '9' ? !digit : (text[i] != kShape[i] && !(i == 26 && text[i] == '-'))) {
      return false;
    }
  }
  return true;
}

// Runs `fn` with stderr redirected to a file and returns what was written.
template <typename Fn>
std::string CaptureStderr(const std::string& file, Fn fn) {
  UniqueFd out(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  EXPECT_TRUE(out.valid());
  UniqueFd saved(::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0));
  ::dup2(out.get(), STDERR_FILENO);
  fn();
  ::dup2(saved.get(), STDERR_FILENO);
  return *ReadFile(file);
}

TEST(LoggingTest, ParseLogLevel) {
  EXPECT_EQ(*ParseLogLevel("trace"), spdlog::level::trace);
  EXPECT_EQ(*ParseLogLevel("debug"), spdlog::level::debug);
  EXPECT_EQ(*ParseLogLevel("info"), spdlog::level::info);
  EXPECT_EQ(*ParseLogLevel("warn"), spdlog::level::warn);
  EXPECT_EQ(*ParseLogLevel("error"), spdlog::level::err);
  auto bad = ParseLogLevel("verbose");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("\"verbose\""), std::string::npos);
  EXPECT_FALSE(ParseLogLevel("INFO").ok());
  EXPECT_EQ(InitLogging("berth-test", "loud").code(), Code::kInvalidArgument);
}

TEST(LoggingTest, PlainStderrHasTimestampsNameAndLevel) {
  ::unsetenv("JOURNAL_STREAM");
  auto dir = TempDir::Create("logging-test");
  ASSERT_TRUE(dir.ok());
  std::string text = CaptureStderr(dir->Join("err"), [] {
    ASSERT_TRUE(InitLogging("berth-test", "info").ok());
    spdlog::debug("hidden");
    spdlog::info("started key={}", 1);
  });
  EXPECT_EQ(spdlog::default_logger()->name(), "berth-test");
  size_t space = text.find(' ');
  ASSERT_NE(space, std::string::npos) << text;
  EXPECT_TRUE(IsTimestamp(text.substr(0, space))) << text;
  EXPECT_EQ(text.substr(space), " berth-test info: started key=1\n");
}

TEST(LoggingTest, JournalStreamDropsTimestampsAndAddsPriority) {
  auto dir = TempDir::Create("logging-test");
  ASSERT_TRUE(dir.ok());
  std::string file = dir->Join("err");
  std::string text = CaptureStderr(file, [&] {
    struct stat st;
    ASSERT_EQ(::fstat(STDERR_FILENO, &st), 0);
    std::string stream = fmt::format("{}:{}", st.st_dev, st.st_ino);
    ::setenv("JOURNAL_STREAM", stream.c_str(), 1);
    EXPECT_TRUE(StderrIsJournal());
    ASSERT_TRUE(InitLogging("berth-test", "debug").ok());
    spdlog::debug("d");
    spdlog::warn("w");
    spdlog::error("e");
  });
  EXPECT_EQ(text, "<7>debug: d\n<4>warning: w\n<3>error: e\n");
  ::setenv("JOURNAL_STREAM", "1:2", 1);  // some other stream: not ours
  EXPECT_FALSE(StderrIsJournal());
  ::unsetenv("JOURNAL_STREAM");
}

}  // namespace
}  // namespace berth
