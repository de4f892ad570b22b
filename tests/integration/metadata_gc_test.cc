// Garbage collection across real processes: berth-metadata deleting from berth-content and
// berth-snapshot (native snapshotter) what no image, container or lease references.
#include <gtest/gtest.h>

#include <thread>

#include "berth/metadata/v1/containers.berth.h"
#include "berth/metadata/v1/gc.berth.h"
#include "berth/metadata/v1/images.berth.h"
#include "berth/metadata/v1/leases.berth.h"
#include "common/digest.h"
#include "common/fs.h"
#include "ipc/client.h"
#include "services/content/proxy.h"
#include "services/metadata/test_util.h"
#include "services/snapshot/proxy.h"
#include "tests/integration/metadata_harness.h"

namespace berth::integration {
namespace {

namespace v1 = ::berth::metadata::v1;
using metadata::testing::MakeContainer;
using metadata::testing::MakeResource;

Digest DigestOf(std::string_view data) {
  Hasher hasher;
  hasher.Update(data);
  return hasher.Finish();
}

class GcIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dirs = ServiceDirs::Create();
    ASSERT_TRUE(dirs.ok());
    dirs_ = std::move(dirs).value();
    auto content = BuiltBinary("services/content/berth-content");
    auto snapshot = BuiltBinary("services/snapshot/berth-snapshot");
    auto metadata = BuiltBinary("services/metadata/berth-metadata");
    ASSERT_TRUE(content.ok()) << content.status().ToString();
    ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    ASSERT_TRUE(metadata.ok()) << metadata.status().ToString();
    std::vector<std::string> alone = {"--berthd", "none"};
    content_ =
        std::make_unique<ServiceProcess>(*content, "content", dirs_.root, dirs_.state, alone);
    snapshot_ =
        std::make_unique<ServiceProcess>(*snapshot, "snapshot", dirs_.root, dirs_.state, alone);
    metadata_ = std::make_unique<ServiceProcess>(
        *metadata, "metadata", dirs_.root, dirs_.state,
        // No collection but the ones a test asks for: none at startup (it could take a test's
        // unreferenced blobs before the test looks), none after a delete for a minute.
        std::vector<std::string>{"--berthd", "none", "--gc-delay-ms", "60000",
                                 "--gc-startup-delay-ms=-1"});
    for (auto* process : {content_.get(), snapshot_.get(), metadata_.get()}) {
      Status started = process->Start();
      ASSERT_TRUE(started.ok()) << started.ToString();
    }
    content_client_ = std::make_unique<ipc::Client>(content_->socket());
    snapshot_client_ = std::make_unique<ipc::Client>(snapshot_->socket());
    metadata_client_ = std::make_unique<ipc::Client>(metadata_->socket());
    content::ProxyOptions content_options;
    content_options.timeout = std::chrono::seconds(20);
    blobs_ = std::make_unique<content::Proxy>(*content_client_, content_options);
    snapshot::ProxyOptions snapshot_options;
    snapshot_options.timeout = std::chrono::seconds(20);
    snapshots_ =
        std::make_unique<snapshot::SnapshotterProxy>(*snapshot_client_, "native", snapshot_options);
  }
  void TearDown() override {
    blobs_.reset();
    snapshots_.reset();
    content_client_.reset();
    snapshot_client_.reset();
    metadata_client_.reset();
    metadata_.reset();
    snapshot_.reset();
    content_.reset();
  }

