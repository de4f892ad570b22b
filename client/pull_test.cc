// Pull against docker-registry into in-process services: a LocalStore, an overlayfs
// snapshotter and the walking differ (the same backends berth-content and berth-snapshot run).
#include "client/pull.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include "client/media_types.h"
#include "client/testing/test_registry.h"
#include "common/fs.h"
#include "common/temp_dir.h"
#include "services/content/local_store.h"
#include "services/snapshot/drivers.h"
#include "services/snapshot/mount.h"

namespace berth::client {
namespace {

using testing::TestRegistry;

class PullTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto r = TestRegistry::Start();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    registry_ = std::move(r).value();
    Status pushed = testing::PushFixtureImages(registry_->host());
    ASSERT_TRUE(pushed.ok()) << pushed.ToString();
  }
  static void TearDownTestSuite() { registry_.reset(); }

  void SetUp() override {
    dir_ = std::make_unique<TempDir>(TempDir::Create("b-pull").value());
    ASSERT_TRUE(MakeDirs(dir_->Join("scratch")).ok());
    store_ = content::LocalStore::Open(dir_->Join("content")).value();
    auto snaps = snapshot::OpenSnapshotter(dir_->Join("snapshot"), "overlayfs");
    ASSERT_TRUE(snaps.ok()) << snaps.status().ToString();
    snapshots_ = std::move(snaps).value();
    differ_ = std::make_unique<snapshot::WalkingDiffer>(*store_, dir_->Join("scratch"));
    images_ = NewMemoryImageStore();
    services_ = {store_.get(), snapshots_.get(), differ_.get(), images_.get()};
  }

  void TearDown() override {
    // Snapshots first: the directory goes with the TempDir.
    snapshots_.reset();
  }

  Result<PullResult> DoPull(const std::string& repo_and_tag, PullOptions options = {}) {
    BERTH_ASSIGN_OR_RETURN(Reference ref, ParseReference(registry_->host() + "/" + repo_and_tag));
    RegistryOptions ro;
    ro.hosts.plain_http = true;
    BERTH_ASSIGN_OR_RETURN(auto registry, Registry::Create(ref, ro));
    options.progress = &progress_;
    return Pull(*registry, ref, services_, options);
  }

  static std::unique_ptr<TestRegistry> registry_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<content::LocalStore> store_;
  std::unique_ptr<snapshot::Snapshotter> snapshots_;
  std::unique_ptr<snapshot::Differ> differ_;
  std::unique_ptr<MemoryImageStore> images_;
  PullServices services_;
  Progress progress_;
};
std::unique_ptr<TestRegistry> PullTest::registry_;

TEST_F(PullTest, PullsAndUnpacksLayersInOrder) {
  auto result = DoPull("berth/layered:latest");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_FALSE(result->already_present);
  EXPECT_EQ(result->layers_fetched, 3u);
  EXPECT_EQ(result->layers_unpacked, 3u);
  ASSERT_EQ(result->local.chain_ids.size(), 3u);
  // Every chain is a committed snapshot whose parent is the chain below.
  for (size_t i = 0; i < 3; ++i) {
    auto info = snapshots_->Stat(result->local.chain_ids[i].ToString());
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->kind, snapshot::Kind::kCommitted);
    EXPECT_EQ(info->parent, i == 0 ? "" : result->local.chain_ids[i - 1].ToString());
  }
  // The image record, its labels, and the GC labels on the blobs.
  auto image = images_->Get(registry_->host() + "/berth/layered:latest");
  ASSERT_TRUE(image.ok() && image->has_value());
  EXPECT_EQ((*image)->target.digest, result->image.target.digest);
  EXPECT_EQ((*image)->labels.at("containerd.io/gc.ref.snapshot.overlayfs"),
            result->local.TopChain());
  auto manifest_info = store_->GetInfo(result->local.manifest_descriptor.digest);
  ASSERT_TRUE(manifest_info.ok());
  EXPECT_EQ(manifest_info->labels.at("containerd.io/gc.ref.content.l.2"),
            result->local.manifest.layers[2].digest.ToString());
  auto layer_info = store_->GetInfo(result->local.manifest.layers[0].digest);
  EXPECT_EQ(layer_info->labels.at("containerd.io/uncompressed"),
            result->local.config.diff_ids[0].ToString());
  auto config_info = store_->GetInfo(result->local.manifest.config.digest);
  EXPECT_EQ(config_info->labels.at("containerd.io/gc.ref.snapshot.overlayfs"),
            result->local.TopChain());
  EXPECT_TRUE(images_->Leases().empty());  // released

  // The rootfs: whiteouts and the opaque directory applied, the hard link kept.
  std::string view = dir_->Join("view");
  ASSERT_TRUE(MakeDirs(view).ok());
  auto mounts = snapshots_->View("check", result->local.TopChain(), {});
  ASSERT_TRUE(mounts.ok()) << mounts.status().ToString();
  {
    auto guard = snapshot::MountGuard::Create(*mounts, view);
    ASSERT_TRUE(guard.ok()) << guard.status().ToString();
    EXPECT_EQ(ReadFile(view + "/data/a.txt").value(), "alpha\n");
    EXPECT_FALSE(ReadFile(view + "/data/remove-me.txt").ok());
    EXPECT_FALSE(ReadFile(view + "/data/dir/old1.txt").ok());
    EXPECT_FALSE(ReadFile(view + "/data/dir/sub/old3.txt").ok());
    EXPECT_EQ(ReadFile(view + "/data/dir/new.txt").value(), "new\n");
    struct stat a {
    }, b{};
    ASSERT_EQ(::stat((view + "/data/a.txt").c_str(), &a), 0);
    ASSERT_EQ(::stat((view + "/data/hardlink-to-a").c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_TRUE(ReadFile(view + "/etc/passwd").ok());
  }
  ASSERT_TRUE(snapshots_->Remove("check").ok());
}

TEST_F(PullTest, PullingAgainDoesNoWork) {
  ASSERT_TRUE(DoPull("berth/busybox:latest").ok());
  auto again = DoPull("berth/busybox:latest");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->already_present);
  EXPECT_EQ(again->layers_fetched, 0u);
  EXPECT_EQ(again->layers_unpacked, 0u);
  EXPECT_TRUE(images_->Leases().empty());
  // The Docker v2s2 copy shares the layer blob and its snapshot: nothing to fetch or unpack but
  // the documents.
  auto v2s2 = DoPull("berth/busybox:v2s2");
  ASSERT_TRUE(v2s2.ok()) << v2s2.status().ToString();
  EXPECT_FALSE(v2s2->already_present);
  EXPECT_EQ(v2s2->layers_fetched, 0u);
  EXPECT_EQ(v2s2->layers_unpacked, 0u);
  EXPECT_EQ(v2s2->local.TopChain(), again->local.TopChain());
}

