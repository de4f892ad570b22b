// MetadataServer through IPC: every service over a real socket (server thread + blocking
// clients), filters, streaming lists, concurrent writers, sync deletes with GC.
#include "services/metadata/server.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "berth/metadata/v1/containers.berth.h"
#include "berth/metadata/v1/gc.berth.h"
#include "berth/metadata/v1/images.berth.h"
#include "berth/metadata/v1/leases.berth.h"
#include "berth/metadata/v1/namespaces.berth.h"
#include "common/temp_dir.h"
#include "ipc/client.h"
#include "services/metadata/gc.h"
#include "services/metadata/gc_stores_fake.h"
#include "services/metadata/test_util.h"

namespace berth::metadata {
namespace {

using namespace testing;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("b-meta");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(dir).value());
    auto store = MetadataStore::Open(dir_->Join("metadata"), nullptr);
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    auto fake = std::make_unique<FakeGcStores>();
    stores_ = fake.get();
    GcScheduler::Options options;
    options.startup_delay = std::chrono::milliseconds(-1);
    options.delay = std::chrono::seconds(60);  // only explicit collections in these tests
    gc_ = std::make_unique<GcScheduler>(*store_, std::move(fake), options);
    gc_->Attach();
    metadata_ = std::make_unique<MetadataServer>(*store_, gc_.get());
    loop_.StartThread();
    std::promise<Status> listening;
    loop_.Post([&] {
      server_ = std::make_unique<ipc::Server>(loop_);
      metadata_->RegisterWith(*server_);
      listening.set_value(server_->Listen(socket()));
    });
    ASSERT_TRUE(listening.get_future().get().ok());
    client_ = std::make_unique<ipc::Client>(socket());
  }
  void TearDown() override {
    client_.reset();
    std::promise<void> closed;
    loop_.Post([&] {
      server_.reset();
      closed.set_value();
    });
    closed.get_future().wait();
    loop_.Stop();
    store_->Close();
    gc_.reset();
  }
  std::string socket() const { return dir_->Join("m.sock"); }
  ipc::CallOptions In(const std::string& ns) {
    ipc::CallOptions options;
    options.ns = ns;
    options.timeout = std::chrono::seconds(30);
    return options;
  }
  Result<v1::CreateImageResponse> CreateImage(const v1::Image& image,
                                              const std::string& ns = "default") {
    v1::CreateImageRequest request;
    *request.mutable_image() = image;
    return v1::ImagesClient(*client_).Create(request, In(ns));
  }

  std::optional<TempDir> dir_;
  std::unique_ptr<MetadataStore> store_;
  FakeGcStores* stores_ = nullptr;
  std::unique_ptr<GcScheduler> gc_;
  std::unique_ptr<MetadataServer> metadata_;
  ipc::EventLoop loop_;
  std::unique_ptr<ipc::Server> server_;
  std::unique_ptr<ipc::Client> client_;
};

