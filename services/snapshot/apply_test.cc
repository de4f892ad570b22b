// ApplyLayer against GNU tar: layers made by `tar -c` apply to exactly the tree `tar -x` makes;
// compression variants, whiteouts in both modes, diffIDs and stream errors.
#include "services/snapshot/apply.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <gtest/gtest.h>

#include "common/digest.h"
#include "common/fs.h"
#include "common/process.h"
#include "common/temp_dir.h"
#include "services/snapshot/testing/rich_tree.h"
#include "services/snapshot/testing/tar_builder.h"
#include "services/snapshot/testing/test_util.h"
#include "services/snapshot/testing/tree.h"

namespace berth::snapshot {
namespace {

using testing::DescribeTree;
using testing::GzipBytes;
using testing::TarBuilder;
using testing::ZstdBytes;

class ApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("b-apply");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    tmp_.emplace(std::move(*dir));
  }
  std::string Dir(const std::string& name) {
    std::string path = tmp_->Join(name);
    EXPECT_TRUE(MakeDirs(path, 0755).ok());
    return path;
  }
  Result<ApplyResult> Apply(const std::string& root, std::string_view blob, Compression compression,
                            WhiteoutMode mode = WhiteoutMode::kDelete) {
    MemorySource source(blob);
    ApplyOptions options;
    options.compression = compression;
    options.whiteouts = mode;
    return ApplyLayer(root, source, options);
  }
  std::optional<TempDir> tmp_;
};

std::string Tree(const std::string& dir) {
  auto tree = DescribeTree(dir, {.mtimes = true, .dir_mtimes = true, .root = true});
  EXPECT_TRUE(tree.ok()) << tree.status().ToString();
  return tree.ok() ? *tree : "";
}

// The paths in a tree, in walk order ("a", "a/b", ...).
std::vector<std::string> Paths(const std::string& dir) {
  auto tree = DescribeTree(dir, {.mtimes = false});
  EXPECT_TRUE(tree.ok()) << tree.status().ToString();
  std::vector<std::string> paths;
  size_t pos = 0;
  while (tree.ok() && pos < tree->size()) {
    size_t end = tree->find('\n', pos);
    std::string line = tree->substr(pos, end - pos);
    paths.push_back(line.substr(0, line.find(' ')));
    pos = end + 1;
  }
  return paths;
}

TEST_F(ApplyTest, GnuTarPosixLayerAppliesLikeTarX) {
  std::string src = Dir("src");
  SNAP_ASSERT_OK(testing::MakeRichTree(src));
  std::string layer = tmp_->Join("layer.tar");
  SNAP_ASSERT_OK(RunCapture({"tar", "--format=posix", "--xattrs", "--xattrs-include=*", "--sparse",
                             "-cpf", layer, "-C", src, "."})
                     .status());
  std::string expected = Dir("expected");
  SNAP_ASSERT_OK(
      RunCapture({"tar", "--xattrs", "--xattrs-include=*", "-xpf", layer, "-C", expected})
          .status());
  SNAP_ASSIGN_OR_FAIL(std::string tar, ReadFile(layer));
  SNAP_ASSIGN_OR_FAIL(Digest digest, DigestBytes(tar));

  struct Variant {
    const char* name;
    Compression compression;
    std::string blob;
  } variants[] = {{"plain", Compression::kNone, tar},
                  {"gzip", Compression::kGzip, GzipBytes(tar)},
                  {"zstd", Compression::kZstd, ZstdBytes(tar)}};
  std::string want = Tree(expected);
  ASSERT_NE(want.find("security.capability"), std::string::npos) << want;
  if (getenv("SNAP_DEBUG")) std::cerr << want;
  ASSERT_NE(want.find("dev=7,9"), std::string::npos) << want;
  for (const Variant& v : variants) {
    SCOPED_TRACE(v.name);
    std::string out = Dir(std::string("out-") + v.name);
    SNAP_ASSIGN_OR_FAIL(ApplyResult result, Apply(out, v.blob, v.compression));
    EXPECT_EQ(result.diff_id, digest);
    EXPECT_EQ(result.size, tar.size());
    EXPECT_EQ(Tree(out), want);
  }
  // The source tree itself is what both reproduce (sparse files read back the same).
  EXPECT_EQ(Tree(src), want);
}

