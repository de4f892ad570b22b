// Garbage collection against the in-memory stores: what is kept, what goes, and safety when a
// store is down or a reference appears mid-sweep.
#include "services/metadata/gc.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "common/temp_dir.h"
#include "common/time.h"
#include "services/metadata/gc_stores_fake.h"
#include "services/metadata/test_util.h"

namespace berth::metadata {
namespace {

using namespace testing;

constexpr char kRefConfig[] = "containerd.io/gc.ref.content.config";
constexpr char kRefSnapshot[] = "containerd.io/gc.ref.snapshot.overlayfs";

class GcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("b-meta");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(dir).value());
    auto store = MetadataStore::Open(dir_->Join("metadata"), nullptr);
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    GcScheduler::Options options;
    options.delay = std::chrono::milliseconds(20);
    options.startup_delay = std::chrono::milliseconds(-1);
    options.retry_min = std::chrono::milliseconds(50);
    options.retry_max = std::chrono::milliseconds(200);
    StartScheduler(options);
  }
  // A new scheduler (and empty fake stores) in place of the current one; no write in flight.
  void StartScheduler(const GcScheduler::Options& options) {
    gc_.reset();
    auto fake = std::make_unique<FakeGcStores>();
    stores_ = fake.get();
    gc_ = std::make_unique<GcScheduler>(*store_, std::move(fake), options);
    gc_->Attach();
  }
  void TearDown() override {
    store_->Close();
    gc_.reset();
  }

  // An image as a pull leaves it: index -> manifest -> config + 3 layers, the config naming the
  // top snapshot of a 3-snapshot chain. Returns the index digest. Blob ids from `base`.
  std::string AddImageObjects(uint64_t base) {
    std::string index = FakeDigest(base), manifest = FakeDigest(base + 1),
                config = FakeDigest(base + 2);
    stores_->AddContent({"", index, {{"containerd.io/gc.ref.content.m.0", manifest}}});
    Labels manifest_labels{{kRefConfig, config}};
    for (int i = 0; i < 3; ++i) {
      std::string layer = FakeDigest(base + 3 + i);
      manifest_labels[fmt::format("containerd.io/gc.ref.content.l.{}", i)] = layer;
      stores_->AddContent({"", layer, {}});
    }
    stores_->AddContent({"", manifest, manifest_labels});
    std::string parent;
    for (int i = 0; i < 3; ++i) {
      std::string key = fmt::format("chain-{}-{}", base, i);
      stores_->AddSnapshot({"", "overlayfs", key, parent, {}});
      parent = key;
    }
    stores_->AddContent({"", config, {{kRefSnapshot, parent}}});
    return index;
  }

  Status CreateImage(const std::string& name, const std::string& digest,
                     const std::string& ns = "default") {
    auto r = Await<v1::Image>(
        [&](auto done) { store_->CreateImage(ns, MakeImage(name, digest), done); });
    return r.ok() ? Status::Ok() : r.status();
  }
  Status DeleteImage(const std::string& name, const std::string& ns = "default") {
    return AwaitStatus([&](auto done) { store_->DeleteImage(ns, name, "", done); });
  }
  GcReport Collect(bool dry_run = false) {
    auto report = gc_->CollectSync(dry_run);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : GcReport();
  }

  std::optional<TempDir> dir_;
  std::unique_ptr<MetadataStore> store_;
  FakeGcStores* stores_ = nullptr;
  std::unique_ptr<GcScheduler> gc_;
};

