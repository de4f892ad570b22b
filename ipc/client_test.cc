// Blocking and async clients against a real server over a unix socket.
#include "ipc/client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "berth/testing/v1/echo.berth.h"
#include "ipc/testing/test_util.h"

namespace berth::ipc {
namespace {

using namespace ::berth::testing::v1;
using testing::EchoServerThread;
using testing::TempDir;

class ClientTest : public ::testing::Test {
 protected:
  TempDir dir_;
  std::string socket_ = dir_.path() + "/echo.sock";
};

TEST_F(ClientTest, UnaryCallCarriesNamespace) {
  EchoServerThread server(socket_);
  Client client(socket_);
  EchoClient echo(client);
  EchoRequest request;
  request.set_payload("ping");
  CallOptions options;
  options.ns = "team-a";
  auto response = echo.Echo(request, std::move(options));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->payload(), "ping");
  EXPECT_EQ(response->namespace_(), "team-a");
}

TEST_F(ClientTest, EmptyMessagesRoundTrip) {
  EchoServerThread server(socket_);
  Client client(socket_);
  EchoClient echo(client);
  auto response = echo.Echo(EchoRequest());
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->payload(), "");
}

TEST_F(ClientTest, NobodyListeningIsUnavailableNamingTheSocket) {
  Client client(socket_);
  EchoClient echo(client);
  auto response = echo.Echo(EchoRequest());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kUnavailable);
  EXPECT_NE(response.status().message().find(socket_), std::string::npos)
      << response.status().message();
}

TEST_F(ClientTest, ReconnectsAfterThePeerRestarts) {
  Client client(socket_, ClientOptions{.connect_timeout = std::chrono::seconds(5)});
  EchoClient echo(client);
  {
    EchoServerThread server(socket_);
    ASSERT_TRUE(echo.Echo(EchoRequest()).ok());
  }
  // The server is gone; start it again a little later while a call is waiting.
  std::thread restarter([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EchoServerThread server(socket_);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  });
  EchoRequest request;
  request.set_payload("again");
  auto response = echo.Echo(request);
  restarter.join();
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->payload(), "again");
}

TEST_F(ClientTest, ConnectionLossFailsCallsInFlightWithUnavailable) {
  auto server = std::make_unique<EchoServerThread>(socket_);
  Client client(socket_);
  EchoClient echo(client);
  std::thread killer([&server] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server.reset();
  });
  SleepRequest sleep;
  sleep.set_delay_ms(10000);
  auto response = echo.Sleep(sleep);
  killer.join();
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kUnavailable);
}

TEST_F(ClientTest, ClientDeadline) {
  EchoServerThread server(socket_);
  Client client(socket_);
  EchoClient echo(client);
  SleepRequest sleep;
  sleep.set_delay_ms(3000);
  auto start = std::chrono::steady_clock::now();
  auto response = echo.Sleep(sleep, CallOptions{.timeout = std::chrono::milliseconds(100)});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(ClientTest, ServerStream) {
  EchoServerThread server(socket_);
  Client client(socket_);
  EchoClient echo(client);
  CountRequest request;
  request.set_count(100);
  auto stream = echo.Count(request);
  for (uint64_t i = 0; i < 100; ++i) {
    auto message = stream.Recv();
    ASSERT_TRUE(message.ok()) << message.status().ToString();
    ASSERT_TRUE(message->has_value());
    EXPECT_EQ((*message)->value(), i);  // value 0 is an empty message on the wire
  }
  auto end = stream.Recv();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
}

TEST_F(ClientTest, ClientStream) {
  EchoServerThread server(socket_);
  Client client(socket_);
  EchoClient echo(client);
  auto stream = echo.Sum();
  uint64_t expected = 0;
  for (uint64_t i = 0; i < 50; ++i) {
    CountResponse message;
    message.set_value(i);
    expected += i;
    ASSERT_TRUE(stream.Send(message).ok());
  }
  auto total = stream.Finish();
  ASSERT_TRUE(total.ok()) << total.status().ToString();
  EXPECT_EQ(total->total(), expected);
  EXPECT_EQ(total->messages(), 50u);
}

TEST_F(ClientTest, BidiStream) {
  EchoServerThread server(socket_);
  Client client(socket_);
  EchoClient echo(client);
  auto stream = echo.Chat();
  for (int i = 0; i < 10; ++i) {
    EchoRequest message;
    message.set_tag(std::to_string(i));
    ASSERT_TRUE(stream.Send(message).ok());
    auto answer = stream.Recv(std::chrono::seconds(5));
    ASSERT_TRUE(answer.ok()) << answer.status().ToString();
    ASSERT_TRUE(answer->has_value());
    EXPECT_EQ((*answer)->tag(), std::to_string(i));
  }
  ASSERT_TRUE(stream.CloseSend().ok());
  auto end = stream.Recv(std::chrono::seconds(5));
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_FALSE(end->has_value());
}

TEST_F(ClientTest, FileDescriptorsTravelWithTheReply) {
  EchoServerThread server(socket_);
  Client client(socket_);
  auto reply = client.Call("berth.testing.v1.Echo", "Echo", [] {
    EchoRequest request;
    request.set_payload("in a file");
    request.set_tag("with-fd");
    return request.SerializeAsString();
  }());
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ASSERT_EQ(reply->fds.size(), 1u);
  char buf[64] = {};
  ssize_t n = ::pread(reply->fds[0].get(), buf, sizeof(buf), 0);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "in a file");
  int flags = ::fcntl(reply->fds[0].get(), F_GETFD);
  EXPECT_TRUE(flags & FD_CLOEXEC) << "received fds must be close-on-exec";
}

TEST_F(ClientTest, ManyThreadsShareOneClient) {
  EchoServerThread server(socket_);
  Client client(socket_);
  EchoClient echo(client);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        EchoRequest request;
        request.set_tag(std::to_string(t * 1000 + i));
        auto response = echo.Echo(request);
        if (response.ok() && response->tag() == request.tag()) ok++;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 8 * 200);
}

}  // namespace
}  // namespace berth::ipc