  ipc::CallOptions Call() {
    ipc::CallOptions options;
    options.ns = "default";
    options.timeout = std::chrono::seconds(60);
    return options;
  }
  Digest WriteBlob(const std::string& data, const content::Labels& labels = {}) {
    Digest digest = DigestOf(data);
    Status written = content::WriteBlob(*blobs_, "ref-" + digest.hex, data, digest, labels);
    EXPECT_TRUE(written.ok()) << written.ToString();
    return digest;
  }
  bool HasBlob(const Digest& digest) { return blobs_->GetInfo(digest).ok(); }
  bool HasSnapshot(const std::string& key) { return snapshots_->Stat(key).ok(); }
  void CommittedSnapshot(const std::string& name, const std::string& parent) {
    ASSERT_TRUE(snapshots_->Prepare(name + "-extract", parent, {}).ok());
    ASSERT_TRUE(snapshots_->Commit(name, name + "-extract", {}).ok());
  }
  // Creates image `name` whose target is the manifest blob `digest` of `size` bytes.
  Status CreateImage(ipc::Client& client, const std::string& name, const Digest& digest,
                     size_t size) {
    v1::CreateImageRequest create;
    create.mutable_image()->set_name(name);
    auto* target = create.mutable_image()->mutable_target();
    target->set_media_type("application/vnd.oci.image.manifest.v1+json");
    target->set_digest(digest.ToString());
    target->set_size(static_cast<int64_t>(size));
    auto created = v1::ImagesClient(client).Create(create, Call());
    return created.ok() ? Status::Ok() : created.status();
  }
  // Restarts berth-content with `--ingest-expiry 2s` (checked every second): it asks this
  // berth-metadata which ingests leases hold before it expires any.
  void RestartContentWithShortIngestExpiry() {
    ASSERT_TRUE(content_->Terminate().ok()) << content_->LogTail();
    auto binary = BuiltBinary("services/content/berth-content");
    ASSERT_TRUE(binary.ok());
    content_ = std::make_unique<ServiceProcess>(
        *binary, "content", dirs_.root, dirs_.state,
        std::vector<std::string>{"--berthd", "none", "--ingest-expiry", "2s"});
    ASSERT_TRUE(content_->Start().ok()) << content_->LogTail();
  }
  // Leaves an ingest of `ref` with a few bytes and no writer.
  void AbandonIngest(const std::string& ref) {
    auto writer = blobs_->OpenWriter({.ref = ref});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ASSERT_TRUE((*writer)->Write("partial").ok());
  }
  bool HasIngest(const std::string& ref) { return blobs_->GetStatus(ref).ok(); }
  // Waits up to 20 s for the ingest of `ref` to go; true when it went.
  bool IngestGoes(const std::string& ref) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (HasIngest(ref) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return !HasIngest(ref);
  }
  Result<v1::CollectResponse> Collect() {
    return v1::GCClient(*metadata_client_).Collect(v1::CollectRequest(), Call());
  }

  ServiceDirs dirs_;
  std::unique_ptr<ServiceProcess> content_, snapshot_, metadata_;
  std::unique_ptr<ipc::Client> content_client_, snapshot_client_, metadata_client_;
  std::unique_ptr<content::Proxy> blobs_;
  std::unique_ptr<snapshot::SnapshotterProxy> snapshots_;
};

TEST_F(GcIntegrationTest, AnImagesBlobsAndSnapshotsVanishOnlyAfterItIsDeleted) {
  CommittedSnapshot("layer-1", "");
  CommittedSnapshot("layer-2", "layer-1");
  Digest layer = WriteBlob("layer bytes");
  Digest config =
      WriteBlob(R"({"rootfs":{}})", {{"containerd.io/gc.ref.snapshot.native", "layer-2"}});
  std::string manifest_json = R"({"schemaVersion":2})";
  Digest manifest =
      WriteBlob(manifest_json, {{"containerd.io/gc.ref.content.config", config.ToString()},
                                {"containerd.io/gc.ref.content.l.0", layer.ToString()}});
  ASSERT_TRUE(
      CreateImage(*metadata_client_, "example.com/app:1", manifest, manifest_json.size()).ok());

  auto kept = Collect();
  ASSERT_TRUE(kept.ok()) << kept.status().ToString() << metadata_->LogTail();
  EXPECT_EQ(kept->removed_content_size(), 0);
  EXPECT_EQ(kept->removed_snapshots_size(), 0);
  EXPECT_TRUE(HasBlob(layer) && HasBlob(config) && HasBlob(manifest));
  EXPECT_TRUE(HasSnapshot("layer-1") && HasSnapshot("layer-2"));

  v1::DeleteImageRequest del;
  del.set_name("example.com/app:1");
  del.set_sync(true);
  auto deleted = v1::ImagesClient(*metadata_client_).Delete(del, Call());
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString() << metadata_->LogTail();
  EXPECT_TRUE(deleted->gc().complete()) << deleted->gc().error();
  EXPECT_EQ(deleted->gc().removed_content_size(), 3);
  EXPECT_EQ(deleted->gc().removed_snapshots_size(), 2);
  EXPECT_FALSE(HasBlob(layer) || HasBlob(config) || HasBlob(manifest));
  EXPECT_FALSE(HasSnapshot("layer-1") || HasSnapshot("layer-2"));
}