TEST_F(ApplyTest, GnuTarGnuFormatLayerAppliesLikeTarX) {
  std::string src = Dir("src");
  SNAP_ASSERT_OK(testing::MakeRichTree(src));
  std::string layer = tmp_->Join("layer.tar");
  SNAP_ASSERT_OK(RunCapture({"tar", "--format=gnu", "-cpf", layer, "-C", src, "."}).status());
  std::string expected = Dir("expected");
  SNAP_ASSERT_OK(RunCapture({"tar", "-xpf", layer, "-C", expected}).status());
  SNAP_ASSIGN_OR_FAIL(std::string tar, ReadFile(layer));
  std::string out = Dir("out");
  SNAP_ASSIGN_OR_FAIL(ApplyResult result, Apply(out, GzipBytes(tar), Compression::kGzip));
  EXPECT_GT(result.entries, 30u);
  EXPECT_EQ(Tree(out), Tree(expected));
}

TEST_F(ApplyTest, DeleteModeWhiteoutsRemoveEntriesAndOpaqueKeepsThisLayer) {
  std::string root = Dir("root");
  std::string base = TarBuilder()
                         .Dir("a")
                         .File("a/old", "1")
                         .Dir("a/sub")
                         .File("a/sub/x", "2")
                         .File("keep", "k")
                         .File("gone", "g")
                         .Dir("gonedir")
                         .File("gonedir/f", "f")
                         .Finish();
  SNAP_ASSERT_OK(Apply(root, base, Compression::kNone).status());
  std::string top = TarBuilder()
                        .File("a/new-before", "n")  // same layer, before the opaque marker
                        .File("a/.wh..wh..opq", "")
                        .File("a/new-after", "n")
                        .File(".wh.gone", "")
                        .File(".wh.gonedir", "")
                        .File(".wh.never-existed", "")
                        .File("missing/.wh.x", "")
                        .File(".wh..wh.plnk", "")  // aufs metadata: ignored
                        .Finish();
  SNAP_ASSERT_OK(Apply(root, top, Compression::kNone).status());
  EXPECT_EQ(Paths(root), (std::vector<std::string>{"a", "a/new-after", "a/new-before", "keep"}));
}

