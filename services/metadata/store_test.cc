// MetadataStore against its LMDB backend: CRUD and validation of every object, events, GC hooks.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "berth/metadata/v1/events.pb.h"
#include "common/temp_dir.h"
#include "common/time.h"
#include "services/metadata/metadata.h"
#include "services/metadata/test_util.h"

namespace berth::metadata {
namespace {

using namespace testing;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("b-meta");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(dir).value());
    auto store =
        MetadataStore::Open(dir_->Join("metadata"),
                            [this](const std::string& ns, const std::string& topic, const auto&) {
                              std::lock_guard lock(mutex_);
                              events_.push_back(ns + " " + topic);
                            });
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    GcHooks hooks;
    hooks.on_release = [this] { released_++; };
    hooks.on_reference = [this](const std::vector<GcRef>& refs) {
      std::lock_guard lock(mutex_);
      for (auto& ref : refs) referenced_.push_back(ref.key);
    };
    store_->SetGcHooks(hooks);
  }

  Result<v1::Image> CreateImage(const std::string& ns, v1::Image image) {
    return Await<v1::Image>([&](auto done) { store_->CreateImage(ns, image, done); });
  }
  Result<v1::Container> CreateContainer(const std::string& ns, v1::Container c) {
    return Await<v1::Container>([&](auto done) { store_->CreateContainer(ns, c, done); });
  }
  std::vector<std::string> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::vector<std::string> ImageNames(const std::string& ns, std::vector<std::string> filters) {
    auto filter = Filter::ParseAll(filters);
    EXPECT_TRUE(filter.ok());
    std::vector<std::string> names;
    EXPECT_TRUE(
        store_->ListImages(ns, *filter, [&](v1::Image&& i) { names.push_back(i.name()); }).ok());
    return names;
  }

  std::optional<TempDir> dir_;
  std::unique_ptr<MetadataStore> store_;
  std::mutex mutex_;
  std::vector<std::string> events_;
  std::vector<std::string> referenced_;
  std::atomic<int> released_{0};
};

TEST_F(StoreTest, ImageCreateGetListUpdateDelete) {
  auto image = MakeImage("docker.io/library/busybox:latest", FakeDigest(1));
  (*image.mutable_labels())["env"] = "prod";
  auto created = CreateImage("default", image);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_GT(created->created_at().seconds(), 0);
  EXPECT_EQ(created->created_at().seconds(), created->updated_at().seconds());

  auto got = store_->GetImage("default", image.name());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->target().digest(), FakeDigest(1));
  EXPECT_EQ(got->labels().at("env"), "prod");

  // Update one label only: the other labels and the target stay.
  v1::Image change;
  change.set_name(image.name());
  (*change.mutable_labels())["tier"] = "gold";
  auto updated = Await<v1::Image>(
      [&](auto done) { store_->UpdateImage("default", change, {"labels.tier"}, done); });
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->labels().size(), 2u);
  EXPECT_EQ(updated->target().digest(), FakeDigest(1));

  // Replace the target.
  auto retarget = MakeImage(image.name(), FakeDigest(2));
  updated = Await<v1::Image>(
      [&](auto done) { store_->UpdateImage("default", retarget, {"target"}, done); });
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->target().digest(), FakeDigest(2));
  EXPECT_EQ(updated->labels().size(), 2u);

  // Delete guarded by the expected target.
  Status stale = AwaitStatus(
      [&](auto done) { store_->DeleteImage("default", image.name(), FakeDigest(1), done); });
  EXPECT_EQ(stale.code(), Code::kFailedPrecondition);
  EXPECT_TRUE(AwaitStatus([&](auto done) {
                store_->DeleteImage("default", image.name(), FakeDigest(2), done);
              }).ok());
  EXPECT_EQ(store_->GetImage("default", image.name()).status().code(), Code::kNotFound);
  EXPECT_GE(released_.load(), 1);
  EXPECT_EQ(events(),
            (std::vector<std::string>{"default /images/create", "default /images/update",
                                      "default /images/update", "default /images/delete"}));
}

