// Hostile layers (see /work/shared/reference/security.md): each one is refused or contained.
// Every test keeps a canary directory next to the snapshot root and checks, after the apply,
// that the canary is byte-for-byte and attribute-for-attribute unchanged, that nothing outside
// the root appeared, and that the root can still be removed. Both whiteout modes are covered.
#include <fcntl.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <functional>

#include "common/fs.h"
#include "common/temp_dir.h"
#include "services/snapshot/apply.h"
#include "services/snapshot/testing/tar_builder.h"
#include "services/snapshot/testing/test_util.h"
#include "services/snapshot/testing/tree.h"

namespace berth::snapshot {
namespace {

using testing::DescribeTree;
using testing::GzipBytes;
using testing::TarBuilder;
using testing::TarHeader;

// A ByteSource that produces a stream on demand (for archives too big to hold in memory).
class GeneratorSource : public ByteSource {
 public:
  // `next` appends the next piece of the stream to its argument; returns false at the end.
  explicit GeneratorSource(std::function<bool(std::string&)> next) : next_(std::move(next)) {}
  Result<size_t> Read(uint8_t* buffer, size_t size) override {
    while (pending_.size() - offset_ == 0) {
      pending_.clear();
      offset_ = 0;
      if (done_ || !next_(pending_)) {
        done_ = true;
        if (pending_.empty()) return size_t{0};
      }
    }
    size_t n = std::min(size, pending_.size() - offset_);
    std::memcpy(buffer, pending_.data() + offset_, n);
    offset_ += n;
    return n;
  }

 private:
  std::function<bool(std::string&)> next_;
  std::string pending_;
  size_t offset_ = 0;
  bool done_ = false;
};

class HostileTest : public ::testing::TestWithParam<WhiteoutMode> {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("b-hostile");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    tmp_.emplace(std::move(*dir));
    root_ = tmp_->Join("root");
    canary_ = tmp_->Join("canary");
    SNAP_ASSERT_OK(MakeDirs(root_, 0755));
    SNAP_ASSERT_OK(MakeDirs(canary_ + "/sub", 0755));
    SNAP_ASSERT_OK(WriteFileAtomic(canary_ + "/file", "canary\n", 0644));
    SNAP_ASSERT_OK(WriteFileAtomic(canary_ + "/sub/inner", "inner\n", 0600));
    auto before = Snapshot();
    ASSERT_TRUE(before.ok()) << before.status().ToString();
    canary_before_ = *before;
  }

  void TearDown() override {
    auto after = Snapshot();
    ASSERT_TRUE(after.ok()) << after.status().ToString();
    EXPECT_EQ(*after, canary_before_) << "the canary outside the snapshot root changed";
    // Nothing new next to the root and the canary.
    auto dir = OpenDirectory(tmp_->path());
    ASSERT_TRUE(dir.ok());
    auto names = ListDir(dir->get());
    ASSERT_TRUE(names.ok());
    EXPECT_EQ(*names, (std::vector<std::string>{"canary", "root"}));
    // A refused layer leaves the root removable.
    SNAP_EXPECT_OK(RemoveAll(root_));
  }

  // The canary tree with every attribute, including the canary directory itself.
  Result<std::string> Snapshot() {
    return DescribeTree(canary_, {.mtimes = true, .dir_mtimes = true, .root = true});
  }

  Result<ApplyResult> Apply(const std::string& tar, ApplyLimits limits = {}) {
    MemorySource source(tar);
    return ApplyWith(source, Compression::kNone, limits);
  }
  Result<ApplyResult> ApplyWith(ByteSource& source, Compression compression,
                                ApplyLimits limits = {}) {
    ApplyOptions options;
    options.compression = compression;
    options.whiteouts = GetParam();
    options.limits = limits;
    auto result = ApplyLayer(root_, source, options);
    if (getenv("SNAP_DEBUG")) std::cerr << "  apply: " << result.status().ToString() << "\n";
    return result;
  }

  // Refused with INVALID_ARGUMENT and an error naming `entry`, or applied with `entry` inside
  // the root: both are fine, escaping is not (checked in TearDown).
  void ExpectRefusedNaming(const Result<ApplyResult>& result, const std::string& entry) {
    ASSERT_FALSE(result.ok()) << "expected the layer to be refused";
    EXPECT_EQ(result.status().code(), Code::kInvalidArgument) << result.status().ToString();
    EXPECT_NE(result.status().message().find(entry), std::string::npos)
        << result.status().ToString();
  }