TEST_F(GcTest, AnImageKeepsItsBlobsAndSnapshotsUntilItIsDeleted) {
  std::string index = AddImageObjects(100);
  ASSERT_TRUE(CreateImage("busybox", index).ok());
  GcReport kept = Collect();
  EXPECT_TRUE(kept.complete);
  EXPECT_TRUE(kept.removed_content.empty());
  EXPECT_TRUE(kept.removed_snapshots.empty());
  EXPECT_EQ(kept.marked, 9u);  // 6 blobs + 3 snapshots
  EXPECT_EQ(stores_->content_count(), 6u);

  ASSERT_TRUE(DeleteImage("busybox").ok());
  GcReport gone = Collect();
  EXPECT_TRUE(gone.complete) << gone.error;
  EXPECT_EQ(gone.removed_content.size(), 6u);
  ASSERT_EQ(gone.removed_snapshots.size(), 3u);
  // Children before parents (the fake store refuses a parent that still has children).
  EXPECT_EQ(gone.removed_snapshots[0].key, "chain-100-2");
  EXPECT_EQ(gone.removed_snapshots[2].key, "chain-100-0");
  EXPECT_EQ(stores_->content_count(), 0u);
  EXPECT_EQ(stores_->snapshot_count(), 0u);
}

TEST_F(GcTest, SharedLayersSurviveWhileAnyImageUsesThem) {
  std::string a = AddImageObjects(100);
  std::string b = AddImageObjects(200);
  // Image b's manifest also uses a's first layer.
  stores_->AddContent(
      {"",
       FakeDigest(201),
       {{kRefConfig, FakeDigest(202)}, {"containerd.io/gc.ref.content.l.0", FakeDigest(103)}}});
  ASSERT_TRUE(CreateImage("a", a).ok());
  ASSERT_TRUE(CreateImage("b", b).ok());
  ASSERT_TRUE(DeleteImage("a").ok());
  Collect();
  EXPECT_TRUE(stores_->HasContent(FakeDigest(103)));   // shared layer kept
  EXPECT_FALSE(stores_->HasContent(FakeDigest(104)));  // a's own layer gone
  EXPECT_FALSE(stores_->HasContent(a));
  EXPECT_TRUE(stores_->HasSnapshot("overlayfs", "chain-200-0"));
  EXPECT_FALSE(stores_->HasSnapshot("overlayfs", "chain-100-0"));
}

TEST_F(GcTest, ImagesInEveryNamespaceAreRoots) {
  std::string index = AddImageObjects(100);
  ASSERT_TRUE(CreateImage("busybox", index, "other").ok());
  EXPECT_TRUE(Collect().removed_content.empty());
}

TEST_F(GcTest, ALeaseProtectsHalfWrittenContentAndSnapshots) {
  ASSERT_TRUE(Await<v1::Lease>([&](auto done) {
                store_->CreateLease("default", MakeLease("pull"), done);
              }).ok());
  auto add = [&](v1::Resource r) {
    return AwaitStatus([&](auto done) { store_->AddLeaseResource("default", "pull", r, done); });
  };
  // The pull adds a blob to its lease before committing it, and the snapshot it unpacks into.
  ASSERT_TRUE(add(MakeResource("content", FakeDigest(1))).ok());
  ASSERT_TRUE(add(MakeResource("snapshots/overlayfs", "extract-1")).ok());
  ASSERT_TRUE(add(MakeResource("ingests", "layer-2")).ok());
  stores_->AddContent({"", FakeDigest(1), {{kRefConfig, FakeDigest(2)}}});
  stores_->AddContent({"", FakeDigest(2), {}});
  stores_->AddContent({"", FakeDigest(3), {}});  // nobody's
  stores_->AddSnapshot({"", "overlayfs", "base", "", {}});
  stores_->AddSnapshot({"", "overlayfs", "extract-1", "base", {}});
  GcReport report = Collect();
  EXPECT_EQ(report.removed_content, std::vector<std::string>{FakeDigest(3)});
  EXPECT_TRUE(stores_->HasContent(FakeDigest(1)));
  EXPECT_TRUE(stores_->HasContent(FakeDigest(2)));         // referenced by a leased blob
  EXPECT_TRUE(stores_->HasSnapshot("overlayfs", "base"));  // parent of a leased snapshot

  ASSERT_TRUE(AwaitStatus([&](auto done) { store_->DeleteLease("default", "pull", done); }).ok());
  Collect();
  EXPECT_EQ(stores_->content_count(), 0u);
  EXPECT_EQ(stores_->snapshot_count(), 0u);
}

