#include "common/logging.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>

#include <gtest/gtest.h>

#include "common/fs.h"
#include "common/temp_dir.h"

namespace berth {
namespace {

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
  EXPECT_TRUE(std::regex_match(
      text, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d berth-test )"
                       R"(info: started key=1\n)")))
      << text;
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
