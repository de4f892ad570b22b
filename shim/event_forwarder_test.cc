#include "shim/event_forwarder.h"

#include <gtest/gtest.h>

#include <functional>

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
    ++calls;
    containerd::events::TaskExit exit;
    exit.ParseFromString(request.envelope().event().value());
    if (exit.exit_status() == refuse_status) {
      return reply.Fail(Error(Code::kFailedPrecondition, "refused on purpose"));
    }
    received.push_back(request.envelope());
    ns.push_back(reply.call().Namespace(""));
    reply.Ok(google::protobuf::Empty());
  }
  std::vector<ev::Envelope> received;
  std::vector<std::string> ns;
  uint32_t refuse_status = 1000;  // events with this exit status are refused
  int calls = 0;
};

// Publishes TaskExit events with exit statuses 1..count on `forwarder`.
void PublishExits(EventForwarder& forwarder, uint32_t count) {
  for (uint32_t i = 1; i <= count; ++i) {
    containerd::events::TaskExit exit;
    exit.set_container_id("c");
    exit.set_exit_status(i);
    forwarder.Publish("/tasks/exit", exit);
  }
}

// Runs `loop` until `done` holds (checked every 10 ms) or 10 s passed.
void RunUntil(ipc::EventLoop& loop, const std::function<bool()>& done) {
  std::function<void()> check = [&] {
    if (done()) return loop.Stop();
    loop.After(10, check);
  };
  loop.After(10, check);
  loop.After(10000, [&] { loop.Stop(); });
  loop.Run();
}

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
  PublishExits(forwarder, 3);
  Exchange exchange;
  ipc::Server server(loop);
  exchange.RegisterWith(server);
  loop.After(300, [&] { ASSERT_TRUE(server.Listen(socket).ok()); });
  RunUntil(loop, [&] { return exchange.received.size() == 3; });
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

// An event the exchange refuses on purpose is dropped after one try; the ones behind it go on.
TEST(ShimEventForwarder, RefusedEventIsDroppedAndTheRestFollow) {
  auto dir = TempDir::Create("b");
  ASSERT_TRUE(dir.ok());
  std::string socket = dir->Join("events.sock");
  ipc::EventLoop loop;
  Exchange exchange;
  exchange.refuse_status = 2;
  ipc::Server server(loop);
  exchange.RegisterWith(server);
  ASSERT_TRUE(server.Listen(socket).ok());
  EventForwarder forwarder(loop, socket, "ns1");
  PublishExits(forwarder, 3);
  RunUntil(loop, [&] { return exchange.received.size() == 2 && forwarder.queued() == 0; });
  ASSERT_EQ(exchange.received.size(), 2u);
  std::vector<uint32_t> statuses;
  for (const auto& e : exchange.received) {
    containerd::events::TaskExit exit;
    ASSERT_TRUE(exit.ParseFromString(e.event().value()));
    statuses.push_back(exit.exit_status());
  }
  EXPECT_EQ(statuses, (std::vector<uint32_t>{1, 3}));
  EXPECT_EQ(exchange.calls, 3);  // the refused one was not retried
  server.Close();
}

}  // namespace
}  // namespace berth::shim
