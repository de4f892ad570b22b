// The durable event log: append, bound, replay after reopen, torn and corrupt tails.
#include "supervisor/event_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include "common/fs.h"
#include "common/temp_dir.h"

namespace berth::supervisor {
namespace {

class SupervisorEventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("b");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    dir_ = std::make_unique<TempDir>(std::move(dir).value());
    options_.dir = dir_->Join("events");
  }

  std::unique_ptr<EventLog> Open(std::deque<LogRecord>* recovered = nullptr) {
    std::deque<LogRecord> scratch;
    auto log = EventLog::Open(options_, recovered ? recovered : &scratch);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }

  static Status AppendRange(EventLog& log, uint64_t from, uint64_t to) {
    std::vector<LogRecord> batch;
    for (uint64_t s = from; s <= to; ++s) batch.push_back({s, "event-" + std::to_string(s)});
    return log.Append(batch);
  }

  std::vector<std::string> Segments() const {
    std::vector<std::string> names;
    DIR* d = ::opendir(options_.dir.c_str());
    while (dirent* e = d ? ::readdir(d) : nullptr) {
      if (std::string(e->d_name).ends_with(".log")) names.push_back(e->d_name);
    }
    if (d) ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }
  std::string LastSegmentPath() const { return options_.dir + "/" + Segments().back(); }

  static std::vector<uint64_t> Sequences(const std::deque<LogRecord>& records) {
    std::vector<uint64_t> out;
    for (auto& r : records) out.push_back(r.sequence);
    return out;
  }

  std::unique_ptr<TempDir> dir_;
  EventLog::Options options_;
};

