// Berth as the client, ttrpc-go as the server: Berth's generated EventsClient and AsyncClient
// over ipc call the Go peer's `serve` (containerd's ttrpc 1.1 server with its Events service).
#include <gtest/gtest.h>

#include <future>

#include "common/temp_dir.h"
#include "containerd/services/ttrpc/events/v1/events.berth.h"
#include "ipc/client.h"
#include "tests/interop/interop_util.h"

namespace berth::interop {
namespace {

using namespace std::chrono_literals;
namespace events = containerd::services::events::ttrpc::v1;

class GoServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("b");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    dir_ = std::move(dir).value();
    socket_ = dir_->Join("go.sock");
    auto peer = GoPeer();
    ASSERT_TRUE(peer.ok()) << peer.status().ToString();
    auto server =
        BackgroundProcess::Start({*peer, "serve", "--socket", socket_}, dir_->path(), "go-server");
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_.emplace(std::move(server).value());
    Status ready = server_->WaitForOutput("ready\n", 10s);
    ASSERT_TRUE(ready.ok()) << ready.ToString();
  }

  std::optional<TempDir> dir_;
  std::string socket_;
  std::optional<BackgroundProcess> server_;
};

TEST_F(GoServerTest, UnaryForwardSucceeds) {
  ipc::Client client(socket_);
  events::EventsClient events(client);
  ipc::CallOptions options;
  options.ns = "interop";
  options.timeout = 10s;
  auto reply = events.Forward(MakeForward("interop", "/tasks/oom", "c1"), std::move(options));
  EXPECT_TRUE(reply.ok()) << reply.status().ToString();
}

TEST_F(GoServerTest, UnknownMethodIsUnimplemented) {
  ipc::Client client(socket_);
  auto reply = client.Call(kEventsService, "NoSuchMethod", "");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), Code::kUnimplemented) << reply.status().ToString();
  // ttrpc-go names what it did not find.
  EXPECT_NE(reply.status().message().find("NoSuchMethod"), std::string::npos)
      << reply.status().message();

  auto unknown_service = client.Call("berth.test.v1.NoSuchService", "Forward", "");
  ASSERT_FALSE(unknown_service.ok());
  EXPECT_EQ(unknown_service.status().code(), Code::kUnimplemented);

  // The connection is still good after the errors.
  events::EventsClient events(client);
  auto reply_after = events.Forward(MakeForward("default", "/after", "c2"));
  EXPECT_TRUE(reply_after.ok()) << reply_after.status().ToString();
}

TEST_F(GoServerTest, PipelinedCallsOnOneConnectionAllComplete) {
  // 256 calls in flight on one connection: ttrpc-go answers them concurrently and out of
  // order; every one must come back to its own callback exactly once.
  constexpr int kCalls = 256;
  struct Tally {
    int ok = 0;
    int seen = 0;
    std::promise<int> all_done;
  };
  auto tally = std::make_shared<Tally>();
  auto all_done = tally->all_done.get_future();
  ipc::EventLoop loop;
  loop.StartThread();
  std::shared_ptr<ipc::AsyncClient> client = ipc::AsyncClient::Create(loop, socket_);
  loop.Post([client, tally] {
    events::EventsAsyncClient events(client);
    for (int i = 0; i < kCalls; ++i) {
      ipc::CallOptions options;
      options.ns = "interop";
      events.Forward(MakeForward("interop", "/pipelined", std::to_string(i)), std::move(options),
                     [tally](Result<google::protobuf::Empty> reply) {
                       if (reply.ok()) ++tally->ok;
                       if (++tally->seen == kCalls) tally->all_done.set_value(tally->ok);
                     });
    }
  });
  bool ready = all_done.wait_for(20s) == std::future_status::ready;
  // Close and drop the client on its loop thread before the loop goes away.
  std::promise<void> closed;
  loop.Post([&client, &closed] {
    client->Close();
    client.reset();
    closed.set_value();
  });
  closed.get_future().wait();
  ASSERT_TRUE(ready) << "not every pipelined call completed within 20 s";
  EXPECT_EQ(all_done.get(), kCalls);
}

}  // namespace
}  // namespace berth::interop
