// The order of a commit's system calls, as strace sees them in a running berth-content: the
// last write of the ingest data, then its fsync, then the labels file (fsynced and renamed into
// place), then the atomic rename of the data to blobs/<alg>/<hex> (RENAME_NOREPLACE), then the
// fsync of blobs/<alg>. That order is what makes a crash at any point leave the blob either
// absent or complete (LocalStore's crash-safety contract).
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <sstream>
#include <thread>

#include "common/fs.h"
#include "tests/integration/content_harness.h"

namespace berth::integration {
namespace {

// Whether every thread of `pid` is traced by `tracer`.
bool AllThreadsTracedBy(pid_t pid, pid_t tracer) {
  std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(tasks.c_str()), ::closedir);
  if (!dir) return false;
  int threads = 0;
  while (dirent* entry = ::readdir(dir.get())) {
    if (entry->d_name[0] == '.') continue;
    auto status = ReadFile(tasks + "/" + entry->d_name + "/status");
    if (!status.ok()) return false;
    if (status->find("TracerPid:\t" + std::to_string(tracer) + "\n") == std::string::npos) {
      return false;
    }
    ++threads;
  }
  return threads > 0;
}

// Index of the first line at or after `from` that contains every one of `parts`; -1 if none.
int FindLine(const std::vector<std::string>& lines, std::vector<std::string> parts, int from = 0) {
  for (int i = from; i < static_cast<int>(lines.size()); ++i) {
    bool all = true;
    for (const auto& part : parts) all = all && lines[i].find(part) != std::string::npos;
    if (all) return i;
  }
  return -1;
}

TEST(ContentDurabilityTest, CommitFsyncsTheDataRenamesAtomicallyThenFsyncsTheDirectory) {
  ContentServiceHarness service;
  ASSERT_TRUE(service.Start().ok());
  TempDir dir = TempDir::Create("b-strace").value();
  std::string trace = dir.Join("trace");
  auto strace =
      ChildProcess::Spawn({.argv = {"strace", "-f", "-y", "-qq", "-e",
                                    "trace=pwrite64,fsync,fdatasync,rename,renameat,renameat2",
                                    "-o", trace, "-p", std::to_string(service.pid())},
                           .stdin_fd = SpawnOptions::kDevNull,
                           .stdout_fd = SpawnOptions::kDevNull});
  ASSERT_TRUE(strace.ok()) << "strace (Debian package strace) is needed: "
                           << strace.status().ToString();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!AllThreadsTracedBy(service.pid(), strace->pid()) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(AllThreadsTracedBy(service.pid(), strace->pid())) << "strace did not attach";

  std::string data = RandomBytes(3 << 20, 9);
  Digest digest = DigestBytes(data).value();
  {
    auto writer = service.proxy().OpenWriter({.ref = "traced", .expected = digest});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ASSERT_TRUE((*writer)->Write(data).ok());
    ASSERT_TRUE((*writer)->Commit(data.size(), digest, {{"traced", "yes"}}).ok());
  }
  ASSERT_EQ(strace->Kill(SIGINT).code(), Code::kOk);  // strace detaches and flushes its output
  ASSERT_TRUE(strace->Wait().ok());

  std::vector<std::string> lines;
  std::istringstream text(ReadFile(trace).value());
  for (std::string line; std::getline(text, line);) lines.push_back(line);
  std::string content = service.root() + "/content";
  std::string ingest_data = content + "/ingest/" + DigestBytes("traced")->hex + "/data";
  std::string blob = content + "/blobs/sha256/" + digest.hex;
  std::string labels = content + "/labels/sha256/" + digest.hex;

  int last_write = -1;
  for (int i = 0; (i = FindLine(lines, {"pwrite64(", "<" + ingest_data + ">"}, i)) >= 0; ++i) {
    last_write = i;
  }
  int data_sync = FindLine(lines, {"fsync(", "<" + ingest_data + ">", "= 0"});
  int labels_sync = FindLine(lines, {"fsync(", "<" + content + "/labels/sha256/.", "= 0"});
  int labels_rename = FindLine(lines, {"rename(", "\"" + labels + "\"", "= 0"});
  int blob_rename = FindLine(lines, {"renameat2(", "\"" + ingest_data + "\"", "\"" + blob + "\"",
                                     "RENAME_NOREPLACE", "= 0"});
  SCOPED_TRACE(ReadFile(trace).value());
  ASSERT_GE(last_write, 0);
  ASSERT_GE(blob_rename, 0);
  int dir_sync = FindLine(lines, {"fsync(", "<" + content + "/blobs/sha256>", "= 0"}, blob_rename);
  EXPECT_LT(last_write, data_sync);
  EXPECT_LT(data_sync, labels_sync);
  EXPECT_LT(labels_sync, labels_rename);
  EXPECT_LT(labels_rename, blob_rename);
  EXPECT_LT(blob_rename, dir_sync);
  // And the result is the blob.
  EXPECT_EQ(DigestFile(blob).value(), digest);
}

}  // namespace
}  // namespace berth::integration
