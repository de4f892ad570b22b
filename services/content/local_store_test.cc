// LocalStore specifics: the on-disk layout, crash leftovers, restarts and expiry.
#include "services/content/local_store.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <thread>

#include "common/fs.h"
#include "services/content/content_test_util.h"

namespace berth::content {
namespace {

using testing::RandomBytes;
using testing::Sha256;
namespace fs = std::filesystem;

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>(TempDir::Create("b-local").value());
    Reopen();
  }
  void Reopen() {
    store_.reset();
    auto store = LocalStore::Open(root());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  std::string root() const { return dir_->Join("content"); }
  std::vector<std::string> Entries(const std::string& sub) {
    std::vector<std::string> names;
    for (auto& e : fs::recursive_directory_iterator(root() + "/" + sub)) {
      if (!e.is_directory()) names.push_back(e.path().string());
    }
    return names;
  }

  // What a crash inside Commit leaves after the data's rename into blobs/ and before the ingest
  // dir is removed: the dir of `ref` with its metadata and no data. Returns the dir.
  std::string LeaveCommittedIngest(const std::string& ref, std::string_view data) {
    {
      auto writer = store_->OpenWriter({.ref = ref});
      EXPECT_TRUE(writer.ok()) << writer.status().ToString();
      if (writer.ok()) {
        EXPECT_TRUE((*writer)->Write(data).ok());
      }
    }
    std::string dir = store_->IngestDir(ref);
    std::string blob = store_->BlobPath(Sha256(data));
    EXPECT_EQ(::chmod((dir + "/data").c_str(), 0444), 0);
    EXPECT_EQ(::rename((dir + "/data").c_str(), blob.c_str()), 0);
    EXPECT_TRUE(fs::exists(dir + "/ref"));
    return dir;
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<LocalStore> store_;
};

// Runs `body` on a thread whose effective capabilities lack CAP_DAC_OVERRIDE and
// CAP_DAC_READ_SEARCH, as berth-content has none under berthd. Capabilities belong to a thread,
// so the rest of the test keeps its own.
void RunWithoutDacOverride(const std::function<void()>& body) {
  std::thread thread([&] {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct caps[2]{};
    ASSERT_EQ(::syscall(SYS_capget, &header, caps), 0);
    caps[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
    ASSERT_EQ(::syscall(SYS_capset, &header, caps), 0);
    body();
  });
  thread.join();
}

TEST_F(LocalStoreTest, CommittedBlobIsReadOnlyInItsPlace) {
  std::string data = "layout";
  Digest digest = Sha256(data);
  ASSERT_TRUE(WriteBlob(*store_, "ref", data, digest, {{"k", "v"}}).ok());
  std::string path = root() + "/blobs/sha256/" + digest.hex;
  EXPECT_EQ(store_->BlobPath(digest), path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);
  EXPECT_EQ(ReadFile(path).value(), data);
  EXPECT_TRUE(fs::exists(root() + "/labels/sha256/" + digest.hex));
  EXPECT_TRUE(Entries("ingest").empty());
}

TEST_F(LocalStoreTest, IngestIsInvisibleUnderBlobsUntilCommit) {
  std::string data = RandomBytes(2 << 20, 7);
  auto writer = store_->OpenWriter({.ref = "in-flight", .expected = Sha256(data)});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write(data).ok());
  EXPECT_TRUE(Entries("blobs").empty());
  std::string dir = store_->IngestDir("in-flight");
  EXPECT_EQ(ReadFile(dir + "/ref").value(), "in-flight");
  EXPECT_EQ(ReadFile(dir + "/expected").value(), Sha256(data).ToString());
  EXPECT_EQ(fs::file_size(dir + "/data"), data.size());
  ASSERT_TRUE((*writer)->Commit(data.size(), {}).ok());
  EXPECT_EQ(Entries("blobs").size(), 1u);
  EXPECT_FALSE(fs::exists(dir));
}

TEST_F(LocalStoreTest, IngestSurvivesARestartOfTheStore) {
  std::string data = RandomBytes(3 << 20, 8);
  Digest digest = Sha256(data);
  {
    auto writer = store_->OpenWriter({.ref = "restart", .expected = digest});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(0, 1234567)).ok());
  }
  Reopen();
  auto writer = store_->OpenWriter({.ref = "restart"});
  ASSERT_TRUE(writer.ok());
  auto status = (*writer)->GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->offset, 1234567u);
  EXPECT_EQ(status->expected, digest);
  // The hash state was rebuilt from the data on disk.
  EXPECT_EQ((*writer)->CurrentDigest().value(), Sha256(data.substr(0, 1234567)));
  ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(1234567)).ok());
  ASSERT_TRUE((*writer)->Commit(data.size(), digest).ok());
  EXPECT_EQ(ReadBlob(*store_, digest).value(), data);
}