TEST_F(ApplyTest, OverlayModeWritesOverlayWhiteoutsAndOpaqueXattr) {
  std::string lower = Dir("lower");
  std::string upper = Dir("upper");
  SNAP_ASSERT_OK(Apply(lower,
                       TarBuilder()
                           .Dir("a", 0711, 7, 8)
                           .File("a/old", "1")
                           .Dir("d", 0750)
                           .File("d/x", "x")
                           .File("gone", "g")
                           .Finish(),
                       Compression::kNone)
                     .status());
  std::string top = TarBuilder()
                        .File("a/new", "n")  // a/ itself is not in this layer
                        .File("d/.wh..wh..opq", "")
                        .File("d/y", "y")
                        .File(".wh.gone", "")
                        .Finish();
  MemorySource source(top);
  ApplyOptions options;
  options.whiteouts = WhiteoutMode::kOverlay;
  options.lower_dirs = {lower};
  SNAP_ASSERT_OK(ApplyLayer(upper, source, options).status());
  struct stat st;
  ASSERT_EQ(::lstat((upper + "/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char value[8] = {};
  ASSERT_EQ(::getxattr((upper + "/d").c_str(), "trusted.overlay.opaque", value, sizeof(value)), 1);
  EXPECT_EQ(value[0], 'y');
  // a/ was created in the upper dir with the lower layer's owner and mode.
  ASSERT_EQ(::lstat((upper + "/a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
  EXPECT_EQ(st.st_uid, 7u);
  EXPECT_EQ(st.st_gid, 8u);
  EXPECT_EQ(Paths(upper), (std::vector<std::string>{"a", "a/new", "d", "d/y", "gone"}));
}

TEST_F(ApplyTest, DiffIdCoversTrailingBytesAndEmptyLayersApply) {
  std::string tar = TarBuilder().File("f", "data").Finish() + std::string(8192, '\0');
  SNAP_ASSIGN_OR_FAIL(Digest digest, DigestBytes(tar));
  SNAP_ASSIGN_OR_FAIL(ApplyResult result, Apply(Dir("a"), GzipBytes(tar), Compression::kGzip));
  EXPECT_EQ(result.diff_id, digest);
  EXPECT_EQ(result.entries, 1u);

  std::string empty_tar(1024, '\0');
  SNAP_ASSIGN_OR_FAIL(ApplyResult empty, Apply(Dir("b"), GzipBytes(empty_tar), Compression::kGzip));
  EXPECT_EQ(empty.entries, 0u);
  SNAP_ASSIGN_OR_FAIL(ApplyResult nothing, Apply(Dir("c"), "", Compression::kNone));
  EXPECT_EQ(nothing.entries, 0u);
  EXPECT_EQ(nothing.diff_id, *DigestBytes(""));
}

TEST_F(ApplyTest, ConcatenatedGzipMembersAreOneStream) {
  std::string tar = TarBuilder().File("a", "1").File("b", std::string(100000, 'b')).Finish();
  std::string blob = GzipBytes(tar.substr(0, 1000)) + GzipBytes(tar.substr(1000));
  SNAP_ASSIGN_OR_FAIL(ApplyResult result, Apply(Dir("out"), blob, Compression::kGzip));
  EXPECT_EQ(result.diff_id, *DigestBytes(tar));
  EXPECT_EQ(Paths(tmp_->Join("out")), (std::vector<std::string>{"a", "b"}));
}

TEST_F(ApplyTest, CorruptAndTruncatedStreamsFail) {
  std::string tar = TarBuilder().File("f", std::string(300000, 'x')).Finish();
  std::string gz = GzipBytes(tar);
  auto truncated = Apply(Dir("t"), gz.substr(0, gz.size() / 2), Compression::kGzip);
  EXPECT_EQ(truncated.status().code(), Code::kInvalidArgument) << truncated.status().ToString();
  std::string corrupt = gz;
  corrupt[corrupt.size() / 2] ^= 0x5a;
  corrupt[corrupt.size() / 2 + 1] ^= 0x5a;
  auto bad = Apply(Dir("c"), corrupt, Compression::kGzip);
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument) << bad.status().ToString();
  auto zstd = Apply(Dir("z"), ZstdBytes(tar).substr(0, 100), Compression::kZstd);
  EXPECT_EQ(zstd.status().code(), Code::kInvalidArgument) << zstd.status().ToString();
  auto not_tar = Apply(Dir("n"), std::string(4096, 'j'), Compression::kNone);
  EXPECT_EQ(not_tar.status().code(), Code::kInvalidArgument) << not_tar.status().ToString();
}

TEST_F(ApplyTest, LaterEntriesReplaceEarlierOnes) {
  std::string root = Dir("root");
  std::string tar = TarBuilder()
                        .Dir("d")
                        .File("d/f", "1")
                        .File("d", "now a file")  // a directory replaced by a file
                        .Symlink("l", "target")
                        .Dir("l")  // a symlink replaced by a directory
                        .File("x", "1")
                        .File("x", "2")  // a file rewritten
                        .Hardlink("h", "x")
                        .Finish();
  SNAP_ASSERT_OK(Apply(root, tar, Compression::kNone).status());
  SNAP_ASSIGN_OR_FAIL(std::string d, ReadFile(root + "/d"));
  EXPECT_EQ(d, "now a file");
  struct stat st;
  ASSERT_EQ(::lstat((root + "/l").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  SNAP_ASSIGN_OR_FAIL(std::string h, ReadFile(root + "/h"));
  EXPECT_EQ(h, "2");
  ASSERT_EQ(::lstat((root + "/x").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
}

TEST(MediaTypeTest, LayerMediaTypes) {
  EXPECT_EQ(*CompressionForMediaType("application/vnd.oci.image.layer.v1.tar+gzip"),
            Compression::kGzip);
  EXPECT_EQ(*CompressionForMediaType("application/vnd.oci.image.layer.v1.tar+zstd"),
            Compression::kZstd);
  EXPECT_EQ(*CompressionForMediaType("application/vnd.oci.image.layer.v1.tar"), Compression::kNone);
  EXPECT_EQ(
      *CompressionForMediaType("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"),
      Compression::kGzip);
  EXPECT_EQ(*CompressionForMediaType("application/vnd.docker.image.rootfs.diff.tar.gzip"),
            Compression::kGzip);
  EXPECT_EQ(*CompressionForMediaType("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"),
            Compression::kGzip);
  EXPECT_EQ(CompressionForMediaType("application/vnd.oci.image.config.v1+json").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(DetectCompression("\x1f\x8b\x08"), Compression::kGzip);
  EXPECT_EQ(DetectCompression("\x28\xb5\x2f\xfd"), Compression::kZstd);
  EXPECT_EQ(DetectCompression("ustar"), Compression::kNone);
}

TEST(NormalizeEntryPathTest, CleansAndRefuses) {
  EXPECT_EQ(*NormalizeEntryPath("./a//b/./c/"), "a/b/c");
  EXPECT_EQ(*NormalizeEntryPath("/etc/passwd"), "etc/passwd");
  EXPECT_EQ(*NormalizeEntryPath("./"), "");
  EXPECT_EQ(NormalizeEntryPath("a/../b").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(NormalizeEntryPath("..").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(NormalizeEntryPath(std::string(5000, 'a')).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace berth::snapshot