// The target's annotations are stored as given and updated by key or as a whole, like labels.
TEST_F(StoreTest, ImageAnnotationsRoundTripAndUpdateByKey) {
  auto image = MakeImage("docker.io/library/busybox:latest", FakeDigest(1));
  auto& annotations = *image.mutable_target()->mutable_annotations();
  annotations["org.opencontainers.image.ref.name"] = "latest";
  annotations["com.example.keep"] = "yes";
  annotations["com.example.drop"] = "soon";
  ASSERT_TRUE(CreateImage("default", image).ok());
  auto got = store_->GetImage("default", image.name());
  ASSERT_TRUE(got.ok());
  using Map = std::map<std::string, std::string>;
  auto as_map = [](const v1::Image& i) {
    return Map(i.target().annotations().begin(), i.target().annotations().end());
  };
  EXPECT_EQ(as_map(*got), as_map(image));

  // annotations.<key>: a key present in the request is set, one absent from it is removed; the
  // other annotations, the labels and the rest of the target stay.
  auto change = MakeImage(image.name(), FakeDigest(9));
  (*change.mutable_target()->mutable_annotations())["com.example.new"] = "1";
  (*change.mutable_labels())["ignored"] = "not in the mask";
  auto updated = Await<v1::Image>([&](auto done) {
    store_->UpdateImage("default", change,
                        {"annotations.com.example.new", "annotations.com.example.drop"}, done);
  });
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(as_map(*updated), (Map{{"org.opencontainers.image.ref.name", "latest"},
                                   {"com.example.keep", "yes"},
                                   {"com.example.new", "1"}}));
  EXPECT_EQ(updated->target().digest(), FakeDigest(1));
  EXPECT_TRUE(updated->labels().empty());
  EXPECT_EQ(as_map(*store_->GetImage("default", image.name())), as_map(*updated));

  // annotations: the whole map is replaced by the request's.
  auto replace = MakeImage(image.name(), FakeDigest(9));
  (*replace.mutable_target()->mutable_annotations())["only"] = "this";
  updated = Await<v1::Image>(
      [&](auto done) { store_->UpdateImage("default", replace, {"annotations"}, done); });
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(as_map(*updated), (Map{{"only", "this"}}));
  EXPECT_EQ(updated->target().digest(), FakeDigest(1));
  EXPECT_EQ(as_map(*store_->GetImage("default", image.name())), (Map{{"only", "this"}}));
}

// created_at stays, updated_at moves on every update, both at nanosecond precision: each is
// bracketed by the clock read just before and just after the call that set it.
TEST_F(StoreTest, UpdatedAtMovesOnEveryUpdateWithSubSecondPrecision) {
  int64_t before_create = NowUnixNanos();
  auto created = CreateImage("default", MakeImage("img", FakeDigest(1)));
  ASSERT_TRUE(created.ok());
  int64_t after_create = NowUnixNanos();
  EXPECT_GE(UnixNanosOf(created->created_at()), before_create);
  EXPECT_LE(UnixNanosOf(created->created_at()), after_create);
  EXPECT_EQ(UnixNanosOf(created->updated_at()), UnixNanosOf(created->created_at()));

  auto c_created = CreateContainer("default", MakeContainer("web"));
  ASSERT_TRUE(c_created.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2));

  v1::Image change = MakeImage("img", FakeDigest(1));
  (*change.mutable_labels())["k"] = "v";
  int64_t before_update = NowUnixNanos();
  auto updated = Await<v1::Image>(
      [&](auto done) { store_->UpdateImage("default", change, {"labels.k"}, done); });
  ASSERT_TRUE(updated.ok());
  v1::Container c_change = MakeContainer("web");
  (*c_change.mutable_labels())["k"] = "v";
  auto c_updated = Await<v1::Container>(
      [&](auto done) { store_->UpdateContainer("default", c_change, {"labels.k"}, done); });
  ASSERT_TRUE(c_updated.ok());
  int64_t after_update = NowUnixNanos();

  for (auto [created_at, updated_at] :
       {std::pair{created->created_at(), updated->updated_at()},
        std::pair{c_created->created_at(), c_updated->updated_at()}}) {
    EXPECT_GE(UnixNanosOf(updated_at), before_update);
    EXPECT_LE(UnixNanosOf(updated_at), after_update);
    EXPECT_GT(UnixNanosOf(updated_at), UnixNanosOf(created_at));
  }
  EXPECT_EQ(UnixNanosOf(updated->created_at()), UnixNanosOf(created->created_at()));
  EXPECT_EQ(UnixNanosOf(c_updated->created_at()), UnixNanosOf(c_created->created_at()));
  // What was stored is what the update answered.
  EXPECT_EQ(UnixNanosOf(store_->GetImage("default", "img")->updated_at()),
            UnixNanosOf(updated->updated_at()));
  EXPECT_EQ(UnixNanosOf(store_->GetContainer("default", "web")->updated_at()),
            UnixNanosOf(c_updated->updated_at()));
}

