// The conformance suite, continued (see conformance_test.cc): writes whose bytes come from a
// source file (WriterOptions::source_fd, Writer::WriteFrom; through IPC the fd is handed over
// with SCM_RIGHTS), and a full disk. Both backends, like the rest of the suite.
//
// The disk-full tests mount a small tmpfs; the whole binary runs in a private mount namespace
// (entered before the first test, while the process has one thread), so a crashed test can never
// leave that mount behind, and the tests unmount it themselves anyway.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/fs.h"
#include "services/content/conformance_fixture.h"

namespace berth::content {
namespace {

using ::testing::HasSubstr;
using testing::RandomBytes;
using testing::Sha256;

class ContentMountNamespace : public ::testing::Environment {
 public:
  void SetUp() override {
    ASSERT_EQ(::unshare(CLONE_NEWNS), 0) << "unshare(CLONE_NEWNS): " << std::strerror(errno);
    ASSERT_EQ(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0)
        << "make / private: " << std::strerror(errno);
  }
};
::testing::Environment* const kContentMountNamespace =
    ::testing::AddGlobalTestEnvironment(new ContentMountNamespace);

class ContentSourceConformance : public testing::ConformanceFixture {
 protected:
  // A file with `data` in the test's temp dir, open read-only.
  UniqueFd SourceFile(const std::string& name, std::string_view data) {
    std::string path = dir_->Join(name);
    EXPECT_TRUE(WriteFileAtomic(path, data, 0600).ok());
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    EXPECT_TRUE(fd.valid()) << path;
    return fd;
  }
};

TEST_P(ContentSourceConformance, WriteFromCopiesTheSourceFile) {
  std::string data = RandomBytes(5 * 1024 * 1024 + 3, 21);
  Digest digest = Sha256(data);
  UniqueFd source = SourceFile("source", data);
  auto writer = store().OpenWriter(
      {.ref = "from-file", .total = data.size(), .expected = digest, .source_fd = source.get()});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  // Bytes from memory and from the file mix freely.
  ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(0, 1000)).ok());
  Status copied = (*writer)->WriteFrom(1000, 2 << 20);
  ASSERT_TRUE(copied.ok()) << copied.ToString();
  EXPECT_EQ((*writer)->GetStatus()->offset, 1000u + (2 << 20));
  uint64_t at = 1000 + (2 << 20);
  ASSERT_TRUE((*writer)->WriteFrom(at, data.size() - at).ok());
  EXPECT_EQ((*writer)->CurrentDigest().value(), digest);
  ASSERT_TRUE((*writer)->Commit(data.size(), digest).ok());
  writer->reset();
  EXPECT_EQ(ReadBlob(store(), digest).value(), data);
  EXPECT_EQ(FilesUnder("ingest"), 0u);
  // The caller's fd is still its own: open, and at its old position.
  EXPECT_EQ(::lseek(source.get(), 0, SEEK_CUR), 0);
}

TEST_P(ContentSourceConformance, ABlobIsWhatWasCopiedEvenIfTheSourceChangesLater) {
  std::string original = RandomBytes(3 << 20, 22);
  Digest digest = Sha256(original);
  UniqueFd source = SourceFile("source", original);
  auto writer = store().OpenWriter({.ref = "changing", .source_fd = source.get()});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->WriteFrom(0, original.size()).ok());
  // The file changes between the copy and the commit (same size, other bytes).
  std::string path = dir_->Join("source");
  UniqueFd rewrite(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(rewrite.valid());
  ASSERT_EQ(::pwrite(rewrite.get(), "XXXXXXXX", 8, 4096), 8);
  ASSERT_TRUE((*writer)->Commit(original.size(), digest).ok());
  writer->reset();
  EXPECT_EQ(ReadBlob(store(), digest).value(), original);
  EXPECT_TRUE(CheckBlobs(store(), {digest})->at(0).status.ok());
}

TEST_P(ContentSourceConformance, CopyingPastTheEndOfTheSourceCopiesNothing) {
  std::string data(100, 's');
  UniqueFd source = SourceFile("short", data);
  {
    auto writer = store().OpenWriter({.ref = "short", .source_fd = source.get()});
    ASSERT_TRUE(writer.ok());
    Status past = (*writer)->WriteFrom(50, 51);
    EXPECT_EQ(past.code(), Code::kOutOfRange) << past.ToString();
    EXPECT_THAT(past.message(), HasSubstr("100 bytes"));
  }
  EXPECT_EQ(store().GetStatus("short")->offset, 0u);
  auto writer = store().OpenWriter({.ref = "short", .source_fd = source.get()});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->WriteFrom(50, 50).ok());
  ASSERT_TRUE((*writer)->WriteFrom(100, 0).ok());  // nothing to copy at the very end: fine
  ASSERT_TRUE((*writer)->Commit(50, Sha256(data.substr(50))).ok());
}