TEST_F(GcTest, AFlatLeaseKeepsOnlyWhatItNames) {
  auto lease = MakeLease("flat");
  (*lease.mutable_labels())[std::string(kLabelGcFlat)] = "1";
  ASSERT_TRUE(
      Await<v1::Lease>([&](auto done) { store_->CreateLease("default", lease, done); }).ok());
  ASSERT_TRUE(AwaitStatus([&](auto done) {
                store_->AddLeaseResource("default", "flat", MakeResource("content", FakeDigest(1)),
                                         done);
              }).ok());
  stores_->AddContent({"", FakeDigest(1), {{kRefConfig, FakeDigest(2)}}});
  stores_->AddContent({"", FakeDigest(2), {}});
  Collect();
  EXPECT_TRUE(stores_->HasContent(FakeDigest(1)));
  EXPECT_FALSE(stores_->HasContent(FakeDigest(2)));
}

TEST_F(GcTest, AnExpiredLeaseProtectsNothingAndIsDeleted) {
  auto lease = MakeLease("old");
  (*lease.mutable_labels())[std::string(kLabelGcExpire)] = "2001-01-01T00:00:00Z";
  ASSERT_TRUE(
      Await<v1::Lease>([&](auto done) { store_->CreateLease("default", lease, done); }).ok());
  ASSERT_TRUE(AwaitStatus([&](auto done) {
                store_->AddLeaseResource("default", "old", MakeResource("content", FakeDigest(1)),
                                         done);
              }).ok());
  stores_->AddContent({"", FakeDigest(1), {}});
  GcReport report = Collect();
  EXPECT_EQ(report.expired_leases, std::vector<std::string>{"default/old"});
  EXPECT_FALSE(stores_->HasContent(FakeDigest(1)));
  EXPECT_EQ(store_->GetLease("default", "old").status().code(), Code::kNotFound);
}

