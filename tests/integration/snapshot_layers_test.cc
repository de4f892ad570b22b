// Layers made by umoci (the OCI image tool) apply with Berth exactly as GNU `tar -x` extracts
// them (hardlinks, xattrs, device nodes, owners, modes, mtimes), and a second layer with
// whiteouts applies, in delete mode and as an overlay upper layer, to the tree `umoci unpack`
// produces. umoci and GNU tar are the real binaries; the test fails if they are missing.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/process.h"
#include "common/temp_dir.h"
#include "services/snapshot/apply.h"
#include "services/snapshot/mount.h"
#include "services/snapshot/testing/mount_ns.h"
#include "services/snapshot/testing/rich_tree.h"
#include "services/snapshot/testing/test_util.h"
#include "services/snapshot/testing/tree.h"

namespace berth::snapshot {
namespace {

class UmociLayersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("b-umoci");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    tmp_.emplace(std::move(*dir));
    image_ = tmp_->Join("img");
  }

  Status Umoci(std::vector<std::string> args) {
    args.insert(args.begin(), "umoci");
    auto out = RunCapture(args, {}, std::chrono::seconds(120));
    return out.status();
  }

  // The layer digests of tag `tag`, bottom first.
  Result<std::vector<std::string>> Layers(const std::string& tag) {
    BERTH_ASSIGN_OR_RETURN(std::string index_text, ReadFile(image_ + "/index.json"));
    auto index = nlohmann::json::parse(index_text);
    for (const auto& manifest : index["manifests"]) {
      if (manifest["annotations"]["org.opencontainers.image.ref.name"] != tag) continue;
      std::string digest = manifest["digest"];
      BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(Blob(digest)));
      std::vector<std::string> layers;
      auto parsed = nlohmann::json::parse(text);
      for (const auto& layer : parsed["layers"]) {
        EXPECT_EQ(layer["mediaType"], kMediaTypeLayerGzip);
        layers.push_back(layer["digest"]);
      }
      return layers;
    }
    return Error(Code::kNotFound, "tag {} not in the image", tag);
  }

  std::string Blob(const std::string& digest) {
    return image_ + "/blobs/sha256/" + digest.substr(digest.find(':') + 1);
  }

  Result<ApplyResult> Apply(const std::string& root, const std::string& digest, WhiteoutMode mode,
                            std::vector<std::string> lowers = {}) {
    UniqueFd fd(::open(Blob(digest).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return ErrnoStatus(errno, "open layer");
    FdSource source(fd.get());
    ApplyOptions options;
    options.compression = Compression::kGzip;
    options.whiteouts = mode;
    options.lower_dirs = std::move(lowers);
    return ApplyLayer(root, source, options);
  }

  std::string Dir(const std::string& name) {
    std::string path = tmp_->Join(name);
    EXPECT_TRUE(MakeDirs(path, 0755).ok());
    return path;
  }

  std::optional<TempDir> tmp_;
  std::string image_;
};

std::string Tree(const std::string& dir, bool mtimes) {
  auto tree = testing::DescribeTree(dir, {.mtimes = mtimes, .dir_mtimes = mtimes, .root = false});
  EXPECT_TRUE(tree.ok()) << tree.status().ToString();
  return tree.ok() ? *tree : "";
}

TEST_F(UmociLayersTest, LayersApplyLikeTarXAndUmociUnpack) {
  SNAP_ASSERT_OK(Umoci({"init", "--layout", image_}));
  SNAP_ASSERT_OK(Umoci({"new", "--image", image_ + ":base"}));
  std::string bundle = tmp_->Join("bundle");
  SNAP_ASSERT_OK(Umoci({"unpack", "--image", image_ + ":base", bundle}));
  SNAP_ASSERT_OK(testing::MakeRichTree(bundle + "/rootfs"));
  SNAP_ASSERT_OK(Umoci({"repack", "--image", image_ + ":v1", bundle}));
  SNAP_ASSIGN_OR_FAIL(auto v1, Layers("v1"));
  ASSERT_EQ(v1.size(), 1u);

  // Layer 1: Berth == GNU tar -x, every attribute.
  std::string expected = Dir("tar-x");
  SNAP_ASSERT_OK(
      RunCapture({"tar", "--xattrs", "--xattrs-include=*", "-xzpf", Blob(v1[0]), "-C", expected})
          .status());
  std::string berth = Dir("berth-v1");
  SNAP_ASSIGN_OR_FAIL(ApplyResult applied, Apply(berth, v1[0], WhiteoutMode::kDelete));
  EXPECT_GT(applied.entries, 30u);
  std::string want = Tree(expected, true);
  EXPECT_NE(want.find("link=bin/tool"), std::string::npos) << want;
  EXPECT_NE(want.find("security.capability="), std::string::npos) << want;
  EXPECT_NE(want.find("dev=1,3"), std::string::npos) << want;
  EXPECT_EQ(Tree(berth, true), want);

  // Layer 2 with deletions, a directory replaced by a file, and a replaced directory.
  std::string bundle2 = tmp_->Join("bundle2");
  SNAP_ASSERT_OK(Umoci({"unpack", "--image", image_ + ":v1", bundle2}));
  std::string rootfs = bundle2 + "/rootfs";
  ASSERT_EQ(::unlink((rootfs + "/etc/hosts").c_str()), 0);
  SNAP_ASSERT_OK(RemoveAll(rootfs + "/home"));
  SNAP_ASSERT_OK(WriteFileAtomic(rootfs + "/home", "now a file\n"));
  SNAP_ASSERT_OK(RemoveAll(rootfs + "/deep"));
  SNAP_ASSERT_OK(MakeDirs(rootfs + "/deep/fresh", 0700));
  SNAP_ASSERT_OK(WriteFileAtomic(rootfs + "/bin/added", "added\n", 0755));
  SNAP_ASSERT_OK(Umoci({"repack", "--image", image_ + ":v2", bundle2}));
  SNAP_ASSIGN_OR_FAIL(auto v2, Layers("v2"));
  ASSERT_EQ(v2.size(), 2u);
  std::string unpacked = tmp_->Join("bundle3");
  SNAP_ASSERT_OK(Umoci({"unpack", "--image", image_ + ":v2", unpacked}));
  std::string reference = Tree(unpacked + "/rootfs", false);
  EXPECT_EQ(reference.find("etc/hosts "), std::string::npos);

  // Delete mode (native snapshots): both layers onto one tree.
  std::string full = Dir("berth-v2");
  SNAP_ASSERT_OK(Apply(full, v2[0], WhiteoutMode::kDelete).status());
  SNAP_ASSERT_OK(Apply(full, v2[1], WhiteoutMode::kDelete).status());
  EXPECT_EQ(Tree(full, false), reference);

  // Overlay mode: layer 2 into an upper dir, mounted over layer 1.
  std::string lower = Dir("lower");
  std::string upper = Dir("upper");
  std::string merged = Dir("merged");
  SNAP_ASSERT_OK(Apply(lower, v2[0], WhiteoutMode::kDelete).status());
  SNAP_ASSERT_OK(Apply(upper, v2[1], WhiteoutMode::kOverlay, {lower}).status());
  Mount overlay{"overlay", "overlay", "", {"ro", "lowerdir=" + upper + ":" + lower}};
  SNAP_ASSIGN_OR_FAIL(MountGuard guard, MountGuard::Create({overlay}, merged));
  EXPECT_EQ(Tree(merged, false), reference);
  SNAP_ASSERT_OK(guard.Release());
}

}  // namespace
}  // namespace berth::snapshot