TEST_F(SupervisorEventLogTest, AppendedRecordsComeBackInOrderAfterReopen) {
  {
    auto log = Open();
    ASSERT_TRUE(log);
    EXPECT_EQ(log->last_sequence(), 0u);
    ASSERT_TRUE(AppendRange(*log, 1, 3).ok());
    ASSERT_TRUE(AppendRange(*log, 4, 4).ok());
    EXPECT_EQ(log->last_sequence(), 4u);
  }
  std::deque<LogRecord> recovered;
  auto log = Open(&recovered);
  ASSERT_TRUE(log);
  EXPECT_EQ(Sequences(recovered), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(recovered[2].data, "event-3");
  EXPECT_EQ(log->last_sequence(), 4u);
  // The sequence continues after a reopen.
  ASSERT_TRUE(AppendRange(*log, 5, 5).ok());
  log.reset();
  recovered.clear();
  log = Open(&recovered);
  EXPECT_EQ(recovered.back().sequence, 5u);
}

TEST_F(SupervisorEventLogTest, UnsyncedAppendsAreReadableAndSyncLater) {
  options_.segment_entries = 2;
  auto log = Open();
  ASSERT_TRUE(log);
  EXPECT_FALSE(log->unsynced());
  ASSERT_TRUE(log->Append({{1, "a"}, {2, "b"}, {3, "c"}}, /*sync=*/false).ok());
  EXPECT_TRUE(log->unsynced());
  auto target = log->PrepareSync();
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  EXPECT_FALSE(target->empty());
  EXPECT_FALSE(target->dir.empty());  // segments were created: the directory needs a sync too
  EXPECT_FALSE(log->unsynced());
  // The target stays valid while the log goes on (it holds its own fd).
  ASSERT_TRUE(log->Append({{4, "d"}, {5, "e"}}, /*sync=*/false).ok());
  EXPECT_TRUE(target->Run().ok());
  auto again = log->PrepareSync();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->Run().ok());
  EXPECT_TRUE(log->PrepareSync()->empty());
  // Written records are there for the next reader even before any sync (page cache).
  std::deque<LogRecord> recovered;
  auto reader = Open(&recovered);
  EXPECT_EQ(Sequences(recovered), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
}

TEST_F(SupervisorEventLogTest, SequencesMustIncrease) {
  auto log = Open();
  ASSERT_TRUE(AppendRange(*log, 1, 2).ok());
  Status again = log->Append({{2, "dup"}});
  EXPECT_EQ(again.code(), Code::kInvalidArgument) << again.ToString();
  Status unordered = log->Append({{5, "a"}, {4, "b"}});
  EXPECT_EQ(unordered.code(), Code::kInvalidArgument);
  EXPECT_EQ(log->last_sequence(), 2u);
  // Gaps are allowed (a failed batch may leave one).
  EXPECT_TRUE(log->Append({{10, "x"}}).ok());
}

TEST_F(SupervisorEventLogTest, KeepsOnlyTheNewestMaxEntries) {
  options_.max_entries = 20;
  options_.segment_entries = 4;
  {
    auto log = Open();
    for (uint64_t s = 1; s <= 100; ++s) ASSERT_TRUE(AppendRange(*log, s, s).ok());
    EXPECT_LE(log->disk_entries(), 24u);
    EXPECT_GE(log->disk_entries(), 20u);
    EXPECT_LE(Segments().size(), 6u);
  }
  std::deque<LogRecord> recovered;
  auto log = Open(&recovered);
  ASSERT_EQ(recovered.size(), 20u);
  EXPECT_EQ(recovered.front().sequence, 81u);
  EXPECT_EQ(recovered.back().sequence, 100u);
  EXPECT_EQ(log->last_sequence(), 100u);
}

TEST_F(SupervisorEventLogTest, OneBatchMaySpanSegments) {
  options_.max_entries = 100;
  options_.segment_entries = 4;
  auto log = Open();
  ASSERT_TRUE(AppendRange(*log, 1, 10).ok());
  EXPECT_EQ(Segments(),
            (std::vector<std::string>{"00000000000000000001.log", "00000000000000000005.log",
                                      "00000000000000000009.log"}));
  log.reset();
  std::deque<LogRecord> recovered;
  log = Open(&recovered);
  EXPECT_EQ(recovered.size(), 10u);
}

TEST_F(SupervisorEventLogTest, ATornTailIsCutAndTheLogGoesOn) {
  {
    auto log = Open();
    ASSERT_TRUE(AppendRange(*log, 1, 5).ok());
  }
  // A crash in the middle of writing record 5: its last bytes never reached the disk.
  std::string path = LastSegmentPath();
  auto size = ReadFile(path)->size();
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(size - 3)), 0);
  std::deque<LogRecord> recovered;
  auto log = Open(&recovered);
  ASSERT_TRUE(log);
  EXPECT_EQ(Sequences(recovered), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(log->last_sequence(), 4u);
  ASSERT_TRUE(AppendRange(*log, 5, 6).ok());
  log.reset();
  recovered.clear();
  log = Open(&recovered);
  EXPECT_EQ(Sequences(recovered), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(recovered[4].data, "event-5");
}

TEST_F(SupervisorEventLogTest, ACorruptRecordAndWhatFollowsAreCut) {
  {
    auto log = Open();
    ASSERT_TRUE(AppendRange(*log, 1, 3).ok());
  }
  std::string path = LastSegmentPath();
  std::string bytes = *ReadFile(path);
  bytes[bytes.size() - 2] ^= 0x40;  // flip a bit in record 3's payload
  ASSERT_TRUE(WriteFileAtomic(path, bytes).ok());
  std::deque<LogRecord> recovered;
  auto log = Open(&recovered);
  EXPECT_EQ(Sequences(recovered), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(ReadFile(path)->size(), bytes.size() - (16 + 7));  // record 3 (16 + "event-3") gone
}

TEST_F(SupervisorEventLogTest, ZeroFilledTailAndEmptySegmentsAreDropped) {
  {
    auto log = Open();
    ASSERT_TRUE(AppendRange(*log, 1, 2).ok());
  }
  std::string path = LastSegmentPath();
  std::string bytes = *ReadFile(path) + std::string(64, '\0');  // delayed allocation after a crash
  ASSERT_TRUE(WriteFileAtomic(path, bytes).ok());
  ASSERT_TRUE(WriteFileAtomic(options_.dir + "/00000000000000000099.log", "").ok());
  std::deque<LogRecord> recovered;
  auto log = Open(&recovered);
  EXPECT_EQ(Sequences(recovered), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(Segments(), (std::vector<std::string>{"00000000000000000001.log"}));
  ASSERT_TRUE(AppendRange(*log, 3, 3).ok());
}

TEST_F(SupervisorEventLogTest, GarbageHeaderWithHugeLengthIsCut) {
  {
    auto log = Open();
    ASSERT_TRUE(AppendRange(*log, 1, 1).ok());
  }
  std::string path = LastSegmentPath();
  std::string bytes = *ReadFile(path) + std::string(16, '\xff');
  ASSERT_TRUE(WriteFileAtomic(path, bytes).ok());
  std::deque<LogRecord> recovered;
  auto log = Open(&recovered);
  ASSERT_TRUE(log);
  EXPECT_EQ(Sequences(recovered), (std::vector<uint64_t>{1}));
}

}  // namespace
}  // namespace berth::supervisor