TEST_F(PullTest, ResumesAnInterruptedLayer) {
  // Half of the busybox layer is in an ingest, as a killed pull leaves it.
  auto ref = ParseReference(registry_->host() + "/berth/busybox:latest").value();
  RegistryOptions ro;
  ro.hosts.plain_http = true;
  auto registry = Registry::Create(ref, ro).value();
  auto resolved = registry->Resolve(ref).value();
  Manifest m = ParseManifest(resolved.descriptor.media_type, resolved.bytes).value();
  const Descriptor& layer = m.layers[0];
  struct Half : FetchTarget {
    std::string data;
    Status Write(std::string_view c) override { return data.append(c), Status::Ok(); }
    Status Restart() override { return data.clear(), Status::Ok(); }
  } half;
  ASSERT_TRUE(registry->FetchBlob(layer, 0, half).ok());
  {
    auto writer =
        store_->OpenWriter({"pull-" + layer.digest.hex, (uint64_t)layer.size, layer.digest});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(std::string_view(half.data).substr(0, layer.size / 2)).ok());
  }
  auto result = DoPull("berth/busybox:latest");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  bool resumed = false;
  for (const BlobProgress& p : progress_.Entries()) {
    if (p.digest == layer.digest) resumed = p.resumed == static_cast<uint64_t>(layer.size / 2);
  }
  EXPECT_TRUE(resumed);
  auto check =
      CheckImage(*store_, snapshots_.get(), result->image.target, PlatformMatcher(HostPlatform()));
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->complete());
  EXPECT_TRUE(check->unpacked);
}

TEST_F(PullTest, CorruptIngestIsDiscardedNotCommitted) {
  // An ingest holding wrong bytes (as after a misbehaving mirror): the commit fails, the ingest
  // is dropped, nothing is committed; the next pull succeeds from scratch.
  auto ref = ParseReference(registry_->host() + "/berth/busybox:latest").value();
  RegistryOptions ro;
  ro.hosts.plain_http = true;
  auto registry = Registry::Create(ref, ro).value();
  auto resolved = registry->Resolve(ref).value();
  Manifest m = ParseManifest(resolved.descriptor.media_type, resolved.bytes).value();
  const Descriptor& layer = m.layers[0];
  {
    auto writer =
        store_->OpenWriter({"pull-" + layer.digest.hex, (uint64_t)layer.size, layer.digest});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(std::string(1000, 'z')).ok());
  }
  auto failed = DoPull("berth/busybox:latest");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kDataLoss) << failed.status().ToString();
  EXPECT_EQ(store_->GetInfo(layer.digest).status().code(), Code::kNotFound);
  EXPECT_FALSE(store_->GetStatus("pull-" + layer.digest.hex).ok());
  EXPECT_FALSE(images_->Get(ref.String())->has_value());
  EXPECT_TRUE(images_->Leases().empty());
  auto retried = DoPull("berth/busybox:latest");
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
}

TEST_F(PullTest, WithoutUnpackOnlyContent) {
  auto result = DoPull("berth/busybox:latest", {.unpack = false});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->layers_unpacked, 0u);
  EXPECT_FALSE(snapshots_->Stat(result->local.TopChain()).ok());
  EXPECT_TRUE(result->image.labels.empty());
}

