// berth-content as a process: kill -9 in the middle of a 200 MB ingest, restart, resume from the
// reported offset; no partial blob is ever visible under blobs/. Also the --ingest-expiry flag
// (--metadata-socket none: no leases; with a metadata service, ingests leases hold are kept and
// nothing is removed while it cannot be asked) and a clean SIGTERM.
//
// Here the test restarts berth-content itself (it plays berthd's part);
// content_supervised_test.cc does the same under berthd.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "common/digest.h"
#include "common/fs.h"
#include "tests/integration/content_harness.h"

namespace berth::integration {
namespace {

namespace fs = std::filesystem;

TEST(ContentServiceTest, KillDuringIngestThenResumeFromReportedOffset) {
  constexpr size_t kSize = 200u << 20;
  const std::string data = RandomBytes(kSize, 42);
  const Digest digest = DigestBytes(data).value();
  const std::string ref = "pull-layer-200m";

  ContentServiceHarness service;
  ASSERT_TRUE(service.Start().ok());
  BlobsWatcher watcher(service.blobs(), digest, kSize);

  // A writer streams the blob until berth-content dies under it.
  std::atomic<uint64_t> sent{0};
  Status write_result;
  std::thread writer_thread([&] {
    auto writer = service.proxy().OpenWriter({.ref = ref, .total = kSize, .expected = digest});
    if (!writer.ok()) {
      write_result = writer.status();
      return;
    }
    for (size_t off = 0; off < kSize; off += 1 << 20) {
      write_result = (*writer)->Write(std::string_view(data).substr(off, 1 << 20));
      if (!write_result.ok()) return;
      sent = off + (1 << 20);
    }
    write_result = (*writer)->Commit(kSize, digest);
  });

  // Kill it once a good part is on disk (GetStatus reads the ingest, no lock needed).
  uint64_t seen_offset = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (seen_offset < 60u << 20 && std::chrono::steady_clock::now() < deadline) {
    auto status = service.proxy().GetStatus(ref);
    if (status.ok()) seen_offset = status->offset;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GE(seen_offset, 60u << 20) << "the ingest did not progress";
  ASSERT_TRUE(service.Kill9().ok());
  writer_thread.join();
  EXPECT_FALSE(write_result.ok()) << "the write finished before the kill; nothing was tested";
  EXPECT_LT(sent.load(), kSize);
  EXPECT_TRUE(fs::is_empty(service.blobs() + "/sha256"));

  // The supervisor's part: start it again on the same root.
  ASSERT_TRUE(service.Start().ok());
  auto status = service.proxy().GetStatus(ref);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_GE(status->offset, seen_offset);
  EXPECT_LE(status->offset, kSize);
  EXPECT_EQ(status->total, kSize);
  EXPECT_EQ(status->expected, digest);

  auto writer = service.proxy().OpenWriter({.ref = ref, .total = kSize, .expected = digest});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  auto resumed = (*writer)->GetStatus();
  ASSERT_TRUE(resumed.ok());
  ASSERT_EQ(resumed->offset, status->offset);
  ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(resumed->offset)).ok());
  ASSERT_TRUE((*writer)->Commit(kSize, digest).ok());
  writer->reset();
  watcher.Stop();
  EXPECT_EQ(watcher.violation(), "");
  EXPECT_GT(watcher.scans(), 10u);

  auto info = service.proxy().GetInfo(digest);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, kSize);
  EXPECT_EQ(DigestFile(service.blobs() + "/sha256/" + digest.hex).value(), digest);
  EXPECT_EQ(service.proxy().GetStatus(ref).status().code(), Code::kNotFound);
  EXPECT_TRUE(service.proxy().ListStatuses()->empty());
}