  std::optional<TempDir> tmp_;
  std::string root_;
  std::string canary_;
  std::string canary_before_;
};

TEST_P(HostileTest, DotDotNamesAreRefused) {
  ExpectRefusedNaming(Apply(TarBuilder().File("../canary/pwn", "x").Finish()), "../canary/pwn");
  ExpectRefusedNaming(Apply(TarBuilder().File("a/../../canary/file", "x").Finish()),
                      "a/../../canary/file");
  ExpectRefusedNaming(Apply(TarBuilder().File("../.wh.canary", "").Finish()), "../.wh.canary");
  ExpectRefusedNaming(Apply(TarBuilder().Dir("d").File("d/.wh...", "").Finish()), "d/.wh..");
}

TEST_P(HostileTest, AbsoluteNamesStayInsideTheRoot) {
  std::string name = canary_ + "/pwn";
  SNAP_ASSERT_OK(Apply(TarBuilder().File(name, "inside").Finish()).status());
  SNAP_ASSIGN_OR_FAIL(std::string data, ReadFile(root_ + name));
  EXPECT_EQ(data, "inside");
}

TEST_P(HostileTest, AbsoluteSymlinkThenWriteThrough) {
  // CVE-2014-6407 / CVE-2014-9356: evil -> <canary>, then evil/pwn. Inside the root the symlink
  // resolves to <root><canary>, which does not exist: refused.
  ExpectRefusedNaming(Apply(TarBuilder()
                                .Symlink("evil", canary_)
                                .File("evil/pwn", "x")
                                .File("evil/file", "overwritten")
                                .Finish()),
                      "evil/pwn");
  // x -> /, then x/<canary>/pwn: "/" is the root, so this lands at <root><canary>/pwn.
  SNAP_ASSERT_OK(
      Apply(TarBuilder().Symlink("x", "/").File("x" + canary_ + "/pwn", "y").Finish()).status());
  SNAP_ASSIGN_OR_FAIL(std::string data, ReadFile(root_ + canary_ + "/pwn"));
  EXPECT_EQ(data, "y");
}

TEST_P(HostileTest, RelativeSymlinkEscapes) {
  // ".." stops at the root: up -> ../../.. is the root itself.
  SNAP_ASSERT_OK(Apply(TarBuilder()
                           .Symlink("up", "../../../../../../..")
                           .File("up" + canary_ + "/p", "x")
                           .Finish())
                     .status());
  EXPECT_EQ(::access((root_ + canary_ + "/p").c_str(), F_OK), 0);
  ExpectRefusedNaming(
      Apply(TarBuilder().Symlink("rel", "../canary").File("rel/file", "overwritten").Finish()),
      "rel/file");
  ExpectRefusedNaming(
      Apply(
          TarBuilder().Dir("d").Symlink("d/l", "../../canary/sub").File("d/l/inner", "z").Finish()),
      "d/l/inner");
}

TEST_P(HostileTest, HardlinksToOutsideAreRefused) {
  ExpectRefusedNaming(Apply(TarBuilder().Hardlink("h", "../canary/file").Finish()), "h");
  ExpectRefusedNaming(Apply(TarBuilder().Hardlink("h", canary_ + "/file").Finish()), "h");
  ExpectRefusedNaming(Apply(TarBuilder().Symlink("s", canary_).Hardlink("h", "s/file").Finish()),
                      "h");
  // A hardlink to a symlink that points out links the symlink itself, never its target.
  SNAP_ASSERT_OK(
      Apply(TarBuilder().Symlink("l", canary_ + "/file").Hardlink("h", "l").Finish()).status());
  struct stat st;
  ASSERT_EQ(::lstat((root_ + "/h").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(::stat((canary_ + "/file").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
}

TEST_P(HostileTest, DirectoryReplacedBySymlinkIsNotWrittenThrough) {
  // libarchive CVE-2021-31566 / CVE-2025-47290: d/ (0777, old mtime) then d -> <canary>, then
  // d/pwn. The deferred directory fixup (mode and times of d/) must not reach the canary
  // through the symlink; the write through it is refused.
  TarHeader dir{"d/", '5', 0777};
  dir.mtime = 1;
  ExpectRefusedNaming(
      Apply(
          TarBuilder().Add(dir).File("d/x", "1").Symlink("d", canary_).File("d/pwn", "2").Finish()),
      "d/pwn");
  SNAP_ASSERT_OK(RemoveAll(root_));
  SNAP_ASSERT_OK(MakeDirs(root_, 0755));
  // Swapped the other way too: the final directory replaces the symlink.
  SNAP_ASSERT_OK(
      Apply(TarBuilder().Add(dir).Symlink("d", "../canary").Dir("d", 0700).Finish()).status());
  struct stat st;
  ASSERT_EQ(::lstat((root_ + "/d").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  // Without a later directory entry, the symlink stays and nothing follows it.
  SNAP_ASSERT_OK(Apply(TarBuilder().Add(dir).Symlink("e", canary_).Finish()).status());
}

TEST_P(HostileTest, ChmodChownUtimesThroughSymlinkDoNotReachTheTarget) {
  // CVE-2021-32760: metadata of an entry named like a symlink that points at a host file.
  TarHeader suid{"c", '0', 04777, 1234, 1234};
  suid.mtime = 5;
  TarHeader dir{"c", '5', 04777, 1234, 1234};
  TarHeader fifo{"c", '6', 04777, 1234, 1234};
  for (const TarHeader& h : {suid, dir, fifo}) {
    SNAP_ASSERT_OK(Apply(TarBuilder().Symlink("c", canary_ + "/file").Add(h).Finish()).status());
    struct stat st;
    ASSERT_EQ(::lstat((root_ + "/c").c_str(), &st), 0);
    EXPECT_FALSE(S_ISLNK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 04777u);
    EXPECT_EQ(st.st_uid, 1234u);
  }
  // A symlink entry with xattrs and times: set on the link itself or refused.
  (void)Apply(TarBuilder()
                  .Pax({{"SCHILY.xattr.trusted.evil", "1"}})
                  .Symlink("s", canary_ + "/file")
                  .Finish());
}

TEST_P(HostileTest, WhiteoutsNeverDeleteOutside) {
  // Whiteouts below a symlink that points out resolve inside the root: there is nothing to
  // delete (delete mode), or no directory to put the whiteout in (overlay mode: refused).
  bool overlay = GetParam() == WhiteoutMode::kOverlay;
  auto a = Apply(TarBuilder().Symlink("s", canary_).File("s/.wh.file", "").Finish());
  auto b = Apply(TarBuilder().Symlink("o", canary_).File("o/.wh..wh..opq", "").Finish());
  auto c = Apply(TarBuilder().Symlink("r", "../canary").File("r/.wh.sub", "").Finish());
  for (const auto* result : {&a, &b, &c})
    EXPECT_EQ(result->ok(), !overlay) << result->status().ToString();
  ExpectRefusedNaming(Apply(TarBuilder().File("../canary/.wh.file", "").Finish()), "..");
}

TEST_P(HostileTest, MalformedEntriesAreRefusedWithTheirName) {
  ExpectRefusedNaming(Apply(TarBuilder().Symlink("loop", "loop").File("loop/x", "").Finish()),
                      "loop/x");
  ExpectRefusedNaming(Apply(TarBuilder().File("f", "").File("f/x", "").Finish()), "f/x");
  ExpectRefusedNaming(Apply(TarBuilder().Dir("d").Hardlink("h", "d").Finish()), "h");
  ExpectRefusedNaming(Apply(TarBuilder().Symlink("./", "/").Finish()), "root entry");
  ExpectRefusedNaming(Apply(TarBuilder().Hardlink("h", "missing").Finish()), "missing");
}

TEST_P(HostileTest, HugePaxHeaderIsRefusedWithBoundedMemory) {
  testing::ResetPeakRss();
  // A pax header announcing 1 GiB (but carrying little): refused before it is buffered.
  TarHeader pax{"PaxHeaders/x", 'x', 0644};
  pax.declared_size = uint64_t{1} << 30;
  auto lying = Apply(TarBuilder().Add(pax, "30 path=aaaaaaaaaaaaaaaaaaaaa\n").Finish());
  EXPECT_FALSE(lying.ok());
  // A real 4 MiB pax header, streamed.
  std::string records = TarBuilder::PaxRecords({{"comment", std::string(4 << 20, 'p')}});
  TarHeader big{"PaxHeaders/y", 'x', 0644};
  auto real = Apply(TarBuilder().Add(big, records).File("f", "x").Finish());
  EXPECT_FALSE(real.ok());
  TarHeader longname{"././@LongLink", 'L', 0644};
  auto gnu = Apply(TarBuilder().Add(longname, std::string(3 << 20, 'n')).File("f", "x").Finish());
  EXPECT_FALSE(gnu.ok());
  EXPECT_LT(testing::PeakRss(), int64_t{160} << 20);
}

TEST_P(HostileTest, GzipBombCostsBoundedMemoryAndStopsAtTheLimit) {
  // A 16 GiB file of zeros in ~16 MiB of gzip: 64 MiB members of zeros, concatenated.
  std::string zeros_member = GzipBytes(std::string(64 << 20, '\0'));
  TarHeader bomb{"bomb", '0', 0644};
  uint64_t size = uint64_t{16} << 30;
  std::string head = GzipBytes(TarBuilder::HeaderBlock(bomb, size));
  uint64_t members = 0;
  GeneratorSource source([&](std::string& out) {
    if (members > size / (64 << 20)) return false;
    out = members++ == 0 ? head : zeros_member;
    return true;
  });
  testing::ResetPeakRss();
  ApplyLimits limits;
  limits.max_bytes = uint64_t{256} << 20;
  auto result = ApplyWith(source, Compression::kGzip, limits);
  EXPECT_EQ(result.status().code(), Code::kResourceExhausted) << result.status().ToString();
  EXPECT_LT(testing::PeakRss(), int64_t{160} << 20);
}

TEST_P(HostileTest, GzipBombWithoutLimitIsStreamedInBoundedMemory) {
  std::string zeros_member = GzipBytes(std::string(32 << 20, '\0'));
  TarHeader bomb{"bomb", '0', 0644};
  uint64_t size = uint64_t{192} << 20;
  std::string head = GzipBytes(TarBuilder::HeaderBlock(bomb, size));
  std::string tail = GzipBytes(std::string(1024, '\0'));
  int part = 0;
  GeneratorSource source([&](std::string& out) {
    int index = part++;
    if (index == 0)
      out = head;
    else if (index <= 6)
      out = zeros_member;
    else if (index == 7)
      out = tail;
    return index <= 7;
  });
  testing::ResetPeakRss();
  SNAP_ASSIGN_OR_FAIL(ApplyResult result, ApplyWith(source, Compression::kGzip));
  EXPECT_EQ(result.size, size + 512 + 1024);
  EXPECT_LT(testing::PeakRss(), int64_t{160} << 20);
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/bomb").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), size);
}

TEST_P(HostileTest, MillionsOfEmptyEntriesAreCutOffAtTheLimit) {
  // 1.5 million header-only entries; the default limit is 2^20.
  std::string block = TarBuilder().Hardlink("x", "x").data();  // cheap to apply, still an entry
  const uint64_t total = 1500000;
  uint64_t produced = 0;
  GeneratorSource source([&](std::string& out) {
    if (produced >= total) return false;
    for (int i = 0; i < 2048 && produced < total; ++i, ++produced) out += block;
    if (produced >= total) out += std::string(1024, '\0');
    return true;
  });
  testing::ResetPeakRss();
  auto result = ApplyWith(source, Compression::kNone);
  EXPECT_EQ(result.status().code(), Code::kResourceExhausted) << result.status().ToString();
  EXPECT_NE(result.status().message().find("entries"), std::string::npos);
  EXPECT_LT(testing::PeakRss(), int64_t{160} << 20);
}

TEST_P(HostileTest, RepeatedEntriesKeepMemoryFlat) {
  // 100k entries rewriting the same directory and file: bookkeeping must not grow with them.
  std::string block = TarBuilder().Dir("d").File("d/f", "").data();
  uint64_t produced = 0;
  GeneratorSource source([&](std::string& out) {
    if (produced >= 50000) return false;
    for (int i = 0; i < 1000; ++i, ++produced) out += block;
    return true;
  });
  testing::ResetPeakRss();
  SNAP_ASSIGN_OR_FAIL(ApplyResult result, ApplyWith(source, Compression::kNone));
  EXPECT_EQ(result.entries, 100000u);
  EXPECT_LT(testing::PeakRss(), int64_t{160} << 20);
}

INSTANTIATE_TEST_SUITE_P(Modes, HostileTest,
                         ::testing::Values(WhiteoutMode::kDelete, WhiteoutMode::kOverlay),
                         [](const auto& info) {
                           return info.param == WhiteoutMode::kDelete ? "Delete" : "Overlay";
                         });

}  // namespace
}  // namespace berth::snapshot
