// Rotation of container logs by the shim: RotatingLog (sizes, file count, boundaries) and the
// pipe -> LogCopier -> file path that a process with a rotated file:// stdout gets.
#include "shim/rotating_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "common/fs.h"
#include "common/temp_dir.h"
#include "shim/log_copier.h"
#include "shim/stdio.h"

namespace berth::shim {
namespace {

uint64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// What `berthctl logs` shows: path.K ... path.1, then path.
std::string ReadAcrossRotations(const std::string& path, int max_files) {
  std::string all;
  for (int i = max_files; i >= 1; --i) {
    if (auto text = ReadFile(RotatedLogName(path, i)); text.ok()) all += *text;
  }
  auto current = ReadFile(path);
  return current.ok() ? all + *current : all;
}

// Lines "line <n> " padded with x to lengths 1..~90, so the cuts fall at every offset.
std::string NumberedLines(int count) {
  std::string out;
  for (int n = 0; n < count; ++n) {
    std::string line = "line " + std::to_string(n) + " ";
    line.append(static_cast<size_t>(n * 37 % 83), 'x');
    out += line + "\n";
  }
  return out;
}

TEST(RotatingLog, CutsAfterTheLastWholeLineAndKeepsMaxFilesPlusCurrent) {
  auto dir = TempDir::Create("rot");
  ASSERT_TRUE(dir.ok());
  std::string path = dir->Join("log");
  auto log = RotatingLog::Open(path, {100, 2});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  std::string line(39, 'a');
  line += "\n";  // 40 bytes: two fit in 100, the third goes to the next file
  for (int i = 0; i < 7; ++i) ASSERT_TRUE((*log)->Write(line).ok());
  // 7 lines -> files of 2, 2, 2, 1 lines; the oldest file of 2 lines was dropped.
  EXPECT_EQ(FileSize(path), 40u);
  EXPECT_EQ(FileSize(RotatedLogName(path, 1)), 80u);
  EXPECT_EQ(FileSize(RotatedLogName(path, 2)), 80u);
  EXPECT_FALSE(Exists(RotatedLogName(path, 3)));
  EXPECT_EQ(ReadAcrossRotations(path, 2), line + line + line + line + line);
}

TEST(RotatingLog, SplitsALineLongerThanAFileAndLosesNoByte) {
  auto dir = TempDir::Create("rot");
  ASSERT_TRUE(dir.ok());
  std::string path = dir->Join("log");
  auto log = RotatingLog::Open(path, {64, 10});
  ASSERT_TRUE(log.ok());
  std::string text = "short\n" + std::string(150, 'L') + "\nend\n";
  ASSERT_TRUE((*log)->Write(text).ok());
  // "short\n" then rotate; 150 L's split 64 + 64; the rest 22 + "\n" + "end\n" fits in one file.
  EXPECT_EQ(ReadFile(RotatedLogName(path, 3)).value(), "short\n");
  EXPECT_EQ(ReadFile(RotatedLogName(path, 2)).value(), std::string(64, 'L'));
  EXPECT_EQ(ReadFile(RotatedLogName(path, 1)).value(), std::string(64, 'L'));
  EXPECT_EQ(ReadFile(path).value(), std::string(22, 'L') + "\nend\n");
  EXPECT_EQ(ReadAcrossRotations(path, 10), text);
}

TEST(RotatingLog, ContinuesAnExistingFileAndZeroFilesMeansTruncate) {
  auto dir = TempDir::Create("rot");
  ASSERT_TRUE(dir.ok());
  std::string path = dir->Join("log");
  ASSERT_TRUE(WriteFileAtomic(path, "0123456789\n").ok());
  auto log = RotatingLog::Open(path, {16, 0});
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Write("abc\n").ok());  // 15 bytes: still the same file
  EXPECT_EQ(ReadFile(path).value(), "0123456789\nabc\n");
  ASSERT_TRUE((*log)->Write("defg\n").ok());  // would make 20: start over, keep nothing
  EXPECT_EQ(ReadFile(path).value(), "defg\n");
  EXPECT_FALSE(Exists(RotatedLogName(path, 1)));
  EXPECT_EQ(RotatingLog::Open(path, {0, 3}).status().code(), Code::kInvalidArgument);
}

TEST(RotatingLog, ParsesTheRotationQueryAndRejectsBadOnes) {
  std::string path;
  EXPECT_EQ(ClassifyStdio("file:///r/log?max-size=10&max-files=2", &path).value(),
            StdioKind::kFile);
  EXPECT_EQ(path, "/r/log");
  auto rotation = ParseLogRotation("file:///r/log?max-size=10&max-files=2");
  ASSERT_TRUE(rotation.ok());
  EXPECT_EQ(rotation->max_size, 10u);
  EXPECT_EQ(rotation->max_files, 2);
  EXPECT_EQ(ParseLogRotation("file:///r/log?max-size=5")->max_files, 1);
  EXPECT_EQ(ParseLogRotation("file:///r/log")->max_size, 0u);
  for (const char* bad : {"file:///r/log?max-size=0", "file:///r/log?max-size=10m",
                          "file:///r/log?max-size=1&color=red", "file:///r/log?max-files=2",
                          "file:///r/log?max-size=1&max-files=-1"}) {
    auto parsed = ParseLogRotation(bad);
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_NE(ParseLogRotation("file:///r/log?max-size=1&color=red")
                .status()
                .message()
                .find("unknown option \"color\""),
            std::string::npos);
}

// The whole shim path: the process's stdout and stderr are one pipe; a writer thread writes
// 40 000 lines (about 2 MB) in uneven pieces while the loop copies; every byte arrives in order.
TEST(RotatingLog, ProcessStdioCopiesThroughAPipeWithoutLosingBytes) {
  auto dir = TempDir::Create("rot");
  ASSERT_TRUE(dir.ok());
  std::string path = dir->Join("task/log");
  std::string uri = "file://" + path + "?max-size=65536&max-files=1000";
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  auto io = OpenProcessStdio({"", uri, uri, false}, &loop);
  ASSERT_TRUE(io.ok()) << io.status().ToString();
  ASSERT_EQ(io->logs.size(), 1u);
  struct stat out_st, err_st;
  ASSERT_EQ(::fstat(io->out.get(), &out_st), 0);
  ASSERT_EQ(::fstat(io->err.get(), &err_st), 0);
  EXPECT_TRUE(S_ISFIFO(out_st.st_mode));
  EXPECT_EQ(out_st.st_ino, err_st.st_ino);
  std::string expected = NumberedLines(40000);
  std::thread writer([&expected, out = std::move(io->out), err = std::move(io->err)] {
    size_t offset = 0;
    for (size_t piece = 1; offset < expected.size(); piece = piece * 7 % 10007 + 1) {
      size_t n = std::min(piece, expected.size() - offset);
      ASSERT_TRUE(
          WriteAll(piece % 2 ? out.get() : err.get(), expected.substr(offset, n), "w").ok());
      offset += n;
    }
  });  // closing both write ends at the end gives the copier its EOF
  while (!io->logs[0]->finished()) uv_run(&loop, UV_RUN_ONCE);
  writer.join();
  int files = 0;
  while (Exists(RotatedLogName(path, files + 1))) {
    EXPECT_LE(FileSize(RotatedLogName(path, files + 1)), 65536u);
    ++files;
  }
  EXPECT_GE(files, static_cast<int>(expected.size() / 65536));
  EXPECT_EQ(ReadAcrossRotations(path, files), expected);
  io->logs.clear();
  uv_run(&loop, UV_RUN_NOWAIT);  // lets the copier's handle close
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

// With few files kept: exactly K rotated files plus the current one, each within the limit,
// and what is kept is exactly the newest output.
TEST(RotatingLog, KeepsOnlyTheNewestFilesUnderTheLimit) {
  auto dir = TempDir::Create("rot");
  ASSERT_TRUE(dir.ok());
  std::string path = dir->Join("log");
  auto log = RotatingLog::Open(path, {1000, 3});
  ASSERT_TRUE(log.ok());
  std::string all = NumberedLines(500);
  for (size_t off = 0; off < all.size(); off += 333) {
    ASSERT_TRUE((*log)->Write(std::string_view(all).substr(off, 333)).ok());
  }
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(Exists(RotatedLogName(path, i)));
    EXPECT_LE(FileSize(RotatedLogName(path, i)), 1000u);
    EXPECT_GT(FileSize(RotatedLogName(path, i)), 900u);  // cut at a line end near the limit
  }
  EXPECT_FALSE(Exists(RotatedLogName(path, 4)));
  std::string kept = ReadAcrossRotations(path, 3);
  ASSERT_GT(kept.size(), 3000u);
  ASSERT_LT(kept.size(), all.size());
  EXPECT_EQ(all.substr(all.size() - kept.size()), kept);
}

}  // namespace
}  // namespace berth::shim
