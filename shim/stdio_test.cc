#include "shim/stdio.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/fs.h"
#include "common/temp_dir.h"

namespace berth::shim {
namespace {

TEST(ShimStdio, Classify) {
  std::string path;
  EXPECT_EQ(ClassifyStdio("", &path).value(), StdioKind::kNone);
  EXPECT_EQ(ClassifyStdio("/run/fifo/x-stdout", &path).value(), StdioKind::kFifo);
  EXPECT_EQ(ClassifyStdio("file:///var/log/c.log", &path).value(), StdioKind::kFile);
  EXPECT_EQ(path, "/var/log/c.log");
  EXPECT_EQ(ClassifyStdio("binary:///usr/bin/logger?x=1", &path).status().code(),
            Code::kUnimplemented);
  EXPECT_EQ(ClassifyStdio("relative/path", &path).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ClassifyStdio("file://relative", &path).status().code(), Code::kInvalidArgument);
}

TEST(ShimStdio, OpensCloexecAndSharesOneLogFile) {
  auto dir = TempDir::Create("b");
  ASSERT_TRUE(dir.ok());
  ASSERT_EQ(::mkfifo(dir->Join("in").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo(dir->Join("out").c_str(), 0600), 0);
  std::string log = "file://" + dir->Join("logs/c.log");
  auto io = OpenProcessStdio({dir->Join("in"), log, log, false});
  ASSERT_TRUE(io.ok()) << io.status().ToString();
  for (int fd : {io->in.get(), io->out.get(), io->err.get(), io->keeper.get()}) {
    ASSERT_GE(fd, 0);
    EXPECT_EQ(::fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  }
  EXPECT_EQ(::fcntl(io->in.get(), F_GETFL) & O_ACCMODE, O_RDONLY);
  EXPECT_EQ(::fcntl(io->in.get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_EQ(::fcntl(io->out.get(), F_GETFL) & O_APPEND, O_APPEND);
  ASSERT_TRUE(WriteAll(io->out.get(), "a", "out").ok());
  ASSERT_TRUE(WriteAll(io->err.get(), "b", "err").ok());
  EXPECT_EQ(ReadFile(dir->Join("logs/c.log")).value(), "ab");
  // FIFO outputs open read-write: no reader needed, no EPIPE.
  auto fifo = OpenOutput(dir->Join("out"), false);
  ASSERT_TRUE(fifo.ok());
  EXPECT_EQ(::fcntl(fifo->get(), F_GETFL) & O_ACCMODE, O_RDWR);
  auto none = OpenProcessStdio({});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->in || none->out || none->err || none->keeper);
}

}  // namespace
}  // namespace berth::shim
