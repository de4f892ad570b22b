// Berth's client against the real containerd 1.6: the generated EventsClient over ipc::Client
// calls containerd.services.events.ttrpc.v1.Events/Forward on containerd's ttrpc socket (as a
// containerd shim publishes its task events), and `ctr events` must see the event.
#include <gtest/gtest.h>

#include <thread>

#include "common/temp_dir.h"
#include "containerd/services/ttrpc/events/v1/events.berth.h"
#include "ipc/client.h"
#include "tests/interop/interop_util.h"

namespace berth::interop {
namespace {

using namespace std::chrono_literals;
namespace events = containerd::services::events::ttrpc::v1;

constexpr char kNamespace[] = "berth-interop";

class ContainerdEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("b");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    dir_ = std::move(dir).value();
    auto containerd = Containerd::Start(dir_->Join("ctd"));
    ASSERT_TRUE(containerd.ok()) << containerd.status().ToString();
    containerd_.emplace(std::move(containerd).value());
    client_.emplace(containerd_->ttrpc_socket());
  }

  Result<google::protobuf::Empty> Forward(const std::string& topic, const std::string& id) {
    events::EventsClient events(*client_);
    ipc::CallOptions options;
    options.ns = kNamespace;  // containerd's publishers put it in the metadata too
    options.timeout = 5s;
    return events.Forward(MakeForward(kNamespace, topic, id), std::move(options));
  }

  // Declared in teardown order: the client, ctr and containerd go before the directory.
  std::optional<TempDir> dir_;
  std::optional<Containerd> containerd_;
  std::optional<ipc::Client> client_;
};

TEST_F(ContainerdEventsTest, ForwardedEventIsSeenByCtrEvents) {
  auto ctr = BackgroundProcess::Start({"ctr", "--address", containerd_->grpc_socket(), "events"},
                                      dir_->path(), "ctr-events");
  ASSERT_TRUE(ctr.ok()) << ctr.status().ToString();
  // ctr subscribes asynchronously: forward probes until one shows up, so the event under test
  // is sent once, to a subscriber that is listening.
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (ctr->Stdout().find("/berth/probe") == std::string::npos) {
    auto probe = Forward("/berth/probe", "probe");
    ASSERT_TRUE(probe.ok()) << probe.status().ToString() << "\n" << containerd_->LogTail();
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "ctr events never printed a probe; stdout: " << ctr->Stdout()
        << "\nstderr: " << ctr->Stderr();
    std::this_thread::sleep_for(100ms);
  }

  auto reply = Forward("/tasks/oom", "berth-interop-c1");
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  // ctr prints: <timestamp> <namespace> <topic> <event as JSON>; the JSON proves containerd
  // decoded the TaskOOM that Berth encoded.
  Status seen = ctr->WaitForOutput(
      std::string(" ") + kNamespace + " /tasks/oom {\"container_id\":\"berth-interop-c1\"}\n", 10s);
  EXPECT_TRUE(seen.ok()) << seen.ToString();
}

TEST_F(ContainerdEventsTest, ContainerdErrorsReachTheCallerWithTheirCode) {
  // containerd validates the envelope: a topic must start with '/'.
  auto reply = Forward("no-slash", "c1");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), Code::kInvalidArgument) << reply.status().ToString();
  // An unknown method on containerd's ttrpc server.
  auto unknown = client_->Call(kEventsService, "NoSuchMethod", "");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Code::kUnimplemented) << unknown.status().ToString();
  // The connection still works afterwards.
  auto after = Forward("/berth/after", "c1");
  EXPECT_TRUE(after.ok()) << after.status().ToString();
}

}  // namespace
}  // namespace berth::interop
