// berth-metadata as a process: CRUD over its socket, events to the exchange, restarts keep
// data, and berthctl's metadata commands.
#include <gtest/gtest.h>
#include <unistd.h>

#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "berth/metadata/v1/containers.berth.h"
#include "berth/metadata/v1/events.pb.h"
#include "berth/metadata/v1/images.berth.h"
#include "berth/metadata/v1/leases.berth.h"
#include "berth/metadata/v1/namespaces.berth.h"
#include "containerd/services/ttrpc/events/v1/events.berth.h"
#include "ipc/client.h"
#include "ipc/server.h"
#include "services/metadata/test_util.h"
#include "tests/integration/metadata_harness.h"

namespace berth::integration {
namespace {

namespace v1 = ::berth::metadata::v1;
namespace evpb = ::containerd::services::events::ttrpc::v1;
using metadata::testing::FakeDigest;
using metadata::testing::MakeContainer;
using metadata::testing::MakeImage;

// A stand-in for berthd's events exchange: records every forwarded envelope.
class EventSink : public evpb::EventsService {
 public:
  explicit EventSink(const std::string& socket) {
    loop_.StartThread();
    std::promise<Status> listening;
    loop_.Post([&] {
      server_ = std::make_unique<ipc::Server>(loop_);
      RegisterWith(*server_);
      listening.set_value(server_->Listen(socket));
    });
    status_ = listening.get_future().get();
  }
  ~EventSink() override {
    std::promise<void> closed;
    loop_.Post([&] {
      server_.reset();
      closed.set_value();
    });
    closed.get_future().wait();
    loop_.Stop();
  }
  void Forward(const evpb::ForwardRequest& request,
               ipc::Reply<google::protobuf::Empty> reply) override {
    {
      std::lock_guard lock(mutex_);
      envelopes_.push_back(request.envelope());
    }
    reply.Ok(google::protobuf::Empty());
  }
  std::vector<evpb::Envelope> WaitFor(size_t count) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mutex_);
        if (envelopes_.size() >= count) return envelopes_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::lock_guard lock(mutex_);
    return envelopes_;
  }
  const Status& status() const { return status_; }

 private:
  ipc::EventLoop loop_;
  std::unique_ptr<ipc::Server> server_;
  Status status_;
  std::mutex mutex_;
  std::vector<evpb::Envelope> envelopes_;
};

// The event an envelope carries (a failure when it does not parse as T).
template <typename T>
T Payload(const evpb::Envelope& envelope) {
  T event;
  EXPECT_TRUE(event.ParseFromString(envelope.event().value())) << envelope.topic();
  return event;
}

using Labels = std::map<std::string, std::string>;
Labels LabelsOf(const google::protobuf::Map<std::string, std::string>& labels) {
  return {labels.begin(), labels.end()};
}

class MetadataServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dirs = ServiceDirs::Create();
    ASSERT_TRUE(dirs.ok());
    dirs_ = std::move(dirs).value();
    auto binary = BuiltBinary("services/metadata/berth-metadata");
    ASSERT_TRUE(binary.ok()) << binary.status().ToString();
    events_ = std::make_unique<EventSink>(dirs_.state + "/berthd.sock");
    ASSERT_TRUE(events_->status().ok());
    metadata_ =
        std::make_unique<ServiceProcess>(*binary, "metadata", dirs_.root, dirs_.state,
                                         std::vector<std::string>{"--content-socket", "none"});
    Status started = metadata_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    client_ = std::make_unique<ipc::Client>(metadata_->socket());
  }
  void TearDown() override {
    client_.reset();
    metadata_.reset();
    events_.reset();
  }
  ipc::CallOptions In(const std::string& ns) {
    ipc::CallOptions options;
    options.ns = ns;
    options.timeout = std::chrono::seconds(20);
    return options;
  }
  Result<std::string> Berthctl(std::vector<std::string> args) {
    return RunBerthctl(dirs_.state, std::move(args));
  }

  ServiceDirs dirs_;
  std::unique_ptr<EventSink> events_;
  std::unique_ptr<ServiceProcess> metadata_;
  std::unique_ptr<ipc::Client> client_;
};