TEST_F(ServerTest, ImagesCrudThroughIpcInTheCallersNamespace) {
  v1::ImagesClient images(*client_);
  auto created = CreateImage(MakeImage("busybox:latest", FakeDigest(1)), "team-a");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_GT(created->image().created_at().seconds(), 0);

  v1::GetImageRequest get;
  get.set_name("busybox:latest");
  EXPECT_TRUE(images.Get(get, In("team-a")).ok());
  auto missing = images.Get(get, In("default"));
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("busybox:latest"), std::string::npos);

  v1::UpdateImageRequest update;
  *update.mutable_image() = MakeImage("busybox:latest", FakeDigest(1));
  (*update.mutable_image()->mutable_labels())["k"] = "v";
  update.mutable_update_mask()->add_paths("labels.k");
  auto updated = images.Update(update, In("team-a"));
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->image().labels().at("k"), "v");
  EXPECT_EQ(UnixNanosOf(updated->image().created_at()), UnixNanosOf(created->image().created_at()));
  EXPECT_GT(UnixNanosOf(updated->image().updated_at()), UnixNanosOf(created->image().updated_at()));

  // Target annotations cross the wire and update by key.
  update.mutable_update_mask()->set_paths(0, "annotations.org.opencontainers.image.ref.name");
  (*update.mutable_image()
        ->mutable_target()
        ->mutable_annotations())["org.opencontainers.image.ref.name"] = "latest";
  updated = images.Update(update, In("team-a"));
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  auto annotated = images.Get(get, In("team-a"));
  ASSERT_TRUE(annotated.ok());
  EXPECT_EQ(annotated->image().target().annotations_size(), 1);
  EXPECT_EQ(annotated->image().target().annotations().at("org.opencontainers.image.ref.name"),
            "latest");

  v1::ListImagesRequest list;
  list.add_filters("labels.k==v");
  auto listed = images.List(list, In("team-a"));
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->images_size(), 1);
  list.set_filters(0, "labels.k==other");
  EXPECT_EQ(images.List(list, In("team-a"))->images_size(), 0);
  list.set_filters(0, "labels.k=");
  EXPECT_EQ(images.List(list, In("team-a")).status().code(), Code::kInvalidArgument);

  v1::DeleteImageRequest del;
  del.set_name("busybox:latest");
  EXPECT_TRUE(images.Delete(del, In("team-a")).ok());
  EXPECT_EQ(images.Delete(del, In("team-a")).status().code(), Code::kNotFound);
}

TEST_F(ServerTest, ARequestWithoutANamespaceLandsInDefault) {
  v1::CreateImageRequest request;
  *request.mutable_image() = MakeImage("busybox:1", FakeDigest(1));
  ipc::CallOptions no_namespace;  // no containerd-namespace-ttrpc metadata at all
  no_namespace.timeout = std::chrono::seconds(30);
  ASSERT_TRUE(v1::ImagesClient(*client_).Create(request, std::move(no_namespace)).ok());
  v1::GetImageRequest get;
  get.set_name("busybox:1");
  EXPECT_TRUE(v1::ImagesClient(*client_).Get(get, In("default")).ok());
  EXPECT_EQ(v1::ImagesClient(*client_).Get(get, In("other")).status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->GetNamespace("default").ok());
}

TEST_F(ServerTest, ValidationErrorsCrossTheWire) {
  auto bad = CreateImage(MakeImage("x", "sha256:short"));
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("digest"), std::string::npos);
  EXPECT_EQ(CreateImage(MakeImage("x", FakeDigest(1)), "no/slashes").status().code(),
            Code::kInvalidArgument);
  v1::CreateContainerRequest c;
  *c.mutable_container() = MakeContainer("bad id");
  EXPECT_EQ(v1::ContainersClient(*client_).Create(c, In("default")).status().code(),
            Code::kInvalidArgument);
  v1::CreateLeaseRequest lease;
  EXPECT_EQ(v1::LeasesClient(*client_).Create(lease, In("default")).status().code(),
            Code::kInvalidArgument);
}

