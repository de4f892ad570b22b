#include "common/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "common/temp_dir.h"

namespace berth {
namespace {

std::set<std::string> List(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.insert(name);
  }
  ::closedir(d);
  return names;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("fs-test");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    dir_.emplace(std::move(dir).value());
  }
  std::string Path(std::string_view name) { return dir_->Join(name); }
  std::optional<TempDir> dir_;
};

TEST_F(FsTest, MakeDirsCreatesParentsWithExactMode) {
  mode_t old = ::umask(077);
  Status s = MakeDirs(Path("a/b//c/"), 0711);
  ::umask(old);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ModeOf(Path("a")), 0711u);
  EXPECT_EQ(ModeOf(Path("a/b/c")), 0711u);
  ASSERT_EQ(::chmod(Path("a").c_str(), 0755), 0);
  EXPECT_TRUE(MakeDirs(Path("a/b/c"), 0700).ok());  // existing: fine, left alone
  EXPECT_EQ(ModeOf(Path("a")), 0755u);

  ASSERT_TRUE(WriteFileAtomic(Path("file"), "x").ok());
  Status not_dir = MakeDirs(Path("file/sub"));
  EXPECT_EQ(not_dir.code(), Code::kInvalidArgument) << not_dir.ToString();
  EXPECT_NE(not_dir.message().find(Path("file")), std::string::npos);
}

TEST_F(FsTest, WriteFileAtomicWritesAndLeavesNoTemporaryFiles) {
  ASSERT_TRUE(WriteFileAtomic(Path("f"), "first", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(Path("f"), "second", 0640).ok());
  EXPECT_EQ(*ReadFile(Path("f")), "second");
  EXPECT_EQ(ModeOf(Path("f")), 0640u);
  EXPECT_EQ(List(dir_->path()), std::set<std::string>{"f"});

  ASSERT_TRUE(WriteFileAtomic(Path("empty"), "").ok());
  EXPECT_EQ(*ReadFile(Path("empty")), "");
}

TEST_F(FsTest, WriteFileAtomicFailureLeavesNothingBehind) {
  ASSERT_TRUE(MakeDirs(Path("dir")).ok());
  Status s = WriteFileAtomic(Path("dir"), "data");  // rename over a directory fails
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(Path("dir")), std::string::npos) << s.ToString();
  EXPECT_EQ(List(dir_->path()), std::set<std::string>{"dir"});
  Status missing = WriteFileAtomic(Path("nodir/f"), "data");
  EXPECT_EQ(missing.code(), Code::kNotFound) << missing.ToString();
}

TEST_F(FsTest, ReadFileErrorsNameThePath) {
  auto r = ReadFile(Path("missing"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find(Path("missing")), std::string::npos);
}

TEST_F(FsTest, RemoveAllRemovesTreeWithoutFollowingSymlinks) {
  ASSERT_TRUE(MakeDirs(Path("outside")).ok());
  ASSERT_TRUE(WriteFileAtomic(Path("outside/keep"), "k").ok());
  ASSERT_TRUE(MakeDirs(Path("tree/a/b/c")).ok());
  ASSERT_TRUE(WriteFileAtomic(Path("tree/a/b/c/f"), "x").ok());
  ASSERT_TRUE(WriteFileAtomic(Path("tree/top"), "x").ok());
  ASSERT_EQ(::symlink(Path("outside").c_str(), Path("tree/a/link").c_str()), 0);
  ASSERT_EQ(::mkfifo(Path("tree/fifo").c_str(), 0600), 0);
  ASSERT_EQ(::chmod(Path("tree/a/b").c_str(), 0), 0);  // root removes it anyway

  ASSERT_TRUE(RemoveAll(Path("tree/")).ok());
  EXPECT_FALSE(Exists(Path("tree")));
  EXPECT_EQ(*ReadFile(Path("outside/keep")), "k");

  EXPECT_TRUE(RemoveAll(Path("tree")).ok());  // missing is fine
  ASSERT_EQ(::symlink(Path("outside").c_str(), Path("link").c_str()), 0);
  ASSERT_TRUE(RemoveAll(Path("link")).ok());
  EXPECT_FALSE(Exists(Path("link")));
  EXPECT_TRUE(Exists(Path("outside/keep")));
}

// In a private mount namespace (child process): RemoveAll must stop at a mount point.
int RemoveAllAcrossMount(const std::string& dir) {
  if (::unshare(CLONE_NEWNS) != 0) return 2;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 2;
  std::string mnt = dir + "/tree/sub/mnt";
  if (!MakeDirs(mnt).ok()) return 3;
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, nullptr) != 0) return 2;
  if (!WriteFileAtomic(mnt + "/precious", "p").ok()) return 3;
  Status s = RemoveAll(dir + "/tree");
  if (s.code() != Code::kFailedPrecondition) return 4;
  if (s.message().find(mnt) == std::string::npos) return 5;
  if (!Exists(mnt + "/precious")) return 6;
  // The mount point itself is refused too, and so is a bind mount of the same file system.
  if (RemoveAll(mnt).code() != Code::kFailedPrecondition) return 7;
  if (!Exists(mnt + "/precious")) return 8;
  if (::umount(mnt.c_str()) != 0) return 3;
  std::string bind = dir + "/tree/bind";
  if (!MakeDirs(bind).ok() || !MakeDirs(dir + "/bindsrc").ok()) return 3;
  if (!WriteFileAtomic(dir + "/bindsrc/precious", "p").ok()) return 3;
  if (::mount((dir + "/bindsrc").c_str(), bind.c_str(), nullptr, MS_BIND, nullptr) != 0) return 2;
  if (RemoveAll(dir + "/tree").code() != Code::kFailedPrecondition) return 9;
  if (!Exists(dir + "/bindsrc/precious")) return 10;
  ::umount(bind.c_str());
  return 0;
}

TEST_F(FsTest, RemoveAllRefusesToCrossMounts) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) ::_exit(RemoveAllAcrossMount(dir_->path()));
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 2) GTEST_SKIP() << "cannot create a mount namespace here";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "step failed, see RemoveAllAcrossMount";
}

TEST_F(FsTest, OpenDirectoryAndFsyncDir) {
  auto fd = OpenDirectory(dir_->path());
  ASSERT_TRUE(fd.ok());
  EXPECT_TRUE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(FsyncDir(dir_->path()).ok());
  ASSERT_EQ(::symlink(dir_->path().c_str(), Path("link").c_str()), 0);
  EXPECT_TRUE(OpenDirectory(Path("link")).ok());
  EXPECT_FALSE(OpenDirectory(Path("link"), /*follow_symlinks=*/false).ok());
  ASSERT_TRUE(WriteFileAtomic(Path("f"), "x").ok());
  EXPECT_EQ(OpenDirectory(Path("f")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(FsyncDir(Path("missing")).code(), Code::kNotFound);
}

TEST(FdIoTest, WriteAllReadAll) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  UniqueFd r(fds[0]), w(fds[1]);
  ASSERT_TRUE(WriteAll(w.get(), "hello", "pipe").ok());
  w.reset();
  EXPECT_EQ(*ReadAll(r.get(), "pipe"), "hello");
}

}  // namespace
}  // namespace berth