TEST_F(GcIntegrationTest, ALeaseProtectsHalfWrittenContentAndSnapshots) {
  v1::LeasesClient leases(*metadata_client_);
  v1::CreateLeaseRequest lease;
  lease.set_id("pull");
  ASSERT_TRUE(leases.Create(lease, Call()).ok());
  std::string data(100000, 'x');
  Digest digest = DigestOf(data);
  // The pull names the blob in its lease before writing it, then its unpack snapshot.
  v1::AddLeaseResourceRequest add;
  add.set_id("pull");
  *add.mutable_resource() = MakeResource("content", digest.ToString());
  ASSERT_TRUE(leases.AddResource(add, Call()).ok());
  *add.mutable_resource() = MakeResource("snapshots/native", "unpack-1");
  ASSERT_TRUE(leases.AddResource(add, Call()).ok());
  *add.mutable_resource() = MakeResource("ingests", "pull-layer");
  ASSERT_TRUE(leases.AddResource(add, Call()).ok());

  auto writer = blobs_->OpenWriter({.ref = "pull-layer", .total = data.size(), .expected = digest});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(0, 50000)).ok());
  ASSERT_TRUE(snapshots_->Prepare("unpack-1", "", {}).ok());
  ASSERT_TRUE(Collect().ok());
  // The write in progress goes on across a collection. (Not the lease's doing: a collection never
  // touches ingests. berth-content expires idle ones after --ingest-expiry unless a lease holds
  // them: see ALeasedIngestOutlivesIngestExpiryUntilTheLeaseIsDeleted.)
  EXPECT_TRUE(blobs_->GetStatus("pull-layer").ok());
  ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(50000)).ok());
  ASSERT_TRUE((*writer)->Commit(data.size(), digest).ok());
  writer->reset();
  auto report = Collect();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->removed_content_size(), 0);
  EXPECT_TRUE(HasBlob(digest));
  EXPECT_TRUE(HasSnapshot("unpack-1"));

  v1::DeleteLeaseRequest del;
  del.set_id("pull");
  del.set_sync(true);
  auto deleted = leases.Delete(del, Call());
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_FALSE(HasBlob(digest));
  EXPECT_FALSE(HasSnapshot("unpack-1"));
}

// containerd keeps an ingest a lease holds however long it stays idle; so does berth-content's
// ingest expiry, which asks berth-metadata (Leases.ListLeasedIngests) before removing any.
TEST_F(GcIntegrationTest, ALeasedIngestOutlivesIngestExpiryUntilTheLeaseIsDeleted) {
  RestartContentWithShortIngestExpiry();
  v1::LeasesClient leases(*metadata_client_);
  v1::CreateLeaseRequest lease;
  lease.set_id("slow-pull");
  ASSERT_TRUE(leases.Create(lease, Call()).ok());
  v1::AddLeaseResourceRequest add;
  add.set_id("slow-pull");
  *add.mutable_resource() = MakeResource("ingests", "leased-layer");
  ASSERT_TRUE(leases.AddResource(add, Call()).ok());
  // A lease in another namespace holds one too: the content store's ingests are global.
  ipc::CallOptions other = Call();
  other.ns = "team-b";
  lease.set_id("other-pull");
  ASSERT_TRUE(leases.Create(lease, std::move(other)).ok());
  add.set_id("other-pull");
  *add.mutable_resource() = MakeResource("ingests", "other-layer");
  other = Call();
  other.ns = "team-b";
  ASSERT_TRUE(leases.AddResource(add, std::move(other)).ok());

  AbandonIngest("leased-layer");
  AbandonIngest("other-layer");
  AbandonIngest("idle-layer");
  ASSERT_TRUE(IngestGoes("idle-layer")) << content_->LogTail();
  // Idle for longer than the expiry age, and several more runs later, the leased ones remain.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_TRUE(HasIngest("leased-layer")) << content_->LogTail();
  EXPECT_TRUE(HasIngest("other-layer")) << content_->LogTail();

  v1::DeleteLeaseRequest del;
  del.set_id("slow-pull");  // not sync: the next expiry run notices by itself
  ASSERT_TRUE(leases.Delete(del, Call()).ok());
  EXPECT_TRUE(IngestGoes("leased-layer")) << content_->LogTail();
  EXPECT_TRUE(HasIngest("other-layer"));
}

// Without berth-metadata's answer nothing can be proven unleased: expiry removes nothing, says
// why in berth-content's log, and removes the stale ingest once berth-metadata answers again.
TEST_F(GcIntegrationTest, IngestExpiryRemovesNothingWhileMetadataIsDown) {
  RestartContentWithShortIngestExpiry();
  metadata_->Kill9();
  AbandonIngest("idle-layer");
  std::this_thread::sleep_for(std::chrono::seconds(5));  // 2 s old, several runs
  EXPECT_TRUE(HasIngest("idle-layer"));
  auto log = ReadFile(content_->log_path());
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find("cannot tell which ingests leases hold"), std::string::npos) << *log;

  ASSERT_TRUE(metadata_->Start().ok()) << metadata_->LogTail();
  EXPECT_TRUE(IngestGoes("idle-layer")) << content_->LogTail();
}