TEST_F(ServerTest, ContainersCrudAndStreamingList) {
  v1::ContainersClient containers(*client_);
  for (int i = 0; i < 50; ++i) {
    v1::CreateContainerRequest request;
    *request.mutable_container() =
        MakeContainer(fmt::format("c{:02}", i), "overlayfs", fmt::format("c{:02}-rw", i));
    (*request.mutable_container()->mutable_labels())["parity"] = i % 2 ? "odd" : "even";
    ASSERT_TRUE(containers.Create(request, In("default")).ok());
  }
  v1::GetContainerRequest get;
  get.set_id("c07");
  auto got = containers.Get(get, In("default"));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->container().snapshot_key(), "c07-rw");
  EXPECT_EQ(got->container().runtime().name(), "io.containerd.runc.v2");

  v1::ListContainersRequest list;
  list.add_filters("labels.parity==odd");
  EXPECT_EQ(containers.List(list, In("default"))->containers_size(), 25);
  auto stream = containers.ListStream(list, In("default"));
  int streamed = 0;
  while (true) {
    auto message = stream.Recv();
    ASSERT_TRUE(message.ok()) << message.status().ToString();
    if (!message->has_value()) break;
    streamed += (*message)->containers_size();
  }
  EXPECT_EQ(streamed, 25);

  v1::UpdateContainerRequest update;
  *update.mutable_container() = got->container();
  update.mutable_container()->set_image("alpine:3");
  update.mutable_update_mask()->add_paths("image");
  EXPECT_EQ(containers.Update(update, In("default"))->container().image(), "alpine:3");
  update.mutable_update_mask()->set_paths(0, "runtime");
  EXPECT_EQ(containers.Update(update, In("default")).status().code(), Code::kInvalidArgument);

  v1::DeleteContainerRequest del;
  del.set_id("c07");
  EXPECT_TRUE(containers.Delete(del, In("default")).ok());
  EXPECT_EQ(containers.Get(get, In("default")).status().code(), Code::kNotFound);
}

TEST_F(ServerTest, AListTooLargeForOneFrameAsksForTheStream) {
  v1::ContainersClient containers(*client_);
  google::protobuf::StringValue big;
  big.set_value(std::string(512 << 10, 's'));  // 512 KiB specs: 10 of them pass 4 MiB
  for (int i = 0; i < 10; ++i) {
    v1::CreateContainerRequest request;
    *request.mutable_container() = MakeContainer(fmt::format("big{}", i));
    request.mutable_container()->mutable_spec()->PackFrom(big);
    ASSERT_TRUE(containers.Create(request, In("default")).ok());
  }
  auto listed = containers.List(v1::ListContainersRequest(), In("default"));
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.status().code(), Code::kResourceExhausted);
  EXPECT_NE(listed.status().message().find("ListStream"), std::string::npos);
  auto stream = containers.ListStream(v1::ListContainersRequest(), In("default"));
  int streamed = 0;
  while (true) {
    auto message = stream.Recv();
    ASSERT_TRUE(message.ok()) << message.status().ToString();
    if (!message->has_value()) break;
    streamed += (*message)->containers_size();
  }
  EXPECT_EQ(streamed, 10);
}

TEST_F(ServerTest, NamespacesThroughIpc) {
  v1::NamespacesClient namespaces(*client_);
  v1::CreateNamespaceRequest create;
  create.mutable_namespace_()->set_name("ops");
  (*create.mutable_namespace_()->mutable_labels())["team"] = "ops";
  ASSERT_TRUE(namespaces.Create(create, In("default")).ok());
  ASSERT_TRUE(CreateImage(MakeImage("i", FakeDigest(1)), "ops").ok());
  v1::ListNamespacesRequest list;
  list.add_filters("labels.team==ops");
  auto listed = namespaces.List(list, In("default"));
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->namespaces_size(), 1);
  EXPECT_EQ(listed->namespaces(0).name(), "ops");
  v1::DeleteNamespaceRequest del;
  del.set_name("ops");
  EXPECT_EQ(namespaces.Delete(del, In("default")).status().code(), Code::kFailedPrecondition);
}