TEST_F(LocalStoreTest, OpenTidiesWhatACrashLeaves) {
  Digest kept_digest = Sha256("kept");
  ASSERT_TRUE(WriteBlob(*store_, "kept", "kept", kept_digest, {{"a", "b"}}).ok());
  {
    auto writer = store_->OpenWriter({.ref = "valid"});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write("abc").ok());
  }
  std::string ingest = root() + "/ingest";
  ASSERT_TRUE(MakeDirs(ingest + "/.tmp-half").ok());
  ASSERT_TRUE(MakeDirs(ingest + "/noref").ok());
  ASSERT_TRUE(WriteFileAtomic(ingest + "/noref/data", "x").ok());
  std::string orphan = root() + "/labels/sha256/" + Sha256("never committed").hex;
  ASSERT_TRUE(WriteFileAtomic(orphan, "{\"a\":\"b\"}").ok());
  std::string committed = LeaveCommittedIngest("committed", "committed bytes");
  Reopen();
  EXPECT_FALSE(fs::exists(ingest + "/.tmp-half"));
  EXPECT_FALSE(fs::exists(ingest + "/noref"));
  EXPECT_FALSE(fs::exists(committed));
  EXPECT_EQ(ReadBlob(*store_, Sha256("committed bytes")).value(), "committed bytes");
  EXPECT_FALSE(fs::exists(orphan));
  EXPECT_EQ(store_->GetStatus("valid")->offset, 3u);
  EXPECT_EQ(store_->GetInfo(kept_digest)->labels.at("a"), "b");
}

TEST_F(LocalStoreTest, UnreadableIngestStartsOver) {
  {
    auto writer = store_->OpenWriter({.ref = "corrupt"});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write("abc").ok());
  }
  ASSERT_TRUE(WriteFileAtomic(store_->IngestDir("corrupt") + "/total", "not a number").ok());
  EXPECT_EQ(store_->GetStatus("corrupt").status().code(), Code::kDataLoss);
  auto writer = store_->OpenWriter({.ref = "corrupt"});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  EXPECT_EQ((*writer)->GetStatus()->offset, 0u);
}

// Left in place, the dir without data made the rename of a new ingest fail with ENOTEMPTY, so a
// write of another blob under that ref reported "already exists" while nothing was stored.
TEST_F(LocalStoreTest, LeftoverOfACommitStartsOverForTheNextWrite) {
  std::string dir = LeaveCommittedIngest("reused", "first blob");
  EXPECT_EQ(store_->GetStatus("reused").status().code(), Code::kNotFound);
  auto writer = store_->OpenWriter({.ref = "reused"});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  EXPECT_EQ((*writer)->GetStatus()->offset, 0u);
  ASSERT_TRUE((*writer)->Write("second blob").ok());
  ASSERT_TRUE((*writer)->Commit(0, Sha256("second blob")).ok());
  writer->reset();
  EXPECT_EQ(ReadBlob(*store_, Sha256("second blob")).value(), "second blob");
  EXPECT_EQ(ReadBlob(*store_, Sha256("first blob")).value(), "first blob");
  EXPECT_FALSE(fs::exists(dir));

  LeaveCommittedIngest("reused", "third blob");
  ASSERT_TRUE(WriteBlob(*store_, "reused", "fourth blob", Sha256("fourth blob")).ok());
  EXPECT_EQ(ReadBlob(*store_, Sha256("fourth blob")).value(), "fourth blob");
}