TEST_F(MetadataServiceTest, EveryChangeIsPublishedAsAnEvent) {
  v1::NamespacesClient namespaces(*client_);
  v1::ImagesClient images(*client_);
  v1::ContainersClient containers(*client_);
  v1::CreateNamespaceRequest ns;
  ns.mutable_namespace_()->set_name("team");
  ASSERT_TRUE(namespaces.Create(ns, In("default")).ok());
  v1::UpdateNamespaceRequest label_ns;
  label_ns.mutable_namespace_()->set_name("team");
  (*label_ns.mutable_namespace_()->mutable_labels())["owner"] = "ops";
  label_ns.mutable_update_mask()->add_paths("labels.owner");
  ASSERT_TRUE(namespaces.Update(label_ns, In("default")).ok());
  v1::CreateImageRequest image;
  *image.mutable_image() = MakeImage("busybox", FakeDigest(1));
  ASSERT_TRUE(images.Create(image, In("team")).ok());
  v1::UpdateImageRequest update;
  *update.mutable_image() = image.image();
  (*update.mutable_image()->mutable_labels())["tier"] = "gold";
  update.mutable_update_mask()->add_paths("labels");
  ASSERT_TRUE(images.Update(update, In("team")).ok());
  v1::CreateContainerRequest container;
  *container.mutable_container() = MakeContainer("c1");
  ASSERT_TRUE(containers.Create(container, In("team")).ok());
  v1::UpdateContainerRequest update_container;
  *update_container.mutable_container() = container.container();
  (*update_container.mutable_container()->mutable_labels())["app"] = "web";
  update_container.mutable_update_mask()->add_paths("labels.app");
  ASSERT_TRUE(containers.Update(update_container, In("team")).ok());
  v1::DeleteContainerRequest delete_container;
  delete_container.set_id("c1");
  ASSERT_TRUE(containers.Delete(delete_container, In("team")).ok());
  v1::DeleteImageRequest delete_image;
  delete_image.set_name("busybox");
  ASSERT_TRUE(images.Delete(delete_image, In("team")).ok());
  v1::DeleteNamespaceRequest delete_ns;
  delete_ns.set_name("team");
  ASSERT_TRUE(namespaces.Delete(delete_ns, In("default")).ok());
  // A refused change publishes nothing.
  ASSERT_FALSE(containers.Delete(delete_container, In("team")).ok());

  events_->WaitFor(9);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // room for a stray tenth
  auto envelopes = events_->WaitFor(9);
  std::vector<std::string> topics, types;
  for (const auto& e : envelopes) {
    EXPECT_EQ(e.namespace_(), "team");
    topics.push_back(e.topic());
    types.push_back(e.event().type_url());
  }
  EXPECT_EQ(topics, (std::vector<std::string>{
                        "/namespaces/create", "/namespaces/update", "/images/create",
                        "/images/update", "/containers/create", "/containers/update",
                        "/containers/delete", "/images/delete", "/namespaces/delete"}));
  // The payload travels as containerd's events do: type_url is the message's full name (no
  // "type.googleapis.com/" prefix), value its serialized bytes.
  EXPECT_EQ(types, (std::vector<std::string>{
                       "berth.metadata.v1.NamespaceCreate", "berth.metadata.v1.NamespaceUpdate",
                       "berth.metadata.v1.ImageCreate", "berth.metadata.v1.ImageUpdate",
                       "berth.metadata.v1.ContainerCreate", "berth.metadata.v1.ContainerUpdate",
                       "berth.metadata.v1.ContainerDelete", "berth.metadata.v1.ImageDelete",
                       "berth.metadata.v1.NamespaceDelete"}));
  ASSERT_EQ(envelopes.size(), 9u);
  auto ns_updated = Payload<v1::NamespaceUpdate>(envelopes[1]);
  EXPECT_EQ(LabelsOf(ns_updated.labels()), (Labels{{"owner", "ops"}}));
  auto image_updated = Payload<v1::ImageUpdate>(envelopes[3]);
  EXPECT_EQ(image_updated.name(), "busybox");
  EXPECT_EQ(LabelsOf(image_updated.labels()), (Labels{{"tier", "gold"}}));
  auto container_created = Payload<v1::ContainerCreate>(envelopes[4]);
  EXPECT_EQ(container_created.id(), "c1");
  EXPECT_EQ(container_created.runtime().name(), "io.containerd.runc.v2");
  EXPECT_EQ(LabelsOf(Payload<v1::ContainerUpdate>(envelopes[5]).labels()),
            (Labels{{"app", "web"}}));
  EXPECT_EQ(Payload<v1::NamespaceDelete>(envelopes[8]).name(), "team");
}