// Pulls from misbehaving_registry.py's images (bearer auth, user u:p).
class MisbehavingPullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::MisbehavingRegistry::Start("any blob");
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    dir_ = std::make_unique<TempDir>(TempDir::Create("b-pull").value());
    ASSERT_TRUE(MakeDirs(dir_->Join("scratch")).ok());
    store_ = content::LocalStore::Open(dir_->Join("content")).value();
    snapshots_ = snapshot::OpenSnapshotter(dir_->Join("snapshot"), "overlayfs").value();
    differ_ = std::make_unique<snapshot::WalkingDiffer>(*store_, dir_->Join("scratch"));
    images_ = NewMemoryImageStore();
    services_ = {store_.get(), snapshots_.get(), differ_.get(), images_.get()};
  }
  void TearDown() override {
    (void)server_->Release();  // never leave a request hanging
    snapshots_.reset();
  }

  Result<PullResult> PullCase(const std::string& name, PullOptions options = {}) {
    BERTH_ASSIGN_OR_RETURN(
        Reference ref, ParseReference(fmt::format("127.0.0.1:{}/t/{}:x", server_->port(), name)));
    RegistryOptions ro;
    ro.hosts.plain_http = true;
    ro.user = Credentials{"u", "p", ""};
    BERTH_ASSIGN_OR_RETURN(auto registry, Registry::Create(ref, ro));
    return Pull(*registry, ref, services_, options);
  }

  std::vector<snapshot::Info> Snapshots() {
    std::vector<snapshot::Info> out;
    EXPECT_TRUE(snapshots_
                    ->Walk([&](const snapshot::Info& info) {
                      out.push_back(info);
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }

  std::unique_ptr<testing::MisbehavingRegistry> server_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<content::LocalStore> store_;
  std::unique_ptr<snapshot::Snapshotter> snapshots_;
  std::unique_ptr<snapshot::Differ> differ_;
  std::unique_ptr<MemoryImageStore> images_;
  PullServices services_;
};

// The registry holds the second layer back until the first is unpacked: a pipeline that
// unpacked only after every download would never get there.
TEST_F(MisbehavingPullTest, UnpacksEarlyLayersWhileLaterOnesDownload) {
  std::atomic<bool> done{false};
  Result<PullResult> result = Status(Code::kUnknown, "not run");
  std::thread puller([&] {
    result = PullCase("gated");
    done = true;
  });
  bool first_unpacked = false;
  for (int i = 0; i < 300 && !first_unpacked && !done; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (const snapshot::Info& info : Snapshots()) {
      if (info.kind == snapshot::Kind::kCommitted) first_unpacked = true;
    }
  }
  // Meanwhile everything written so far is held by the pull's lease: blobs, the ingest of the
  // layer still downloading, and the snapshots.
  std::vector<std::string> leases = images_->Leases();
  std::map<std::string, int> kinds;
  if (leases.size() == 1) {
    for (auto& [type, id] : images_->LeaseResources(leases[0])) ++kinds[type];
  }
  ASSERT_TRUE(server_->Release().ok());
  puller.join();
  EXPECT_TRUE(first_unpacked) << "layer 1 was not unpacked while layer 2 was downloading";
  EXPECT_EQ(leases.size(), 1u);
  EXPECT_GE(kinds["content"], 3);              // config and both layers
  EXPECT_EQ(kinds["ingests"], 3);              // one per blob fetched: config and both layers
  EXPECT_GE(kinds["snapshots/overlayfs"], 2);  // the extraction key and the committed chain
  EXPECT_TRUE(images_->Leases().empty()) << "the lease outlived the pull";
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->layers_fetched, 2u);
  EXPECT_EQ(result->layers_unpacked, 2u);
  EXPECT_TRUE(snapshots_->Stat(result->local.TopChain()).ok());
}

TEST_F(MisbehavingPullTest, LayerWithWrongDiffIdIsNotCommitted) {
  auto result = PullCase("baddiff");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kDataLoss) << result.status().ToString();
  EXPECT_NE(result.status().message().find("diffID"), std::string::npos)
      << result.status().message();
  EXPECT_TRUE(Snapshots().empty()) << "a snapshot was left behind";
  EXPECT_TRUE(images_->List().value().empty());
  EXPECT_TRUE(images_->Leases().empty());
}

TEST_F(MisbehavingPullTest, DownloadsAtMostMaxConcurrentLayersAtOnce) {
  auto two = PullCase("slow", {.max_concurrent = 2, .unpack = false});
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_EQ(two->layers_fetched, 6u);
  EXPECT_EQ(server_->MaxInflight().value(), 2);
  // Into an empty store with the default limit: 3 at once.
  ASSERT_TRUE(server_->ClearLog().ok());
  store_ = content::LocalStore::Open(dir_->Join("content2")).value();
  services_.content = store_.get();
  auto three = PullCase("slow", {.unpack = false});
  ASSERT_TRUE(three.ok()) << three.status().ToString();
  EXPECT_EQ(three->layers_fetched, 6u);
  EXPECT_EQ(server_->MaxInflight().value(), 3);
}

}  // namespace
}  // namespace berth::client