// berth-content's question before it expires ingests: the refs of every unexpired lease, in
// every namespace, whatever the namespace of the call.
TEST_F(ServerTest, LeasedIngestsThroughIpcSpanNamespaces) {
  v1::LeasesClient leases(*client_);
  for (const char* ns : {"default", "other"}) {
    v1::CreateLeaseRequest create;
    create.set_id("pull");
    ASSERT_TRUE(leases.Create(create, In(ns)).ok());
    v1::AddLeaseResourceRequest add;
    add.set_id("pull");
    *add.mutable_resource() = MakeResource("ingests", std::string("layer-of-") + ns);
    ASSERT_TRUE(leases.AddResource(add, In(ns)).ok());
    *add.mutable_resource() = MakeResource("content", FakeDigest(1));
    ASSERT_TRUE(leases.AddResource(add, In(ns)).ok());
  }
  auto leased = [&](const std::string& ns) {
    std::vector<std::string> refs;
    auto stream = leases.ListLeasedIngests(v1::ListLeasedIngestsRequest(), In(ns));
    while (true) {
      auto message = stream.Recv();
      EXPECT_TRUE(message.ok()) << message.status().ToString();
      if (!message.ok() || !message->has_value()) break;
      refs.insert(refs.end(), (*message)->refs().begin(), (*message)->refs().end());
    }
    return refs;
  };
  EXPECT_EQ(leased("default"), (std::vector<std::string>{"layer-of-default", "layer-of-other"}));
  EXPECT_EQ(leased("third"), (std::vector<std::string>{"layer-of-default", "layer-of-other"}));
  v1::DeleteLeaseRequest del;
  del.set_id("pull");
  ASSERT_TRUE(leases.Delete(del, In("other")).ok());
  EXPECT_EQ(leased("default"), std::vector<std::string>{"layer-of-default"});
}

TEST_F(ServerTest, LeasesThroughIpc) {
  v1::LeasesClient leases(*client_);
  v1::CreateLeaseRequest create;
  create.set_id("pull-1");
  (*create.mutable_labels())["containerd.io/gc.expire"] = "2999-01-01T00:00:00Z";
  auto created = leases.Create(create, In("default"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_GT(created->lease().created_at().seconds(), 0);
  v1::AddLeaseResourceRequest add;
  add.set_id("pull-1");
  *add.mutable_resource() = MakeResource("content", FakeDigest(5));
  ASSERT_TRUE(leases.AddResource(add, In("default")).ok());
  v1::ListLeaseResourcesRequest resources;
  resources.set_id("pull-1");
  auto listed = leases.ListResources(resources, In("default"));
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->resources_size(), 1);
  EXPECT_EQ(listed->resources(0).id(), FakeDigest(5));
  EXPECT_EQ(leases.List(v1::ListLeasesRequest(), In("default"))->leases_size(), 1);
  EXPECT_EQ(leases.List(v1::ListLeasesRequest(), In("other"))->leases_size(), 0);
  v1::ListLeasesRequest filtered;
  filtered.add_filters("id~=^pull-,labels.\"containerd.io/gc.expire\"");
  EXPECT_EQ(leases.List(filtered, In("default"))->leases_size(), 1);

  *add.mutable_resource() = MakeResource("volumes", "v1");
  auto unsupported = leases.AddResource(add, In("default"));
  EXPECT_EQ(unsupported.status().code(), Code::kInvalidArgument);
  EXPECT_NE(unsupported.status().message().find("snapshots/<snapshotter>"), std::string::npos);
  *add.mutable_resource() = MakeResource("snapshots/native", "extract-1");
  ASSERT_TRUE(leases.AddResource(add, In("default")).ok());
  v1::DeleteLeaseResourceRequest drop;
  drop.set_id("pull-1");
  *drop.mutable_resource() = MakeResource("content", FakeDigest(5));
  ASSERT_TRUE(leases.DeleteResource(drop, In("default")).ok());
  listed = leases.ListResources(resources, In("default"));
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->resources_size(), 1);
  EXPECT_EQ(listed->resources(0).type(), "snapshots/native");

  v1::DeleteLeaseRequest del;
  del.set_id("pull-1");
  ASSERT_TRUE(leases.Delete(del, In("default")).ok());
  EXPECT_EQ(leases.Delete(del, In("default")).status().code(), Code::kNotFound);
  EXPECT_EQ(leases.ListResources(resources, In("default")).status().code(), Code::kNotFound);
  EXPECT_EQ(leases.List(v1::ListLeasesRequest(), In("default"))->leases_size(), 0);
}