// A crash inside Commit between the chmod to 0444 and the rename leaves a complete, read-only
// ingest. Without CAP_DAC_OVERRIDE its owner cannot open it for writing as it is.
TEST_F(LocalStoreTest, ReadOnlyIngestLeftByACommitResumesWithoutCapabilities) {
  std::string data = RandomBytes(300000, 9);
  Digest digest = Sha256(data);
  {
    auto writer = store_->OpenWriter({.ref = "read-only", .expected = digest});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(data).ok());
  }
  std::string path = store_->IngestDir("read-only") + "/data";
  ASSERT_EQ(::chmod(path.c_str(), 0444), 0);
  Reopen();
  RunWithoutDacOverride([&] {
    // The thread really lacks the capability: the plain open is refused.
    UniqueFd plain(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_FALSE(plain) << "CAP_DAC_OVERRIDE was not dropped";
    ASSERT_EQ(errno, EACCES);
    auto writer = store_->OpenWriter({.ref = "read-only"});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    EXPECT_EQ((*writer)->GetStatus()->offset, data.size());
    EXPECT_EQ((*writer)->CurrentDigest().value(), digest);
    ASSERT_TRUE((*writer)->Commit(data.size(), digest).ok());
  });
  auto blob = ReadBlob(*store_, digest);
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  EXPECT_EQ(*blob, data);
  struct stat st {};
  ASSERT_EQ(::stat(store_->BlobPath(digest).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);
  EXPECT_TRUE(Entries("ingest").empty());
}

TEST_F(LocalStoreTest, ExpiryRemovesLeftoversWithoutData) {
  std::string dir = LeaveCommittedIngest("leftover", "leftover blob");
  EXPECT_EQ(store_->ExpireIngests(std::chrono::hours(1)).value(), 0u);
  EXPECT_TRUE(fs::exists(dir));  // too young
  timespec times[2] = {{::time(nullptr) - 7200, 0}, {::time(nullptr) - 7200, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, dir.c_str(), times, 0), 0);
  EXPECT_EQ(store_->ExpireIngests(std::chrono::hours(1)).value(), 1u);
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_EQ(ReadBlob(*store_, Sha256("leftover blob")).value(), "leftover blob");
}

TEST_F(LocalStoreTest, ExpiryRemovesStaleUnlockedIngests) {
  for (const char* ref : {"fresh", "stale", "stale-but-active"}) {
    auto writer = store_->OpenWriter({.ref = ref});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(ref).ok());
  }
  auto backdate = [&](const std::string& ref) {
    std::string data = store_->IngestDir(ref) + "/data";
    timespec times[2] = {{::time(nullptr) - 7200, 0}, {::time(nullptr) - 7200, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, data.c_str(), times, 0), 0);
  };
  backdate("stale");
  auto active = store_->OpenWriter({.ref = "stale-but-active"});
  ASSERT_TRUE(active.ok());
  backdate("stale-but-active");

  auto removed = store_->ExpireIngests(std::chrono::hours(1));
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  EXPECT_EQ(store_->GetStatus("stale").status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->GetStatus("fresh").ok());
  EXPECT_TRUE(store_->GetStatus("stale-but-active").ok());
  active->reset();
  EXPECT_EQ(store_->ExpireIngests(std::chrono::hours(1)).value(), 1u);
  EXPECT_EQ(store_->ListStatuses()->size(), 1u);
}

TEST_F(LocalStoreTest, ExpiryKeepsTheIngestsItIsToldToKeep) {
  for (const char* ref : {"leased", "unleased"}) {
    auto writer = store_->OpenWriter({.ref = ref});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(ref).ok());
    std::string data = store_->IngestDir(ref) + "/data";
    timespec times[2] = {{::time(nullptr) - 7200, 0}, {::time(nullptr) - 7200, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, data.c_str(), times, 0), 0);
  }
  std::string leftover = LeaveCommittedIngest("leased-leftover", "leftover blob");
  timespec times[2] = {{::time(nullptr) - 7200, 0}, {::time(nullptr) - 7200, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, leftover.c_str(), times, 0), 0);

  auto removed = store_->ExpireIngests(std::chrono::hours(1), {"leased", "leased-leftover"});
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 1u);
  EXPECT_EQ(store_->GetStatus("unleased").status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->GetStatus("leased").ok());
  EXPECT_TRUE(fs::exists(leftover));
  // Once no lease holds them, they go.
  EXPECT_EQ(store_->ExpireIngests(std::chrono::hours(1)).value(), 2u);
  EXPECT_EQ(store_->GetStatus("leased").status().code(), Code::kNotFound);
  EXPECT_FALSE(fs::exists(leftover));
}

TEST_F(LocalStoreTest, StrayFilesUnderBlobsAreNeverBlobs) {
  ASSERT_TRUE(WriteFileAtomic(root() + "/blobs/sha256/not-a-digest", "x").ok());
  ASSERT_TRUE(WriteFileAtomic(root() + "/blobs/sha256/" + std::string(64, 'A'), "x").ok());
  int seen = 0;
  ASSERT_TRUE(store_
                  ->Walk([&](const Info&) {
                    ++seen;
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(seen, 0);
}

}  // namespace
}  // namespace berth::content