TEST_F(GcTest, ALeaseExpiringSoonIsCollectedWhenItExpires) {
  auto lease = MakeLease("short");
  (*lease.mutable_labels())[std::string(kLabelGcExpire)] =
      FormatRfc3339Nano(NowUnixNanos() + 300'000'000);
  ASSERT_TRUE(
      Await<v1::Lease>([&](auto done) { store_->CreateLease("default", lease, done); }).ok());
  ASSERT_TRUE(AwaitStatus([&](auto done) {
                store_->AddLeaseResource("default", "short", MakeResource("content", FakeDigest(1)),
                                         done);
              }).ok());
  stores_->AddContent({"", FakeDigest(1), {}});
  EXPECT_TRUE(Collect().removed_content.empty());
  // The scheduler wakes up at the expiry by itself.
  for (int i = 0; i < 200 && stores_->HasContent(FakeDigest(1)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(stores_->HasContent(FakeDigest(1)));
}

TEST_F(GcTest, AContainerProtectsItsSnapshot) {
  stores_->AddSnapshot({"", "overlayfs", "base", "", {}});
  stores_->AddSnapshot({"", "overlayfs", "web-rw", "base", {}});
  ASSERT_TRUE(Await<v1::Container>([&](auto done) {
                store_->CreateContainer("default", MakeContainer("web", "overlayfs", "web-rw"),
                                        done);
              }).ok());
  Collect();
  EXPECT_TRUE(stores_->HasSnapshot("overlayfs", "web-rw"));
  EXPECT_TRUE(stores_->HasSnapshot("overlayfs", "base"));
  ASSERT_TRUE(
      AwaitStatus([&](auto done) { store_->DeleteContainer("default", "web", done); }).ok());
  Collect();
  EXPECT_EQ(stores_->snapshot_count(), 0u);
}

TEST_F(GcTest, RootLabelsKeepObjects) {
  stores_->AddContent(
      {"",
       FakeDigest(1),
       {{std::string(kLabelGcRoot), "2024-01-01T00:00:00Z"}, {kRefConfig, FakeDigest(2)}}});
  stores_->AddContent({"", FakeDigest(2), {}});
  stores_->AddSnapshot({"", "native", "pinned", "", {{std::string(kLabelGcRoot), "x"}}});
  EXPECT_TRUE(Collect().removed_content.empty());
  EXPECT_EQ(stores_->content_count(), 2u);
  EXPECT_TRUE(stores_->HasSnapshot("native", "pinned"));
}

// gc.ref labels are edges wherever they sit: on a container, on a snapshot (to content and to
// a snapshot of another snapshotter), in both the "." and the "/" forms. A label that only looks
// like one (gc.ref.contentx) keeps nothing.
TEST_F(GcTest, RefLabelsOnContainersAndSnapshotsAreFollowed) {
  const std::string from_snapshot = FakeDigest(1), from_container = FakeDigest(2),
                    from_slash = FakeDigest(3), lookalike = FakeDigest(4), orphan = FakeDigest(5),
                    manifest = FakeDigest(6);
  stores_->AddSnapshot({"",
                        "overlayfs",
                        "web-rw",
                        "",
                        {{"containerd.io/gc.ref.content.x", from_snapshot},
                         {"containerd.io/gc.ref.snapshot.native/x", "side"}}});
  stores_->AddSnapshot({"", "native", "side", "", {}});
  stores_->AddSnapshot({"", "native", "orphan", "", {}});
  stores_->AddContent({"", from_snapshot, {}});
  stores_->AddContent({"", from_container, {}});
  stores_->AddContent({"",
                       manifest,
                       {{"containerd.io/gc.ref.content/layer", from_slash},
                        {"containerd.io/gc.ref.contentx", lookalike}}});
  stores_->AddContent({"", from_slash, {}});
  stores_->AddContent({"", lookalike, {}});
  stores_->AddContent({"", orphan, {}});
  auto web = MakeContainer("web", "overlayfs", "web-rw");
  (*web.mutable_labels())["containerd.io/gc.ref.content/meta"] = from_container;
  (*web.mutable_labels())["containerd.io/gc.ref.content.m"] = manifest;
  ASSERT_TRUE(
      Await<v1::Container>([&](auto done) { store_->CreateContainer("default", web, done); }).ok());

  GcReport report = Collect();
  EXPECT_TRUE(report.complete) << report.error;
  std::set<std::string> removed(report.removed_content.begin(), report.removed_content.end());
  EXPECT_EQ(removed, (std::set<std::string>{lookalike, orphan}));
  ASSERT_EQ(report.removed_snapshots.size(), 1u);
  EXPECT_EQ(report.removed_snapshots[0].snapshotter, "native");
  EXPECT_EQ(report.removed_snapshots[0].key, "orphan");
  EXPECT_TRUE(stores_->HasSnapshot("native", "side"));
  EXPECT_TRUE(stores_->HasSnapshot("overlayfs", "web-rw"));
  for (const auto& kept : {from_snapshot, from_container, from_slash, manifest}) {
    EXPECT_TRUE(stores_->HasContent(kept)) << kept;
  }

  ASSERT_TRUE(
      AwaitStatus([&](auto done) { store_->DeleteContainer("default", "web", done); }).ok());
  Collect();
  EXPECT_EQ(stores_->content_count(), 0u);
  EXPECT_EQ(stores_->snapshot_count(), 0u);
}

// LabelRef, label by label: which keys are references, and to what.
TEST(LabelRefTest, ParsesContainerdsLabelForms) {
  struct Case {
    const char* key;
    const char* value;
    std::optional<GcRef> want;
  } cases[] = {
      {"containerd.io/gc.ref.content", "d1", GcRef::Content("ns", "d1")},
      {"containerd.io/gc.ref.content.config", "d2", GcRef::Content("ns", "d2")},
      {"containerd.io/gc.ref.content.l.0", "d3", GcRef::Content("ns", "d3")},
      {"containerd.io/gc.ref.content/layer", "d4", GcRef::Content("ns", "d4")},
      {"containerd.io/gc.ref.content.", "d5", GcRef::Content("ns", "d5")},
      {"containerd.io/gc.ref.contentx", "d6", std::nullopt},
      {"containerd.io/gc.ref.content.x", "", std::nullopt},
      {"containerd.io/gc.ref.snapshot.overlayfs", "k1", GcRef::Snapshot("ns", "overlayfs", "k1")},
      {"containerd.io/gc.ref.snapshot.native/x", "k2", GcRef::Snapshot("ns", "native", "k2")},
      {"containerd.io/gc.ref.snapshot.native/a/b", "k3", GcRef::Snapshot("ns", "native", "k3")},
      // As containerd 1.6: only "/" ends the snapshotter name.
      {"containerd.io/gc.ref.snapshot.my.snap", "k4", GcRef::Snapshot("ns", "my.snap", "k4")},
      {"containerd.io/gc.ref.snapshot.", "k5", std::nullopt},
      {"containerd.io/gc.ref.snapshot./x", "k6", std::nullopt},
      {"containerd.io/gc.ref.snapshot", "k7", std::nullopt},
      {"containerd.io/gc.ref.snapshot.native", "", std::nullopt},
      {"containerd.io/gc.root", "x", std::nullopt},
      {"example.com/gc.ref.content", "d7", std::nullopt},
      {"Containerd.io/gc.ref.content", "d8", std::nullopt},
  };
  for (const auto& c : cases) {
    auto got = LabelRef("ns", c.key, c.value);
    ASSERT_EQ(got.has_value(), c.want.has_value()) << c.key << "=" << c.value;
    if (!got) continue;
    EXPECT_EQ(got->kind, c.want->kind) << c.key;
    EXPECT_EQ(got->ns, "ns") << c.key;
    EXPECT_EQ(got->snapshotter, c.want->snapshotter) << c.key;
    EXPECT_EQ(got->key, c.want->key) << c.key;
    EXPECT_FALSE(got->flat) << c.key;
  }
}

TEST_F(GcTest, DryRunDeletesNothing) {
  stores_->AddContent({"", FakeDigest(1), {}});
  stores_->AddSnapshot({"", "overlayfs", "orphan", "", {}});
  GcReport report = Collect(/*dry_run=*/true);
  EXPECT_TRUE(report.dry_run);
  EXPECT_EQ(report.removed_content.size(), 1u);
  EXPECT_EQ(report.removed_snapshots.size(), 1u);
  EXPECT_EQ(stores_->content_count(), 1u);
  EXPECT_EQ(stores_->snapshot_count(), 1u);
}

TEST_F(GcTest, AStoreThatIsDownLosesNothingAndIsCollectedLater) {
  stores_->AddContent({"", FakeDigest(1), {}});
  stores_->AddSnapshot({"", "overlayfs", "orphan", "", {}});
  stores_->set_snapshots_down(true);
  auto report = gc_->CollectSync(false);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Code::kUnavailable);
  EXPECT_NE(report.status().message().find("nothing deleted"), std::string::npos);
  EXPECT_TRUE(stores_->HasContent(FakeDigest(1)));  // content was listable, but not deleted
  stores_->set_snapshots_down(false);
  stores_->set_content_down(true);
  EXPECT_FALSE(gc_->CollectSync(false).ok());
  EXPECT_TRUE(stores_->HasSnapshot("overlayfs", "orphan"));
  // Back up: the scheduler's retry collects without being asked.
  stores_->set_content_down(false);
  for (int i = 0; i < 300 && stores_->content_count() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(stores_->content_count(), 0u);
  EXPECT_EQ(stores_->snapshot_count(), 0u);
}

TEST_F(GcTest, AStoreLostMidSweepStopsTheSweepAndItResumesLater) {
  for (int i = 1; i <= 5; ++i) stores_->AddContent({"", FakeDigest(i), {}});
  stores_->FailDeletesAfter(2);
  GcReport report = Collect();
  EXPECT_FALSE(report.complete);
  EXPECT_NE(report.error.find("went away"), std::string::npos) << report.error;
  EXPECT_EQ(report.removed_content.size(), 2u);
  stores_->FailDeletesAfter(-1);
  for (int i = 0; i < 300 && stores_->content_count() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(stores_->content_count(), 0u);
}

TEST_F(GcTest, AReferenceCreatedDuringTheSweepStopsIt) {
  for (int i = 1; i <= 3; ++i) stores_->AddContent({"", FakeDigest(i), {}});
  bool created = false;
  stores_->set_before_delete([&](const std::string&) {
    if (created) return;
    created = true;
    // An image now names blob 3 (not deleted yet): the sweep must leave it alone.
    ASSERT_TRUE(CreateImage("late", FakeDigest(3)).ok());
  });
  GcReport report = Collect();
  EXPECT_FALSE(report.complete);
  EXPECT_TRUE(stores_->HasContent(FakeDigest(3)));
  stores_->set_before_delete(nullptr);
  Collect();
  EXPECT_TRUE(stores_->HasContent(FakeDigest(3)));
  EXPECT_EQ(stores_->content_count(), 1u);
}

// An import races the GC: its blobs are leased when the GC lists content; before the GC reads
// the roots, the import labels the manifest, creates the image and drops its lease. The
// manifest's config is reachable only through the new label and must survive.
TEST_F(GcTest, LabelsSetBetweenTheListingAndTheRootsAreFollowed) {
  std::string manifest = FakeDigest(300), config = FakeDigest(301);
  ASSERT_TRUE(Await<v1::Lease>([&](auto done) {
                store_->CreateLease("default", MakeLease("import"), done);
              }).ok());
  for (const std::string& digest : {manifest, config}) {
    ASSERT_TRUE(AwaitStatus([&](auto done) {
                  store_->AddLeaseResource("default", "import", MakeResource("content", digest),
                                           done);
                }).ok());
    stores_->AddContent({"", digest, {}});
  }
  bool raced = false;
  stores_->set_after_list_content([&] {
    if (raced) return;
    raced = true;
    stores_->AddContent({"", manifest, {{kRefConfig, config}}});
    ASSERT_TRUE(CreateImage("imported", manifest).ok());
    ASSERT_TRUE(
        AwaitStatus([&](auto done) { store_->DeleteLease("default", "import", done); }).ok());
  });
  // Nobody's blob, listed both times, is still swept.
  stores_->AddContent({"", FakeDigest(302), {}});
  GcReport report = Collect();
  EXPECT_TRUE(raced);
  EXPECT_TRUE(report.complete) << report.error;
  EXPECT_TRUE(stores_->HasContent(manifest));
  EXPECT_TRUE(stores_->HasContent(config)) << "the config was swept from under the new image";
  EXPECT_EQ(report.removed_content, std::vector<std::string>{FakeDigest(302)});
}

// A blob written after the GC listed content may belong to a lease it has not seen: that
// collection leaves it; the next one (with no lease naming it) removes it.
TEST_F(GcTest, ABlobWrittenAfterTheListingIsLeftToTheNextCollection) {
  bool written = false;
  stores_->set_after_list_content([&] {
    if (written) return;
    written = true;
    stores_->AddContent({"", FakeDigest(400), {}});
  });
  GcReport first = Collect();
  EXPECT_TRUE(written);
  EXPECT_TRUE(first.removed_content.empty());
  EXPECT_TRUE(stores_->HasContent(FakeDigest(400)));
  GcReport second = Collect();
  EXPECT_EQ(second.removed_content, std::vector<std::string>{FakeDigest(400)});
}

TEST_F(GcTest, ALeaseTakenOnTheBlobBeingDeletedIsAnsweredOnlyAfterTheDelete) {
  ASSERT_TRUE(Await<v1::Lease>([&](auto done) {
                store_->CreateLease("default", MakeLease("pull"), done);
              }).ok());
  for (int i = 1; i <= 3; ++i) stores_->AddContent({"", FakeDigest(i), {}});
  std::atomic<bool> answered{false};
  std::atomic<bool> answered_during_delete{false};
  std::atomic<bool> blob_seen_after_answer{false};
  std::thread puller;
  stores_->set_before_delete([&](const std::string& digest) {
    if (puller.joinable()) return;
    // A pull adds the blob this sweep is deleting right now to its lease.
    puller = std::thread([&, digest] {
      Status added = AwaitStatus([&](auto done) {
        store_->AddLeaseResource("default", "pull", MakeResource("content", digest), done);
      });
      EXPECT_TRUE(added.ok()) << added.ToString();
      // What the pull sees next is the truth: the blob is gone, so it writes it again.
      blob_seen_after_answer = stores_->HasContent(digest);
      answered = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    answered_during_delete = answered.load();
  });
  GcReport report = Collect();
  puller.join();
  EXPECT_TRUE(answered.load());
  EXPECT_FALSE(answered_during_delete.load()) << "the lease was answered mid-delete";
  EXPECT_FALSE(blob_seen_after_answer.load());
  // The sweep stopped at the reference: the other two blobs stay until the next collection.
  EXPECT_FALSE(report.complete);
  EXPECT_EQ(report.removed_content.size(), 1u);
  EXPECT_EQ(stores_->content_count(), 2u);
}

TEST_F(GcTest, DeletingAnImageTriggersACollection) {
  std::string index = AddImageObjects(100);
  ASSERT_TRUE(CreateImage("busybox", index).ok());
  uint64_t runs = gc_->runs();
  ASSERT_TRUE(DeleteImage("busybox").ok());
  for (int i = 0; i < 300 && (stores_->content_count() > 0 || gc_->runs() == runs); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(stores_->content_count(), 0u);
  EXPECT_GT(gc_->runs(), runs);
}

TEST_F(GcTest, ABurstOfDeletionsSharesOneDebouncedCollection) {
  GcScheduler::Options options;
  options.delay = std::chrono::milliseconds(1500);
  options.startup_delay = std::chrono::milliseconds(-1);
  StartScheduler(options);
  constexpr int kImages = 10;
  for (int i = 1; i <= kImages; ++i) {
    stores_->AddContent({"", FakeDigest(i), {}});
    ASSERT_TRUE(CreateImage(fmt::format("img-{}", i), FakeDigest(i)).ok());
  }
  uint64_t runs = gc_->runs();
  auto first = std::chrono::steady_clock::now();
  for (int i = 1; i <= kImages; ++i) ASSERT_TRUE(DeleteImage(fmt::format("img-{}", i)).ok());
  bool burst_within_delay = std::chrono::steady_clock::now() - first < options.delay;
  if (burst_within_delay) {
    // Debounced: nothing ran yet, nothing is gone yet.
    EXPECT_EQ(gc_->runs(), runs);
    EXPECT_EQ(stores_->content_count(), size_t{kImages});
  }
  for (int i = 0; i < 500 && stores_->content_count() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(stores_->content_count(), 0u);
  std::this_thread::sleep_for(options.delay + std::chrono::milliseconds(200));
  // One collection for the whole burst (two when this machine was too slow to delete ten
  // records within the delay).
  EXPECT_EQ(gc_->runs() - runs, burst_within_delay ? 1u : 2u);
}

}  // namespace
}  // namespace berth::metadata