TEST_P(ContentSourceConformance, WriteFromWithoutASourceIsFailedPrecondition) {
  auto writer = store().OpenWriter({.ref = "no-source"});
  ASSERT_TRUE(writer.ok());
  Status status = (*writer)->WriteFrom(0, 1);
  EXPECT_EQ(status.code(), Code::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("without a source"));
}

TEST_P(ContentSourceConformance, ASourceMustBeAReadableRegularFile) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd pipe_read(pipe_fds[0]), pipe_write(pipe_fds[1]);
  std::string file = dir_->Join("write-only");
  ASSERT_TRUE(WriteFileAtomic(file, "x").ok());
  UniqueFd write_only(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
  UniqueFd directory(::open(dir_->path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd path_only(::open(file.c_str(), O_PATH | O_CLOEXEC));
  ASSERT_TRUE(write_only.valid() && directory.valid() && path_only.valid());
  for (int fd : {pipe_read.get(), write_only.get(), directory.get(), path_only.get()}) {
    auto writer = store().OpenWriter({.ref = "bad-source", .source_fd = fd});
    EXPECT_EQ(writer.status().code(), Code::kInvalidArgument) << fd;
    EXPECT_THAT(writer.status().message(), HasSubstr("regular file"));
  }
  EXPECT_EQ(store().GetStatus("bad-source").status().code(), Code::kNotFound);
}

// A small tmpfs as the store's root; unmounted (lazily) whatever happens.
class TmpfsMount {
 public:
  explicit TmpfsMount(const std::string& path) : path_(path) {
    std::filesystem::create_directories(path);
    mounted_ = ::mount("tmpfs", path.c_str(), "tmpfs", 0, "size=8m") == 0;
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  bool Grow() { return ::mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT, "size=32m") == 0; }

 private:
  std::string path_;
  bool mounted_ = false;
};

class ContentDiskFullConformance : public ContentSourceConformance {
 protected:
  // Puts the store on an 8 MiB tmpfs.
  void MoveStoreToTmpfs() {
    harness_.reset();
    tmpfs_ = std::make_unique<TmpfsMount>(dir_->Join("small"));
    ASSERT_TRUE(tmpfs_->mounted()) << "mount tmpfs: " << std::strerror(errno);
    harness_ = std::make_unique<testing::StoreHarness>(GetParam(), dir_->Join("small/content"));
  }
  void TearDown() override {
    harness_.reset();
    tmpfs_.reset();
  }
  std::unique_ptr<TmpfsMount> tmpfs_;
};

TEST_P(ContentDiskFullConformance, DiskFullKeepsTheIngestForResume) {
  MoveStoreToTmpfs();
  std::string data = RandomBytes(12 * 1024 * 1024, 4);
  Digest digest = Sha256(data);
  {
    auto writer = store().OpenWriter({.ref = "big", .expected = digest});
    ASSERT_TRUE(writer.ok());
    Status status;
    for (size_t off = 0; off < data.size() && status.ok(); off += 1 << 20) {
      status = (*writer)->Write(std::string_view(data).substr(off, 1 << 20));
    }
    if (status.ok()) status = (*writer)->Commit(data.size(), digest);
    EXPECT_EQ(status.code(), Code::kResourceExhausted) << status.ToString();
  }
  EXPECT_EQ(store().GetInfo(digest).status().code(), Code::kNotFound);
  EXPECT_EQ(FilesUnder("blobs"), 0u);
  auto status = store().GetStatus("big");
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  uint64_t offset = status->offset;
  EXPECT_GT(offset, 0u);
  EXPECT_LT(offset, data.size());
  EXPECT_EQ(offset % (1 << 20), 0u);  // a failed chunk leaves nothing behind

  ASSERT_TRUE(tmpfs_->Grow());
  auto writer = store().OpenWriter({.ref = "big", .expected = digest});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_EQ((*writer)->GetStatus()->offset, offset);
  ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(offset)).ok());
  ASSERT_TRUE((*writer)->Commit(data.size(), digest).ok());
  writer->reset();
  EXPECT_EQ(ReadBlob(store(), digest).value(), data);
}