TEST_F(GcIntegrationTest, AContainerProtectsItsSnapshot) {
  CommittedSnapshot("base", "");
  ASSERT_TRUE(snapshots_->Prepare("web-rw", "base", {}).ok());
  v1::ContainersClient containers(*metadata_client_);
  v1::CreateContainerRequest create;
  *create.mutable_container() = MakeContainer("web", "native", "web-rw");
  ASSERT_TRUE(containers.Create(create, Call()).ok());
  ASSERT_TRUE(Collect().ok());
  EXPECT_TRUE(HasSnapshot("web-rw"));
  EXPECT_TRUE(HasSnapshot("base"));
  v1::DeleteContainerRequest del;
  del.set_id("web");
  ASSERT_TRUE(containers.Delete(del, Call()).ok());
  auto report = Collect();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->removed_snapshots_size(), 2);
  EXPECT_FALSE(HasSnapshot("web-rw") || HasSnapshot("base"));
}

TEST_F(GcIntegrationTest, AStoreThatIsDownDuringGcLosesNothing) {
  Digest orphan = WriteBlob("nobody's blob");
  CommittedSnapshot("orphan", "");
  content_->Kill9();
  auto failed = Collect();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kUnavailable);
  EXPECT_TRUE(HasSnapshot("orphan"));  // the snapshot store was up, yet nothing was deleted

  ASSERT_TRUE(content_->Start().ok());
  snapshot_->Kill9();
  EXPECT_FALSE(Collect().ok());
  EXPECT_TRUE(HasBlob(orphan));

  ASSERT_TRUE(snapshot_->Start().ok());
  // Nobody asks again: the failed collection is retried (with backoff) by berth-metadata itself.
  for (int i = 0; i < 300 && (HasBlob(orphan) || HasSnapshot("orphan")); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(HasBlob(orphan)) << metadata_->LogTail();
  EXPECT_FALSE(HasSnapshot("orphan"));
  auto report = Collect();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->complete());
  EXPECT_EQ(report->removed_content_size() + report->removed_snapshots_size(), 0);
}

TEST_F(GcIntegrationTest, BerthctlGcReportsWhatItRemoves) {
  Digest orphan = WriteBlob("nobody's blob");
  Digest rooted = WriteBlob("pinned blob", {{"containerd.io/gc.root", "2024-01-01T00:00:00Z"}});
  Digest held = WriteBlob("an image's manifest");
  CommittedSnapshot("orphan", "");
  ASSERT_TRUE(CreateImage(*metadata_client_, "example.com/held:1", held, 19).ok());

  auto dry = RunBerthctl(dirs_.state, {"gc", "--dry-run"});
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_NE(dry->find("would remove content " + orphan.ToString()), std::string::npos) << *dry;
  EXPECT_NE(dry->find("would remove snapshot native/orphan"), std::string::npos) << *dry;
  EXPECT_EQ(dry->find(rooted.ToString()), std::string::npos) << *dry;
  EXPECT_EQ(dry->find(held.ToString()), std::string::npos) << *dry;
  EXPECT_NE(dry->find("gc (dry run): 1 blobs, 1 snapshots"), std::string::npos) << *dry;
  EXPECT_TRUE(HasBlob(orphan));
  EXPECT_TRUE(HasSnapshot("orphan"));

  auto real = RunBerthctl(dirs_.state, {"gc"});
  ASSERT_TRUE(real.ok()) << real.status().ToString();
  EXPECT_NE(real->find("removed content " + orphan.ToString()), std::string::npos) << *real;
  EXPECT_NE(real->find("removed snapshot native/orphan"), std::string::npos) << *real;
  EXPECT_NE(real->find("gc: 1 blobs, 1 snapshots, 0 expired leases; kept 2"), std::string::npos)
      << *real;
  EXPECT_FALSE(HasBlob(orphan));
  EXPECT_FALSE(HasSnapshot("orphan"));
  EXPECT_TRUE(HasBlob(rooted));
  EXPECT_TRUE(HasBlob(held));

  auto json = RunBerthctl(dirs_.state, {"--format", "json", "gc"});
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_NE(json->find("\"removed_content\": []"), std::string::npos) << *json;
  EXPECT_NE(json->find("\"complete\": true"), std::string::npos) << *json;
}