TEST_F(StoreTest, ImageValidation) {
  struct Case {
    std::function<void(v1::Image&)> spoil;
    const char* needle;
  } cases[] = {
      {[](v1::Image& i) { i.set_name(""); }, "name"},
      {[](v1::Image& i) { i.set_name("a\nb"); }, "control"},
      {[](v1::Image& i) { i.mutable_target()->set_digest("sha256:xyz"); }, "digest"},
      {[](v1::Image& i) { i.mutable_target()->set_size(0); }, "size"},
      {[](v1::Image& i) { i.mutable_target()->clear_media_type(); }, "media_type"},
      {[](v1::Image& i) { (*i.mutable_labels())[""] = "x"; }, "label"},
      {[](v1::Image& i) { (*i.mutable_labels())["k"] = std::string(5000, 'v'); }, "maximum"},
  };
  for (auto& c : cases) {
    auto image = MakeImage("busybox", FakeDigest(1));
    c.spoil(image);
    auto created = CreateImage("default", image);
    ASSERT_FALSE(created.ok()) << c.needle;
    EXPECT_EQ(created.status().code(), Code::kInvalidArgument) << c.needle;
    EXPECT_NE(created.status().message().find(c.needle), std::string::npos)
        << created.status().message();
  }
  ASSERT_TRUE(CreateImage("default", MakeImage("busybox", FakeDigest(1))).ok());
  EXPECT_EQ(CreateImage("default", MakeImage("busybox", FakeDigest(1))).status().code(),
            Code::kAlreadyExists);
  EXPECT_EQ(CreateImage("bad ns", MakeImage("x", FakeDigest(1))).status().code(),
            Code::kInvalidArgument);
  auto bad_path = Await<v1::Image>([&](auto done) {
    store_->UpdateImage("default", MakeImage("busybox", FakeDigest(1)), {"created_at"}, done);
  });
  EXPECT_EQ(bad_path.status().code(), Code::kInvalidArgument);
  auto missing = Await<v1::Image>([&](auto done) {
    store_->UpdateImage("default", MakeImage("nope", FakeDigest(1)), {}, done);
  });
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
}

TEST_F(StoreTest, ImagesAreNamespacedAndFiltered) {
  ASSERT_TRUE(CreateImage("default", MakeImage("docker.io/library/busybox:1", FakeDigest(1))).ok());
  auto alpine = MakeImage("docker.io/library/alpine:3", FakeDigest(2));
  (*alpine.mutable_labels())["com.example.tier"] = "base";
  ASSERT_TRUE(CreateImage("default", alpine).ok());
  ASSERT_TRUE(CreateImage("team-b", MakeImage("docker.io/library/busybox:1", FakeDigest(3))).ok());

  EXPECT_EQ(ImageNames("default", {}).size(), 2u);
  EXPECT_EQ(ImageNames("team-b", {}).size(), 1u);
  EXPECT_EQ(ImageNames("nobody", {}).size(), 0u);
  EXPECT_EQ(ImageNames("default", {"name~=busybox"}),
            std::vector<std::string>{"docker.io/library/busybox:1"});
  EXPECT_EQ(ImageNames("default", {R"(labels."com.example.tier"==base)"}),
            std::vector<std::string>{"docker.io/library/alpine:3"});
  EXPECT_EQ(ImageNames("default", {"target.digest==" + FakeDigest(1), "name~=alpine"}).size(), 2u);
  EXPECT_EQ(store_->GetImage("team-b", "docker.io/library/busybox:1")->target().digest(),
            FakeDigest(3));
  // The namespaces were created implicitly.
  EXPECT_TRUE(store_->GetNamespace("team-b").ok());
}

