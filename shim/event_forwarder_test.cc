#include "shim/event_forwarder.h"

#include <gtest/gtest.h>

#include "common/temp_dir.h"
#include "containerd/events/task.pb.h"
#include "containerd/services/ttrpc/events/v1/events.berth.h"
#include "ipc/server.h"

namespace berth::shim {
namespace {

namespace ev = containerd::services::events::ttrpc::v1;

class Exchange : public ev::EventsService {
 public:
  void Forward(const ev::ForwardRequest& request,
               ipc::Reply<google::protobuf::Empty> reply) override {
    received.push_back(request.envelope());
    ns.push_back(reply.call().Namespace(""));
    reply.Ok(google::protobuf::Empty());
  }
  std::vector<ev::Envelope> received;
  std::vector<std::string> ns;
};

TEST(ShimEventForwarder, TypeNames) {
  EXPECT_EQ(EventTypeName("/tasks/exit"), "containerd.events.TaskExit");
  EXPECT_EQ(EventTypeName("/tasks/exec-started"), "containerd.events.TaskExecStarted");
  EXPECT_EQ(EventTypeName("/tasks/oom"), "containerd.events.TaskOOM");
  EXPECT_EQ(EventTypeName("/nope"), "");
}

// Events published while the exchange is away arrive in order once it is up.
TEST(ShimEventForwarder, QueuesUntilTheExchangeAppears) {
  auto dir = TempDir::Create("b");
  ASSERT_TRUE(dir.ok());
  std::string socket = dir->Join("events.sock");
  ipc::EventLoop loop;
  EventForwarder forwarder(loop, socket, "ns1");
  for (uint32_t i = 1; i <= 3; ++i) {
    containerd::events::TaskExit exit;
    exit.set_container_id("c");
    exit.set_exit_status(i);
    forwarder.Publish("/tasks/exit", exit);
  }
  Exchange exchange;
  ipc::Server server(loop);
  exchange.RegisterWith(server);
  loop.After(300, [&] { ASSERT_TRUE(server.Listen(socket).ok()); });
  std::function<void()> check = [&] {
    if (exchange.received.size() == 3) return loop.Stop();
    loop.After(10, check);
  };
  loop.After(10, check);
  loop.After(10000, [&] { loop.Stop(); });
  loop.Run();
  ASSERT_EQ(exchange.received.size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    const auto& e = exchange.received[i];
    EXPECT_EQ(e.topic(), "/tasks/exit");
    EXPECT_EQ(e.namespace_(), "ns1");
    EXPECT_EQ(exchange.ns[i], "ns1");
    EXPECT_EQ(e.event().type_url(), "containerd.events.TaskExit");
    containerd::events::TaskExit exit;
    ASSERT_TRUE(exit.ParseFromString(e.event().value()));
    EXPECT_EQ(exit.exit_status(), i + 1);
    EXPECT_GT(e.timestamp().seconds(), 0);
  }
  EXPECT_EQ(forwarder.queued(), 0u);
  server.Close();
}

}  // namespace
}  // namespace berth::shim