// Copies a 12 MiB source into a store on an 8 MiB tmpfs: RESOURCE_EXHAUSTED, the ingest keeps
// what fit; after the tmpfs grows the ref resumes from its offset.
void CopyUntilTheDiskIsFull(Store& store, int source, const std::string& data, TmpfsMount& tmpfs) {
  Digest digest = Sha256(data);
  {
    auto writer = store.OpenWriter({.ref = "copy", .expected = digest, .source_fd = source});
    ASSERT_TRUE(writer.ok());
    Status copied = (*writer)->WriteFrom(0, data.size());
    EXPECT_EQ(copied.code(), Code::kResourceExhausted) << copied.ToString();
  }
  EXPECT_EQ(store.GetInfo(digest).status().code(), Code::kNotFound);
  auto status = store.GetStatus("copy");
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_GT(status->offset, 0u);
  EXPECT_LT(status->offset, data.size());

  ASSERT_TRUE(tmpfs.Grow());
  auto writer = store.OpenWriter({.ref = "copy", .source_fd = source});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  uint64_t offset = (*writer)->GetStatus()->offset;
  ASSERT_EQ(offset, status->offset);
  // What the ingest kept hashes right: the resumed blob verifies.
  ASSERT_TRUE((*writer)->WriteFrom(offset, data.size() - offset).ok());
  ASSERT_TRUE((*writer)->Commit(data.size(), digest).ok());
  writer->reset();
  EXPECT_EQ(ReadBlob(store, digest).value(), data);
}

// A source on another file system than the store: read and written through a buffer.
TEST_P(ContentDiskFullConformance, DiskFullWhileCopyingASourceFromElsewhere) {
  std::string data = RandomBytes(12 * 1024 * 1024, 5);
  UniqueFd source = SourceFile("source", data);  // outside the tmpfs
  MoveStoreToTmpfs();
  CopyUntilTheDiskIsFull(store(), source.get(), data, *tmpfs_);
  EXPECT_EQ(FilesUnder("blobs"), 1u);
}

// A source on the store's own file system: copied inside the kernel (copy_file_range).
TEST_P(ContentDiskFullConformance, DiskFullWhileCopyingASourceOnTheSameFileSystem) {
  MoveStoreToTmpfs();
  // The source takes 2 MiB of the 8 MiB tmpfs, its first copy 2 MiB more: a blob of two
  // copies (4 MiB) cannot fit beside them.
  std::string data = RandomBytes(2 << 20, 6);
  std::string path = dir_->Join("small/source");
  ASSERT_TRUE(WriteFileAtomic(path, data, 0600).ok());
  UniqueFd source(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(source.valid());
  {
    auto writer = store().OpenWriter({.ref = "once", .source_fd = source.get()});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->WriteFrom(0, data.size()).ok());
    ASSERT_TRUE((*writer)->Commit(data.size(), Sha256(data)).ok());
  }
  EXPECT_EQ(ReadBlob(store(), Sha256(data)).value(), data);
  std::string twice = data + data;
  {
    auto writer = store().OpenWriter({.ref = "twice", .source_fd = source.get()});
    ASSERT_TRUE(writer.ok());
    Status status = (*writer)->WriteFrom(0, data.size());
    if (status.ok()) status = (*writer)->WriteFrom(0, data.size());
    EXPECT_EQ(status.code(), Code::kResourceExhausted) << status.ToString();
  }
  EXPECT_EQ(store().GetInfo(Sha256(twice)).status().code(), Code::kNotFound);
  auto status = store().GetStatus("twice");
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  uint64_t offset = status->offset;
  EXPECT_LT(offset, twice.size());

  ASSERT_TRUE(tmpfs_->Grow());
  auto writer = store().OpenWriter({.ref = "twice", .source_fd = source.get()});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_EQ((*writer)->GetStatus()->offset, offset);
  // Resume where the ingest stopped: the rest of the first copy (if any), then the second.
  for (uint64_t at = offset; at < twice.size();) {
    uint64_t in_copy = at % data.size();
    ASSERT_TRUE((*writer)->WriteFrom(in_copy, data.size() - in_copy).ok());
    at += data.size() - in_copy;
  }
  ASSERT_TRUE((*writer)->Commit(twice.size(), Sha256(twice)).ok());
  writer->reset();
  EXPECT_EQ(ReadBlob(store(), Sha256(twice)).value(), twice);
}

BERTH_CONTENT_CONFORMANCE(ContentSourceConformance);
BERTH_CONTENT_CONFORMANCE(ContentDiskFullConformance);

}  // namespace
}  // namespace berth::content