TEST_F(MetadataServiceTest, RecordsSurviveARestart) {
  v1::ImagesClient images(*client_);
  v1::CreateImageRequest image;
  *image.mutable_image() = MakeImage("keep:1", FakeDigest(9));
  ASSERT_TRUE(images.Create(image, In("default")).ok());
  // The LMDB environment lives under <root>/metadata.
  EXPECT_EQ(::access((dirs_.root + "/metadata/data.mdb").c_str(), F_OK), 0);
  ASSERT_TRUE(metadata_->Terminate().ok()) << metadata_->LogTail();
  ASSERT_TRUE(metadata_->Start().ok());
  ipc::Client again(metadata_->socket());
  v1::GetImageRequest get;
  get.set_name("keep:1");
  auto found = v1::ImagesClient(again).Get(get, In("default"));
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->image().target().digest(), FakeDigest(9));
}

TEST_F(MetadataServiceTest, ConcurrentClientsOverTheSocket) {
  constexpr int kThreads = 6, kPerThread = 150;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ipc::Client client(metadata_->socket());
      v1::ImagesClient images(client);
      for (int i = 0; i < kPerThread; ++i) {
        v1::CreateImageRequest request;
        *request.mutable_image() =
            MakeImage(fmt::format("img-{}-{}", t, i), FakeDigest(uint64_t(t) * 1000 + i));
        if (!images.Create(request, In("default")).ok()) failures++;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  v1::ListImagesRequest list;
  list.add_filters("name~=^img-3-");
  auto listed = v1::ImagesClient(*client_).List(list, In("default"));
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->images_size(), kPerThread);
}