TEST(ContentServiceTest, IngestExpiryFlagRemovesStaleIngestsAtStart) {
  ContentServiceHarness service;
  ASSERT_TRUE(service.Start({"--ingest-expiry", "1h", "--metadata-socket", "none"}).ok());
  for (const char* ref : {"stale", "fresh"}) {
    auto writer = service.proxy().OpenWriter({.ref = ref});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ASSERT_TRUE((*writer)->Write("partial").ok());
  }
  auto stopped = service.Terminate();
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_TRUE(stopped->success()) << stopped->ToString();

  // Age "stale" by two hours.
  std::string ingest = service.root() + "/content/ingest/" + DigestBytes("stale")->hex + "/data";
  timespec times[2] = {{::time(nullptr) - 7200, 0}, {::time(nullptr) - 7200, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, ingest.c_str(), times, 0), 0);

  ASSERT_TRUE(service.Start({"--ingest-expiry", "1h", "--metadata-socket", "none"}).ok());
  // Expiry runs on the threadpool right after the start: give it a moment.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (service.proxy().GetStatus("stale").ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(service.proxy().GetStatus("stale").status().code(), Code::kNotFound);
  auto fresh = service.proxy().GetStatus("fresh");
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(fresh->offset, 7u);
}

TEST(ContentServiceTest, IngestExpiryRunsWhileServing) {
  ContentServiceHarness service;
  ASSERT_TRUE(service.Start({"--ingest-expiry", "3s", "--metadata-socket", "none"}).ok());
  {
    auto writer = service.proxy().OpenWriter({.ref = "abandoned"});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ASSERT_TRUE((*writer)->Write("partial").ok());
  }
  // A writer that holds its ref keeps it, however long it stays idle.
  auto holder = service.proxy().OpenWriter({.ref = "held"});
  ASSERT_TRUE(holder.ok()) << holder.status().ToString();
  ASSERT_TRUE((*holder)->Write("held").ok());
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_TRUE(service.proxy().GetStatus("abandoned").ok()) << "expired before its age";

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (service.proxy().GetStatus("abandoned").ok() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(service.proxy().GetStatus("abandoned").status().code(), Code::kNotFound);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // one more expiry period
  auto held = (*holder)->GetStatus();
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  EXPECT_EQ(held->offset, 4u);
  ASSERT_TRUE((*holder)->Commit(4, DigestBytes("held").value()).ok());
}

// Ingest expiry asks <state>/metadata.sock which ingests leases hold. Unanswered, it removes
// nothing; answered, it keeps what the answer names until a later answer leaves it out.
TEST(ContentServiceTest, IngestExpiryKeepsLeasedIngestsAndAllWhenItCannotAsk) {
  ContentServiceHarness service;
  ASSERT_TRUE(service.Start({"--ingest-expiry", "2s"}).ok());  // checks every 1 s
  for (const char* ref : {"abandoned", "leased"}) {
    auto writer = service.proxy().OpenWriter({.ref = ref});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ASSERT_TRUE((*writer)->Write("partial").ok());
  }
  // No metadata service: both stay well past their age (runs at 1 s, 2 s, 3 s, ...).
  std::this_thread::sleep_for(5s);
  EXPECT_TRUE(service.proxy().GetStatus("abandoned").ok()) << "removed without asking";
  EXPECT_TRUE(service.proxy().GetStatus("leased").ok()) << "removed without asking";

  FakeLeasedIngests metadata(service.state() + "/metadata.sock");
  metadata.SetLeased({"leased"});
  ASSERT_TRUE(metadata.Listen().ok());
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (service.proxy().GetStatus("abandoned").ok() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(service.proxy().GetStatus("abandoned").status().code(), Code::kNotFound);
  uint64_t asked = metadata.asked();
  EXPECT_GE(asked, 1u);
  // Two more runs, and the leased one is still there.
  deadline = std::chrono::steady_clock::now() + 15s;
  while (metadata.asked() < asked + 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_GE(metadata.asked(), asked + 2);
  auto leased = service.proxy().GetStatus("leased");
  ASSERT_TRUE(leased.ok()) << leased.status().ToString();
  EXPECT_EQ(leased->offset, 7u);

  metadata.SetLeased({});  // the lease is gone
  deadline = std::chrono::steady_clock::now() + 15s;
  while (service.proxy().GetStatus("leased").ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(service.proxy().GetStatus("leased").status().code(), Code::kNotFound);
}

TEST(ContentServiceTest, BadExpiryFlagIsAUsageError) {
  ContentServiceHarness service;
  for (const char* bad : {"soon", "0s", "-1h"}) {
    Status started = service.Start({"--ingest-expiry", bad}, std::chrono::seconds(3));
    EXPECT_FALSE(started.ok()) << bad;
    EXPECT_NE(started.message().find("exit code 2"), std::string::npos) << started.ToString();
  }
}

}  // namespace
}  // namespace berth::integration