TEST_F(StoreTest, VeryLongImageNamesRoundTrip) {
  std::string a = "registry.example.com/" + std::string(900, 'a') + ":1";
  std::string b = "registry.example.com/" + std::string(900, 'a') + ":2";
  ASSERT_TRUE(CreateImage("default", MakeImage(a, FakeDigest(1))).ok());
  ASSERT_TRUE(CreateImage("default", MakeImage(b, FakeDigest(2))).ok());
  EXPECT_EQ(store_->GetImage("default", a)->target().digest(), FakeDigest(1));
  EXPECT_EQ(store_->GetImage("default", b)->target().digest(), FakeDigest(2));
  EXPECT_EQ(ImageNames("default", {}).size(), 2u);
}

TEST_F(StoreTest, ContainerCrudAndValidation) {
  auto c = MakeContainer("web-1", "overlayfs", "web-1-snap");
  (*c.mutable_labels())["app"] = "web";
  auto created = CreateContainer("default", c);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(CreateContainer("default", c).status().code(), Code::kAlreadyExists);
  auto got = store_->GetContainer("default", "web-1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->spec().SerializeAsString(), c.spec().SerializeAsString());
  EXPECT_EQ(got->snapshot_key(), "web-1-snap");

  // containerd's identifier rule: single separators between letters and digits.
  for (const char* bad : {"", "-x", ".x", "a/b", "a b", "x\n", "x-", "a..b", "a-_b", "é"}) {
    EXPECT_EQ(CreateContainer("default", MakeContainer(bad)).status().code(),
              Code::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(CreateContainer("default", MakeContainer(std::string(77, 'a'))).status().code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(CreateContainer("default", MakeContainer(std::string(76, 'a'))).ok());
  for (const char* good : {"A", "0", "a.b-c_d", "Web.01", "x-1-2"}) {
    EXPECT_TRUE(CreateContainer("default", MakeContainer(good)).ok()) << good;
  }
  auto no_runtime = MakeContainer("r1");
  no_runtime.mutable_runtime()->clear_name();
  EXPECT_EQ(CreateContainer("default", no_runtime).status().code(), Code::kInvalidArgument);
  auto no_spec = MakeContainer("r2");
  no_spec.clear_spec();
  EXPECT_EQ(CreateContainer("default", no_spec).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(CreateContainer("default", MakeContainer("r3", "", "key")).status().code(),
            Code::kInvalidArgument);

  // Updates: labels by key; immutable snapshotter on full replace.
  v1::Container change = MakeContainer("web-1", "overlayfs", "web-1-snap");
  (*change.mutable_labels())["app"] = "api";
  auto updated = Await<v1::Container>(
      [&](auto done) { store_->UpdateContainer("default", change, {"labels.app"}, done); });
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->labels().at("app"), "api");
  EXPECT_EQ(updated->created_at().SerializeAsString(), created->created_at().SerializeAsString());
  change.set_snapshotter("native");
  auto immutable = Await<v1::Container>(
      [&](auto done) { store_->UpdateContainer("default", change, {}, done); });
  EXPECT_EQ(immutable.status().code(), Code::kInvalidArgument);

  auto filter = Filter::ParseAll({"labels.app==api"});
  std::vector<std::string> ids;
  ASSERT_TRUE(
      store_->ListContainers("default", *filter, [&](v1::Container&& x) { ids.push_back(x.id()); })
          .ok());
  EXPECT_EQ(ids, std::vector<std::string>{"web-1"});

  EXPECT_TRUE(
      AwaitStatus([&](auto done) { store_->DeleteContainer("default", "web-1", done); }).ok());
  EXPECT_EQ(
      AwaitStatus([&](auto done) { store_->DeleteContainer("default", "web-1", done); }).code(),
      Code::kNotFound);
  std::lock_guard lock(mutex_);
  EXPECT_NE(std::find(referenced_.begin(), referenced_.end(), "web-1-snap"), referenced_.end());
}

TEST_F(StoreTest, NamespacesLifecycle) {
  v1::Namespace ns;
  ns.set_name("team-a");
  (*ns.mutable_labels())["owner"] = "alice";
  ASSERT_TRUE(Await<v1::Namespace>([&](auto done) { store_->CreateNamespace(ns, done); }).ok());
  EXPECT_EQ(
      Await<v1::Namespace>([&](auto done) { store_->CreateNamespace(ns, done); }).status().code(),
      Code::kAlreadyExists);
  v1::Namespace bad;
  bad.set_name("team..a");
  EXPECT_EQ(
      Await<v1::Namespace>([&](auto done) { store_->CreateNamespace(bad, done); }).status().code(),
      Code::kInvalidArgument);
  v1::Namespace change;
  change.set_name("team-a");
  (*change.mutable_labels())["cost"] = "42";
  auto updated = Await<v1::Namespace>(
      [&](auto done) { store_->UpdateNamespace(change, {"labels.cost"}, done); });
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->labels().size(), 2u);

  ASSERT_TRUE(CreateImage("team-a", MakeImage("img", FakeDigest(1))).ok());
  Status busy = AwaitStatus([&](auto done) { store_->DeleteNamespace("team-a", done); });
  EXPECT_EQ(busy.code(), Code::kFailedPrecondition);
  EXPECT_NE(busy.message().find("images"), std::string::npos) << busy.message();
  ASSERT_TRUE(AwaitStatus([&](auto done) { store_->DeleteImage("team-a", "img", "", done); }).ok());
  EXPECT_TRUE(AwaitStatus([&](auto done) { store_->DeleteNamespace("team-a", done); }).ok());
  EXPECT_EQ(store_->GetNamespace("team-a").status().code(), Code::kNotFound);
  EXPECT_EQ(AwaitStatus([&](auto done) { store_->DeleteNamespace("team-a", done); }).code(),
            Code::kNotFound);
  auto e = events();
  EXPECT_NE(std::find(e.begin(), e.end(), "team-a /namespaces/create"), e.end());
  EXPECT_NE(std::find(e.begin(), e.end(), "team-a /namespaces/update"), e.end());
  EXPECT_NE(std::find(e.begin(), e.end(), "team-a /namespaces/delete"), e.end());
}

TEST_F(StoreTest, LeasesAndResources) {
  auto lease = MakeLease("pull-1");
  (*lease.mutable_labels())[std::string(kLabelGcExpire)] = "2999-01-01T00:00:00Z";
  ASSERT_TRUE(
      Await<v1::Lease>([&](auto done) { store_->CreateLease("default", lease, done); }).ok());
  auto bad_expiry = MakeLease("pull-2");
  (*bad_expiry.mutable_labels())[std::string(kLabelGcExpire)] = "tomorrow";
  EXPECT_EQ(Await<v1::Lease>([&](auto done) { store_->CreateLease("default", bad_expiry, done); })
                .status()
                .code(),
            Code::kInvalidArgument);

  EXPECT_EQ(
      Await<v1::Lease>([&](auto done) { store_->CreateLease("default", MakeLease("pull-"), done); })
          .status()
          .code(),
      Code::kInvalidArgument);

  auto add = [&](const std::string& lease_id, v1::Resource r) {
    return AwaitStatus([&](auto done) { store_->AddLeaseResource("default", lease_id, r, done); });
  };
  EXPECT_TRUE(add("pull-1", MakeResource("content", FakeDigest(7))).ok());
  EXPECT_TRUE(add("pull-1", MakeResource("content", FakeDigest(7))).ok());  // twice is fine
  EXPECT_TRUE(add("pull-1", MakeResource("snapshots/overlayfs", "extract-1")).ok());
  EXPECT_TRUE(add("pull-1", MakeResource("ingests", "layer-1-ref")).ok());
  EXPECT_EQ(add("pull-1", MakeResource("content", "not-a-digest")).code(), Code::kInvalidArgument);
  EXPECT_EQ(add("pull-1", MakeResource("volumes", "x")).code(), Code::kInvalidArgument);
  EXPECT_EQ(add("nope", MakeResource("content", FakeDigest(7))).code(), Code::kNotFound);

  auto resources = store_->ListLeaseResources("default", "pull-1");
  ASSERT_TRUE(resources.ok());
  EXPECT_EQ(resources->size(), 3u);
  EXPECT_TRUE(AwaitStatus([&](auto done) {
                store_->DeleteLeaseResource("default", "pull-1",
                                            MakeResource("ingests", "layer-1-ref"), done);
              }).ok());
  EXPECT_EQ(store_->ListLeaseResources("default", "pull-1")->size(), 2u);

  auto filter = Filter::ParseAll({"id~=^pull"});
  int leases = 0;
  ASSERT_TRUE(store_->ListLeases("default", *filter, [&](v1::Lease&&) { ++leases; }).ok());
  EXPECT_EQ(leases, 1);

  ASSERT_TRUE(AwaitStatus([&](auto done) { store_->DeleteLease("default", "pull-1", done); }).ok());
  EXPECT_EQ(store_->ListLeaseResources("default", "pull-1").status().code(), Code::kNotFound);
  // Its resources went with it: a new lease of the same id starts empty.
  ASSERT_TRUE(Await<v1::Lease>([&](auto done) {
                store_->CreateLease("default", MakeLease("pull-1"), done);
              }).ok());
  EXPECT_EQ(store_->ListLeaseResources("default", "pull-1")->size(), 0u);
}

TEST_F(StoreTest, GcRootsComeFromEveryNamespace) {
  auto image = MakeImage("img", FakeDigest(1));
  (*image.mutable_labels())["containerd.io/gc.ref.content.config"] = FakeDigest(2);
  ASSERT_TRUE(CreateImage("a", image).ok());
  ASSERT_TRUE(CreateContainer("b", MakeContainer("c1", "overlayfs", "c1-rw")).ok());
  auto live = MakeLease("live");
  (*live.mutable_labels())[std::string(kLabelGcExpire)] = "2999-01-01T00:00:00Z";
  auto dead = MakeLease("dead");
  (*dead.mutable_labels())[std::string(kLabelGcExpire)] = "2000-01-01T00:00:00Z";
  for (auto& l : {live, dead}) {
    ASSERT_TRUE(Await<v1::Lease>([&](auto done) { store_->CreateLease("c", l, done); }).ok());
    ASSERT_TRUE(AwaitStatus([&](auto done) {
                  store_->AddLeaseResource("c", l.id(), MakeResource("content", FakeDigest(9)),
                                           done);
                }).ok());
  }
  auto roots = store_->ScanGcRoots(NowUnixNanos());
  ASSERT_TRUE(roots.ok());
  std::vector<std::string> keys;
  for (auto& ref : roots->refs) keys.push_back(ref.ns + ":" + ref.key);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"a:" + FakeDigest(1), "a:" + FakeDigest(2), "b:c1-rw",
                                            "c:" + FakeDigest(9)}));
  ASSERT_EQ(roots->expired_leases.size(), 1u);
  EXPECT_EQ(roots->expired_leases[0].second, "dead");
  ASSERT_TRUE(roots->next_expiry_ns.has_value());

  auto deleted = store_->DeleteExpiredLeases(roots->expired_leases, NowUnixNanos());
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, std::vector<std::string>{"c/dead"});
  EXPECT_EQ(store_->GetLease("c", "dead").status().code(), Code::kNotFound);
}