TEST_F(ServerTest, ContainerRuntimeOptionsAndExtensionsAreStoredAsGiven) {
  v1::ContainersClient containers(*client_);
  v1::CreateContainerRequest create;
  *create.mutable_container() = MakeContainer("opts", "overlayfs", "opts-rw");
  google::protobuf::StringValue options;
  google::protobuf::BytesValue extension;  // any bytes, kept byte for byte
  options.set_value("BinaryName=/usr/sbin/runc");
  extension.set_value("\x01 raw bytes \xff");
  create.mutable_container()->mutable_runtime()->mutable_options()->PackFrom(options);
  (*create.mutable_container()->mutable_extensions())["com.example/ext"].PackFrom(extension);
  create.mutable_container()->set_sandbox("pod-1");
  ASSERT_TRUE(containers.Create(create, In("default")).ok());
  v1::GetContainerRequest get;
  get.set_id("opts");
  auto got = containers.Get(get, In("default"));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const auto& c = got->container();
  EXPECT_EQ(c.runtime().options().SerializeAsString(),
            create.container().runtime().options().SerializeAsString());
  EXPECT_EQ(c.extensions().at("com.example/ext").SerializeAsString(),
            create.container().extensions().at("com.example/ext").SerializeAsString());
  EXPECT_EQ(c.spec().SerializeAsString(), create.container().spec().SerializeAsString());
  EXPECT_EQ(c.sandbox(), "pod-1");
  EXPECT_EQ(c.snapshotter(), "overlayfs");
  EXPECT_EQ(c.snapshot_key(), "opts-rw");
  EXPECT_GT(c.created_at().seconds(), 0);

  // Field paths: drop one extension by key; the rest of the record stays.
  v1::UpdateContainerRequest update;
  update.mutable_container()->set_id("opts");
  update.mutable_update_mask()->add_paths("extensions.com.example/ext");
  auto updated = containers.Update(update, In("default"));
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_TRUE(updated->container().extensions().empty());
  EXPECT_EQ(updated->container().runtime().options().SerializeAsString(),
            c.runtime().options().SerializeAsString());
  EXPECT_EQ(updated->container().created_at().SerializeAsString(),
            c.created_at().SerializeAsString());
  // updated_at moves (compared to the nanosecond; the update came after a full round trip).
  EXPECT_GT(UnixNanosOf(updated->container().updated_at()), UnixNanosOf(c.updated_at()));
}

TEST_F(ServerTest, SyncDeleteRunsGarbageCollectionBeforeAnswering) {
  stores_->AddContent({"", FakeDigest(1), {{"containerd.io/gc.ref.content.c", FakeDigest(2)}}});
  stores_->AddContent({"", FakeDigest(2), {}});
  ASSERT_TRUE(CreateImage(MakeImage("img", FakeDigest(1))).ok());
  v1::GCClient gc(*client_);
  v1::CollectRequest dry;
  dry.set_dry_run(true);
  auto report = gc.Collect(dry, In("default"));
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->removed_content_size(), 0);
  EXPECT_EQ(report->marked(), 2u);

  v1::DeleteImageRequest del;
  del.set_name("img");
  del.set_sync(true);
  auto deleted = v1::ImagesClient(*client_).Delete(del, In("default"));
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted->gc().removed_content_size(), 2);
  EXPECT_TRUE(deleted->gc().complete());
  EXPECT_EQ(stores_->content_count(), 0u);
}

TEST_F(ServerTest, ConcurrentWritersAllSucceed) {
  constexpr int kThreads = 8, kPerThread = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ipc::Client client(socket());
      v1::ContainersClient containers(client);
      for (int i = 0; i < kPerThread; ++i) {
        v1::CreateContainerRequest request;
        *request.mutable_container() = MakeContainer(fmt::format("t{}-{}", t, i));
        if (!containers.Create(request, In("default")).ok()) failures++;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto listed = v1::ContainersClient(*client_).List(v1::ListContainersRequest(), In("default"));
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->containers_size(), kThreads * kPerThread);
  EXPECT_LT(store_->database().stats().batches, uint64_t{kThreads * kPerThread});
}

}  // namespace
}  // namespace berth::metadata