TEST_F(MetadataServiceTest, BerthctlMetadataCommands) {
  auto out = Berthctl({"namespaces", "create", "dev", "owner=alice"});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  out = Berthctl({"namespaces", "ls"});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_NE(out->find("dev"), std::string::npos);
  EXPECT_NE(out->find("owner=alice"), std::string::npos);
  out = Berthctl({"namespaces", "label", "dev", "tier=gold", "owner="});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "tier=gold\n");  // owner= removed the label
  out = Berthctl({"namespaces", "label", "dev"});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "tier=gold\n");
  out = Berthctl({"namespaces", "ls", "-q"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "dev\n");
  auto invalid = Berthctl({"namespaces", "create", "bad..name"});
  ASSERT_FALSE(invalid.ok());
  EXPECT_NE(invalid.status().message().find("invalid"), std::string::npos)
      << invalid.status().message();

  v1::CreateImageRequest image;
  *image.mutable_image() = MakeImage("docker.io/library/busybox:latest", FakeDigest(5));
  ASSERT_TRUE(v1::ImagesClient(*client_).Create(image, In("dev")).ok());
  ASSERT_TRUE(
      Berthctl({"-n", "dev", "image", "tag", "docker.io/library/busybox:latest", "busybox:mine"})
          .ok());
  ASSERT_TRUE(Berthctl({"-n", "dev", "image", "label", "busybox:mine", "tier=gold"}).ok());
  out = Berthctl({"-n", "dev", "images", "ls", "labels.tier==gold"});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_NE(out->find("busybox:mine"), std::string::npos);
  EXPECT_EQ(out->find("busybox:latest"), std::string::npos);
  out = Berthctl({"-n", "dev", "image", "ls", "-q"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "busybox:mine\ndocker.io/library/busybox:latest\n");

  // Tagging onto a name that exists: refused without --force (and the name keeps its target),
  // retargeted with it (and it keeps its labels).
  *image.mutable_image() = MakeImage("example.com/other:1", FakeDigest(6));
  ASSERT_TRUE(v1::ImagesClient(*client_).Create(image, In("dev")).ok());
  auto taken = Berthctl({"-n", "dev", "image", "tag", "example.com/other:1", "busybox:mine"});
  ASSERT_FALSE(taken.ok());
  EXPECT_NE(taken.status().message().find("use --force"), std::string::npos)
      << taken.status().message();
  v1::GetImageRequest get_mine;
  get_mine.set_name("busybox:mine");
  EXPECT_EQ(v1::ImagesClient(*client_).Get(get_mine, In("dev"))->image().target().digest(),
            FakeDigest(5));
  out = Berthctl({"-n", "dev", "image", "tag", "--force", "example.com/other:1", "busybox:mine"});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "busybox:mine\n");
  auto mine = v1::ImagesClient(*client_).Get(get_mine, In("dev"));
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine->image().target().digest(), FakeDigest(6));
  EXPECT_EQ(mine->image().labels().at("tier"), "gold");

  v1::CreateContainerRequest container;
  *container.mutable_container() = MakeContainer("web");
  ASSERT_TRUE(v1::ContainersClient(*client_).Create(container, In("dev")).ok());
  out = Berthctl({"-n", "dev", "container", "info", "web"});
  ASSERT_TRUE(out.ok());
  EXPECT_NE(out->find("io.containerd.runc.v2"), std::string::npos);
  ASSERT_TRUE(Berthctl({"-n", "dev", "container", "label", "web", "app=web"}).ok());
  out = Berthctl({"-n", "dev", "--format", "json", "container", "ls"});
  ASSERT_TRUE(out.ok());
  EXPECT_NE(out->find("\"app\": \"web\""), std::string::npos) << *out;
  // The plain table: one row per container, columns padded to the widest cell.
  *container.mutable_container() = MakeContainer("db", "overlayfs", "db-rw");
  container.mutable_container()->set_image("");
  ASSERT_TRUE(v1::ContainersClient(*client_).Create(container, In("dev")).ok());
  out = Berthctl({"-n", "dev", "container", "ls"});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(
      *out,
      "CONTAINER    IMAGE                               RUNTIME                  SNAPSHOT\n"
      "db           -                                   io.containerd.runc.v2    overlayfs/db-rw\n"
      "web          docker.io/library/busybox:latest    io.containerd.runc.v2    -\n");
  out = Berthctl({"-n", "dev", "container", "ls", "-q", "labels.app==web"});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "web\n");

  out = Berthctl({"-n", "dev", "lease", "create", "--id", "l1", "--expires", "1h"});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "l1\n");
  out = Berthctl({"-n", "dev", "lease", "ls"});
  ASSERT_TRUE(out.ok());
  EXPECT_NE(out->find("containerd.io/gc.expire"), std::string::npos);

  // A namespace with records cannot go; the message says why.
  auto refused = Berthctl({"namespaces", "rm", "dev"});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("must be empty"), std::string::npos)
      << refused.status().message();
  ASSERT_TRUE(Berthctl({"-n", "dev", "container", "rm", "web", "db"}).ok());
  ASSERT_TRUE(Berthctl({"-n", "dev", "image", "rm", "busybox:mine",
                        "docker.io/library/busybox:latest", "example.com/other:1"})
                  .ok());
  ASSERT_TRUE(Berthctl({"-n", "dev", "lease", "rm", "l1"}).ok());
  ASSERT_TRUE(Berthctl({"namespaces", "rm", "dev"}).ok());
  // GC is disabled in this process (--content-socket none): the command says so.
  auto gc = Berthctl({"gc", "--dry-run"});
  ASSERT_FALSE(gc.ok());
  EXPECT_NE(gc.status().message().find("disabled"), std::string::npos);
}

}  // namespace
}  // namespace berth::integration