// What berth-content keeps from ingest expiry: the ingests of unexpired leases, whatever their
// namespace; not those of an expired lease, of a deleted resource or of a deleted lease.
TEST_F(StoreTest, LeasedIngestsComeFromUnexpiredLeasesInEveryNamespace) {
  auto live = MakeLease("live");
  (*live.mutable_labels())[std::string(kLabelGcExpire)] = "2999-01-01T00:00:00Z";
  auto dead = MakeLease("dead");
  (*dead.mutable_labels())[std::string(kLabelGcExpire)] = "2000-01-01T00:00:00Z";
  auto create = [&](const std::string& ns, const v1::Lease& lease) {
    return Await<v1::Lease>([&](auto done) { store_->CreateLease(ns, lease, done); }).status();
  };
  auto add = [&](const std::string& ns, const std::string& id, v1::Resource r) {
    return AwaitStatus([&](auto done) { store_->AddLeaseResource(ns, id, r, done); });
  };
  ASSERT_TRUE(create("a", live).ok());
  ASSERT_TRUE(create("b", MakeLease("plain")).ok());
  ASSERT_TRUE(create("b", dead).ok());
  ASSERT_TRUE(create("b", MakeLease("gone")).ok());
  ASSERT_TRUE(add("a", "live", MakeResource("ingests", "ref-a")).ok());
  ASSERT_TRUE(add("a", "live", MakeResource("content", FakeDigest(3))).ok());
  ASSERT_TRUE(add("b", "plain", MakeResource("ingests", "ref-b")).ok());
  ASSERT_TRUE(add("b", "plain", MakeResource("ingests", "ref-a")).ok());  // held twice
  ASSERT_TRUE(add("b", "plain", MakeResource("ingests", "dropped")).ok());
  ASSERT_TRUE(AwaitStatus([&](auto done) {
                store_->DeleteLeaseResource("b", "plain", MakeResource("ingests", "dropped"), done);
              }).ok());
  ASSERT_TRUE(add("b", "dead", MakeResource("ingests", "ref-of-expired")).ok());
  ASSERT_TRUE(add("b", "gone", MakeResource("ingests", "ref-of-deleted")).ok());
  ASSERT_TRUE(AwaitStatus([&](auto done) { store_->DeleteLease("b", "gone", done); }).ok());

  auto refs = store_->LeasedIngests(NowUnixNanos());
  ASSERT_TRUE(refs.ok()) << refs.status().ToString();
  EXPECT_EQ(*refs, (std::set<std::string>{"ref-a", "ref-b"}));
}

