// Import and export of image archives against a real content store, with archives made by
// skopeo (OCI and docker-archive) and read back by skopeo.
#include "client/archive.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "client/local_image.h"
#include "client/testing/test_registry.h"
#include "common/fs.h"
#include "common/process.h"
#include "common/temp_dir.h"
#include "services/content/local_store.h"

namespace berth::client {
namespace {

class ArchiveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto dir = TempDir::Create("b-arch");
    ASSERT_TRUE(dir.ok());
    fixtures_ = std::make_unique<TempDir>(std::move(dir).value());
    oci_ = fixtures_->Join("busybox-oci.tar");
    auto built = RunCapture(
        {"bash", testing::SourceDir() + "/tests/fixtures/images.sh", "oci-archive", oci_, "v1"}, {},
        std::chrono::minutes(3));
    ASSERT_TRUE(built.ok()) << built.status().ToString();
    docker_ = fixtures_->Join("busybox-docker.tar");
    auto copied =
        RunCapture({"skopeo", "copy", "--quiet", "--insecure-policy", "oci-archive:" + oci_ + ":v1",
                    "docker-archive:" + docker_ + ":berth/busybox:dock"},
                   {}, std::chrono::minutes(2));
    ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  }
  static void TearDownTestSuite() { fixtures_.reset(); }

  void SetUp() override {
    auto dir = TempDir::Create("b-arch");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<TempDir>(std::move(dir).value());
    store_ = content::LocalStore::Open(dir_->Join("content")).value();
  }

  std::unique_ptr<content::LocalStore> NewStore(const std::string& name) {
    return content::LocalStore::Open(dir_->Join(name)).value();
  }

  static std::unique_ptr<TempDir> fixtures_;
  static std::string oci_, docker_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<content::LocalStore> store_;
};
std::unique_ptr<TempDir> ArchiveTest::fixtures_;
std::string ArchiveTest::oci_, ArchiveTest::docker_;

TEST_F(ArchiveTest, ImportsSkopeoOciArchive) {
  // The OCI ref.name is a tag only: without a base name the image stays unnamed.
  auto unnamed = ImportArchive(oci_, *store_);
  ASSERT_TRUE(unnamed.ok()) << unnamed.status().ToString();
  ASSERT_EQ(unnamed->images.size(), 1u);
  EXPECT_EQ(unnamed->images[0].name, "");
  std::vector<Digest> leased;
  auto named = ImportArchive(
      oci_, *store_, {.base_name = "example.com/berth/busybox", .on_blob = [&](const Digest& d) {
                        leased.push_back(d);
                        return Status::Ok();
                      }});
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ(named->images[0].name, "example.com/berth/busybox:v1");
  EXPECT_EQ(named->written, 0u);  // everything was already there
  EXPECT_EQ(named->images[0].target.digest, unnamed->images[0].target.digest);
  auto image = LoadImage(*store_, named->images[0].target, PlatformMatcher(HostPlatform()));
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->manifest.layers.size(), 1u);
  EXPECT_EQ(leased.size(), named->blobs);  // every blob was offered to the lease
}