// berthctl image rm / lease rm: without --sync they return before any collection (this
// berth-metadata waits 60 s after a delete), with --sync the objects are gone when they return
// and image rm reports the collection on stderr.
TEST_F(GcIntegrationTest, BerthctlRmSyncCollectsBeforeItReturns) {
  CommittedSnapshot("rootfs", "");
  Digest layer = WriteBlob("cli layer");
  std::string manifest_json = R"({"schemaVersion":2,"cli":1})";
  Digest manifest =
      WriteBlob(manifest_json, {{"containerd.io/gc.ref.content.l.0", layer.ToString()},
                                {"containerd.io/gc.ref.snapshot.native", "rootfs"}});
  Digest other = WriteBlob("another image's manifest");
  ASSERT_TRUE(
      CreateImage(*metadata_client_, "example.com/cli:1", manifest, manifest_json.size()).ok());
  ASSERT_TRUE(CreateImage(*metadata_client_, "example.com/cli:0", other, 24).ok());

  auto plain = RunBerthctlBoth(dirs_.state, {"image", "rm", "example.com/cli:0"});
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->out, "example.com/cli:0\n");
  EXPECT_EQ(plain->err, "");
  EXPECT_TRUE(HasBlob(other));  // left to the debounced collection

  auto synced = RunBerthctlBoth(dirs_.state, {"image", "rm", "--sync", "example.com/cli:1"});
  ASSERT_TRUE(synced.ok()) << synced.status().ToString() << metadata_->LogTail();
  EXPECT_EQ(synced->out, "example.com/cli:1\n");
  // The collection also took the blob the plain rm left behind: 3 blobs.
  EXPECT_EQ(synced->err, "gc: removed 3 blobs, 1 snapshots\n");
  EXPECT_FALSE(HasBlob(manifest) || HasBlob(layer) || HasBlob(other));
  EXPECT_FALSE(HasSnapshot("rootfs"));

  // Leases: one removed plainly, one with --sync; each held one blob.
  Digest kept_by_a = WriteBlob("leased by a");
  Digest kept_by_b = WriteBlob("leased by b");
  v1::LeasesClient leases(*metadata_client_);
  for (auto [id, digest] : {std::pair{"cli-a", kept_by_a}, std::pair{"cli-b", kept_by_b}}) {
    auto created = RunBerthctl(dirs_.state, {"lease", "create", "--id", id});
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    v1::AddLeaseResourceRequest add;
    add.set_id(id);
    *add.mutable_resource() = MakeResource("content", digest.ToString());
    ASSERT_TRUE(leases.AddResource(add, Call()).ok());
  }
  ASSERT_TRUE(Collect().ok());
  EXPECT_TRUE(HasBlob(kept_by_a) && HasBlob(kept_by_b));

  auto a = RunBerthctlBoth(dirs_.state, {"lease", "rm", "cli-a"});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->out, "cli-a\n");
  EXPECT_TRUE(HasBlob(kept_by_a));
  auto b = RunBerthctlBoth(dirs_.state, {"lease", "rm", "--sync", "cli-b"});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->out, "cli-b\n");
  EXPECT_FALSE(HasBlob(kept_by_b));
  EXPECT_FALSE(HasBlob(kept_by_a));  // the same collection took the plainly released one
  auto gone = RunBerthctl(dirs_.state, {"lease", "ls", "-q"});
  ASSERT_TRUE(gone.ok()) << gone.status().ToString();
  EXPECT_EQ(*gone, "");
}

TEST_F(GcIntegrationTest, DeletingAnImageCollectsByItselfAfterTheDebounce) {
  // This test's berth-metadata collects 300 ms after a delete instead of never.
  ASSERT_TRUE(metadata_->Terminate().ok()) << metadata_->LogTail();
  auto binary = BuiltBinary("services/metadata/berth-metadata");
  ASSERT_TRUE(binary.ok());
  metadata_ = std::make_unique<ServiceProcess>(
      *binary, "metadata", dirs_.root, dirs_.state,
      std::vector<std::string>{"--berthd", "none", "--gc-delay-ms", "300"});
  ASSERT_TRUE(metadata_->Start().ok()) << metadata_->LogTail();
  Digest blob = WriteBlob("the only blob of an image");
  ipc::Client client(metadata_->socket());
  ASSERT_TRUE(CreateImage(client, "example.com/soon-gone:1", blob, 25).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // startup collection is over
  EXPECT_TRUE(HasBlob(blob));

  v1::DeleteImageRequest del;
  del.set_name("example.com/soon-gone:1");  // not sync: nobody waits for the collection
  auto deleted = v1::ImagesClient(client).Delete(del, Call());
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_FALSE(deleted->has_gc());
  for (int i = 0; i < 200 && HasBlob(blob); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(HasBlob(blob)) << metadata_->LogTail();
}

}  // namespace
}  // namespace berth::integration