TEST_F(StoreTest, ATinyMapGrowsUnderConcurrentWritersAndLosesNothing) {
  Database::Options options;
  options.env.initial_map_size = size_t{64} << 10;  // 64 KiB: full after a few records
  auto opened = MetadataStore::Open(dir_->Join("tiny"), nullptr, options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& tiny = **opened;
  constexpr int kThreads = 4, kPerThread = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto c = MakeContainer(fmt::format("t{}-{}", t, i));
        (*c.mutable_labels())["padding"] = std::string(2000, 'p');
        auto created =
            Await<v1::Container>([&](auto done) { tiny.CreateContainer("default", c, done); });
        if (!created.ok()) {
          ADD_FAILURE() << created.status().ToString();  // MDB_MAP_FULL must never surface
          failures++;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(tiny.database().stats().grows, 0u);
  EXPECT_GT(tiny.database().env().map_size(), size_t{1} << 20);
  int listed = 0;
  ASSERT_TRUE(tiny.ListContainers("default", Filter(), [&](v1::Container&&) { ++listed; }).ok());
  EXPECT_EQ(listed, kThreads * kPerThread);
  opened->reset();
  // Reopening with the same tiny setting adopts the grown file.
  auto again = MetadataStore::Open(dir_->Join("tiny"), nullptr, options);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE((*again)->GetContainer("default", "t3-199").ok());
  auto more = Await<v1::Container>([&](auto done) {
    (*again)->CreateContainer("default", MakeContainer("after-reopen"), done);
  });
  EXPECT_TRUE(more.ok()) << more.status().ToString();
}

TEST_F(StoreTest, DataSurvivesReopen) {
  ASSERT_TRUE(CreateImage("default", MakeImage("keep", FakeDigest(1))).ok());
  store_.reset();
  auto store = MetadataStore::Open(dir_->Join("metadata"), nullptr);
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->GetImage("default", "keep").ok());
}

}  // namespace
}  // namespace berth::metadata