TEST_F(ArchiveTest, ImportsDockerSaveArchive) {
  auto result = ImportArchive(docker_, *store_);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->images.size(), 1u);
  EXPECT_EQ(result->images[0].name, "docker.io/berth/busybox:dock");
  auto image = LoadImage(*store_, result->images[0].target, PlatformMatcher(HostPlatform()));
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  ASSERT_EQ(image->manifest.layers.size(), 1u);
  // docker save stores layers uncompressed: the blob is its own diffID.
  EXPECT_EQ(image->manifest.layers[0].media_type, media::kOciLayer);
  EXPECT_EQ(image->manifest.layers[0].digest, image->config.diff_ids[0]);
  // Only the layer is a blob of the archive; its legacy <id>/json and <id>/VERSION are not
  // content. The store holds exactly the manifest, the config and the layer.
  EXPECT_EQ(result->blobs, 1u);
  std::set<Digest> stored;
  ASSERT_TRUE(store_
                  ->Walk([&](const content::Info& info) {
                    stored.insert(info.digest);
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(stored,
            (std::set<Digest>{image->manifest_descriptor.digest, image->manifest.config.digest,
                              image->manifest.layers[0].digest}));
  // Same image content as the OCI archive: same diffIDs.
  auto oci = ImportArchive(oci_, *store_);
  auto oci_image = LoadImage(*store_, oci->images[0].target, PlatformMatcher(HostPlatform()));
  EXPECT_EQ(oci_image->config.diff_ids, image->config.diff_ids);
}

// Import labels the documents as a pull does, so garbage collection keeps what an image
// record reaches once the import's lease is gone.
TEST_F(ArchiveTest, ImportSetsGcReferenceLabels) {
  for (const std::string& archive : {oci_, docker_}) {
    auto store = NewStore(archive == oci_ ? "labels-oci" : "labels-docker");
    auto imported = ImportArchive(archive, *store, {.base_name = "example.com/app"});
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
    auto image = LoadImage(*store, imported->images[0].target, PlatformMatcher(HostPlatform()));
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    auto manifest = store->GetInfo(image->manifest_descriptor.digest);
    ASSERT_TRUE(manifest.ok()) << archive;
    EXPECT_EQ(manifest->labels["containerd.io/gc.ref.content.config"],
              image->manifest.config.digest.ToString())
        << archive;
    ASSERT_EQ(image->manifest.layers.size(), 1u);
    EXPECT_EQ(manifest->labels["containerd.io/gc.ref.content.l.0"],
              image->manifest.layers[0].digest.ToString())
        << archive;
    auto layer = store->GetInfo(image->manifest.layers[0].digest);
    ASSERT_TRUE(layer.ok());
    EXPECT_EQ(layer->labels["containerd.io/uncompressed"], image->config.diff_ids[0].ToString());
  }
}

TEST_F(ArchiveTest, ExportImportRoundTripAndSkopeoReadsIt) {
  auto imported = ImportArchive(oci_, *store_, {.base_name = "example.com/app"});
  ASSERT_TRUE(imported.ok());
  std::string out = dir_->Join("export.tar");
  Status exported = ExportArchive(out, *store_, imported->images);
  ASSERT_TRUE(exported.ok()) << exported.ToString();
  auto fresh = NewStore("fresh");
  auto again = ImportArchive(out, *fresh);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_EQ(again->images.size(), 1u);
  EXPECT_EQ(again->images[0].name, "example.com/app:v1");
  EXPECT_EQ(again->images[0].target.digest, imported->images[0].target.digest);
  EXPECT_EQ(again->blobs, imported->blobs);
  auto inspect = RunCapture({"skopeo", "inspect", "oci-archive:" + out});
  ASSERT_TRUE(inspect.ok()) << inspect.status().ToString();
  auto json = nlohmann::json::parse(*inspect);
  EXPECT_EQ(json["Digest"], imported->images[0].target.digest.ToString());

  // Compressed archives import the same (libarchive detects the filter).
  std::string gz = dir_->Join("export.tar.gz");
  ASSERT_TRUE(
      ExportArchive(gz, *store_, imported->images, {.compression = media::Compression::kGzip})
          .ok());
  auto from_gz = ImportArchive(gz, *NewStore("gz"));
  ASSERT_TRUE(from_gz.ok()) << from_gz.status().ToString();
  EXPECT_EQ(from_gz->images[0].target.digest, imported->images[0].target.digest);
  std::string zst = dir_->Join("export.tar.zst");
  ASSERT_TRUE(
      ExportArchive(zst, *store_, imported->images, {.compression = media::Compression::kZstd})
          .ok());
  EXPECT_EQ(media::SniffCompression(ReadFile(zst).value().substr(0, 4)), media::Compression::kZstd);
  auto from_zst = ImportArchive(zst, *NewStore("zst"));
  ASSERT_TRUE(from_zst.ok()) << from_zst.status().ToString();
  EXPECT_EQ(from_zst->images[0].target.digest, imported->images[0].target.digest);
}

TEST_F(ArchiveTest, ExportNeedsAllContent) {
  auto imported = ImportArchive(oci_, *store_, {.base_name = "example.com/app"});
  ASSERT_TRUE(imported.ok());
  auto image = LoadImage(*store_, imported->images[0].target, PlatformMatcher(HostPlatform()));
  ASSERT_TRUE(store_->Delete(image->manifest.layers[0].digest).ok());
  std::string out = dir_->Join("partial.tar");
  Status s = ExportArchive(out, *store_, imported->images);
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  EXPECT_FALSE(ReadFile(out).ok());  // no partial file left
}

TEST_F(ArchiveTest, CorruptBlobIsRefusedAndNothingCommitted) {
  // An OCI layout whose blob does not match its name.
  std::string root = dir_->Join("layout");
  std::string fake = "sha256:" + std::string(64, 'a');
  ASSERT_TRUE(MakeDirs(root + "/blobs/sha256").ok());
  ASSERT_TRUE(WriteFileAtomic(root + "/blobs/sha256/" + std::string(64, 'a'), "not it").ok());
  ASSERT_TRUE(WriteFileAtomic(root + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})").ok());
  ASSERT_TRUE(WriteFileAtomic(root + "/index.json",
                              R"({"schemaVersion":2,"manifests":[{"mediaType":)"
                              R"("application/vnd.oci.image.manifest.v1+json","digest":")" +
                                  fake + R"(","size":6}]})")
                  .ok());
  std::string tar = dir_->Join("bad.tar");
  ASSERT_TRUE(
      RunCapture({"tar", "-C", root, "-cf", tar, "oci-layout", "index.json", "blobs"}).ok());
  auto result = ImportArchive(tar, *store_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kDataLoss) << result.status().ToString();
  EXPECT_EQ(store_->GetInfo(ParseDigest(fake).value()).status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->ListStatuses().value().empty());  // no ingest left behind

  std::string junk = dir_->Join("junk.tar");
  ASSERT_TRUE(WriteFileAtomic(junk, std::string(4096, 'j')).ok());
  EXPECT_EQ(ImportArchive(junk, *store_).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace berth::client
