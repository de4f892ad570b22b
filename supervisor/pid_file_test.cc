// Pid files with start times: adoption only of the very process that was recorded.
#include "supervisor/pid_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <ctime>

#include "common/fs.h"
#include "common/process.h"
#include "common/temp_dir.h"
#include "common/time.h"

namespace berth::supervisor {
namespace {

TEST(SupervisorPidFileTest, WriteThenReadRoundTrips) {
  auto dir = TempDir::Create("b");
  ASSERT_TRUE(dir.ok());
  std::string path = dir->Join("services/x.pid");
  ASSERT_TRUE(WritePidFile(path, {1234, 98765}).ok());
  auto record = ReadPidFile(path);
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  EXPECT_EQ(*record, (PidRecord{1234, 98765}));
  EXPECT_EQ(ReadPidFile(dir->Join("none.pid")).status().code(), Code::kNotFound);
  ASSERT_TRUE(WriteFileAtomic(path, "garbage\n").ok());
  EXPECT_EQ(ReadPidFile(path).status().code(), Code::kInvalidArgument);
}

TEST(SupervisorPidFileTest, OpensOnlyTheRecordedLiveProcess) {
  auto child = ChildProcess::Spawn({.argv = {"sleep", "30"}});
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  auto record = RecordOf(child->pid());
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  EXPECT_TRUE(OpenRecordedProcess(*record).ok());
  // Same pid, other start time: the pid was reused by another process.
  PidRecord reused = *record;
  reused.start_ticks += 1;
  EXPECT_EQ(OpenRecordedProcess(reused).status().code(), Code::kNotFound);
  // A zombie is not adoptable, and neither is a reaped process.
  ASSERT_TRUE(child->Kill(SIGKILL).ok());
  for (int i = 0; i < 200; ++i) {
    auto stat = ReadProcStat(child->pid());
    if (stat.ok() && stat->state == 'Z') break;
    ::usleep(5000);
  }
  EXPECT_EQ(OpenRecordedProcess(*record).status().code(), Code::kNotFound);
  ASSERT_TRUE(child->Wait().ok());
  EXPECT_EQ(OpenRecordedProcess(*record).status().code(), Code::kNotFound);
}

TEST(SupervisorPidFileTest, StartTimeConvertsToWallClock) {
  auto self = RecordOf(::getpid());
  ASSERT_TRUE(self.ok());
  int64_t started = StartTicksToUnixNanos(self->start_ticks);
  int64_t now = NowUnixNanos();
  EXPECT_LE(started, now + 1'000'000'000);
  EXPECT_GT(started, now - 3600LL * 1'000'000'000);  // this test process started recently
}

}  // namespace
}  // namespace berth::supervisor
