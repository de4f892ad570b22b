// Server behaviour on the wire, driven by a raw socket: malformed and hostile input, ttrpc's
// stream rules, concurrency, deadlines, peer credentials.
#include "ipc/server.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <set>

#include "berth/testing/v1/echo.pb.h"
#include "ipc/testing/test_util.h"
#include "ttrpc/request.pb.h"

namespace berth::ipc {
namespace {

using testing::EchoServerThread;
using testing::RawPeer;
using testing::TempDir;

std::string RequestBody(const std::string& service, const std::string& method,
                        const std::string& payload, int64_t timeout_nano = 0) {
  ::ttrpc::Request request;
  request.set_service(service);
  request.set_method(method);
  request.set_payload(payload);
  request.set_timeout_nano(timeout_nano);
  return request.SerializeAsString();
}

std::string EchoPayload(const std::string& text) {
  ::berth::testing::v1::EchoRequest request;
  request.set_payload(text);
  return request.SerializeAsString();
}

std::string Frame(uint32_t id, FrameType type, uint8_t flags, const std::string& body) {
  std::string out;
  AppendFrame(out, id, type, flags, body);
  return out;
}

::ttrpc::Response ParseResponse(const berth::ipc::Frame& frame) {
  ::ttrpc::Response response;
  EXPECT_TRUE(response.ParseFromString(frame.body));
  return response;
}

class ServerTest : public ::testing::Test {
 protected:
  TempDir dir_;
  std::string socket_ = dir_.path() + "/sock/echo.sock";
  EchoServerThread server_{socket_};
};

TEST_F(ServerTest, SocketDirectoryIsPrivate) {
  ASSERT_TRUE(server_.status().ok()) << server_.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat((dir_.path() + "/sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(ServerTest, UnaryEchoRoundTrip) {
  RawPeer peer(socket_);
  ASSERT_TRUE(peer.Write(Frame(1, FrameType::kRequest, 0,
                               RequestBody("berth.testing.v1.Echo", "Echo", EchoPayload("hi")))));
  auto frame = peer.Read();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->header.type, static_cast<uint8_t>(FrameType::kResponse));
  EXPECT_EQ(frame->header.stream_id, 1u);
  auto response = ParseResponse(*frame);
  EXPECT_FALSE(response.has_status());
  ::berth::testing::v1::EchoResponse echo;
  ASSERT_TRUE(echo.ParseFromString(response.payload()));
  EXPECT_EQ(echo.payload(), "hi");
}

TEST_F(ServerTest, UnknownServiceAndMethodAreUnimplemented) {
  RawPeer peer(socket_);
  peer.Write(Frame(1, FrameType::kRequest, 0, RequestBody("no.such.Service", "Echo", "")));
  peer.Write(Frame(3, FrameType::kRequest, 0, RequestBody("berth.testing.v1.Echo", "Nope", "")));
  auto a = peer.Read();
  auto b = peer.Read();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(ParseResponse(*a).status().code(), static_cast<int>(Code::kUnimplemented));
  EXPECT_EQ(ParseResponse(*a).status().message(), "service no.such.Service");
  EXPECT_EQ(ParseResponse(*b).status().code(), static_cast<int>(Code::kUnimplemented));
  EXPECT_EQ(ParseResponse(*b).status().message(), "method Nope");
}

TEST_F(ServerTest, GarbageEnvelopeIsInvalidArgumentAndConnectionStays) {
  RawPeer peer(socket_);
  peer.Write(Frame(1, FrameType::kRequest, 0, std::string("\xff\xff\xff\xff\x0f", 5)));
  auto bad = peer.Read();
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(ParseResponse(*bad).status().code(), static_cast<int>(Code::kInvalidArgument));
  // Bad request payload for a known method.
  peer.Write(Frame(3, FrameType::kRequest, 0,
                   RequestBody("berth.testing.v1.Echo", "Echo",
                               std::string("\x0a\x05"
                                           "ab",
                                           4))));
  auto bad_payload = peer.Read();
  ASSERT_TRUE(bad_payload.has_value());
  EXPECT_EQ(ParseResponse(*bad_payload).status().code(), static_cast<int>(Code::kInvalidArgument));
  peer.Write(Frame(5, FrameType::kRequest, 0,
                   RequestBody("berth.testing.v1.Echo", "Echo", EchoPayload("still here"))));
  auto good = peer.Read();
  ASSERT_TRUE(good.has_value());
  EXPECT_FALSE(ParseResponse(*good).has_status());
}

TEST_F(ServerTest, ZeroLengthRequestBodyGetsAnAnswer) {
  RawPeer peer(socket_);
  peer.Write(Frame(1, FrameType::kRequest, 0, ""));
  auto frame = peer.Read();
  ASSERT_TRUE(frame.has_value());
  // An empty envelope names no service.
  EXPECT_EQ(ParseResponse(*frame).status().code(), static_cast<int>(Code::kUnimplemented));
}

TEST_F(ServerTest, OversizeBodyGetsResourceExhaustedOnItsStreamAndConnectionStays) {
  RawPeer peer(socket_);
  std::string big(kMaxBody + 1, 'x');
  ASSERT_TRUE(peer.Write(Frame(1, FrameType::kRequest, 0, big)));
  auto frame = peer.Read();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->header.stream_id, 1u);
  EXPECT_EQ(ParseResponse(*frame).status().code(), static_cast<int>(Code::kResourceExhausted));
  peer.Write(Frame(3, FrameType::kRequest, 0,
                   RequestBody("berth.testing.v1.Echo", "Echo", EchoPayload("after"))));
  auto good = peer.Read();
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(good->header.stream_id, 3u);
  EXPECT_FALSE(ParseResponse(*good).has_status());
}

// The 4 MiB cap also holds for Data frames of an open client stream: the call ends with
// RESOURCE_EXHAUSTED on its own stream, and the connection keeps serving.
TEST_F(ServerTest, OversizeDataFrameEndsItsStreamWithResourceExhaustedAndConnectionStays) {
  RawPeer peer(socket_);
  ASSERT_TRUE(peer.Write(Frame(1, FrameType::kRequest, kFlagRemoteOpen,
                               RequestBody("berth.testing.v1.Echo", "Sum", ""))));
  ::berth::testing::v1::CountResponse one;
  one.set_value(1);
  ASSERT_TRUE(peer.Write(Frame(1, FrameType::kData, 0, one.SerializeAsString())));
  ASSERT_TRUE(peer.Write(Frame(1, FrameType::kData, 0, std::string(kMaxBody + 1, 'x'))));
  auto frame = peer.Read();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->header.type, static_cast<uint8_t>(FrameType::kResponse));
  EXPECT_EQ(frame->header.stream_id, 1u);
  auto response = ParseResponse(*frame);
  EXPECT_EQ(response.status().code(), static_cast<int>(Code::kResourceExhausted));
  EXPECT_NE(response.status().message().find("exceed maximum message size"), std::string::npos)
      << response.status().message();
  // The stream is over: more data for it is refused, not summed.
  ASSERT_TRUE(peer.Write(Frame(1, FrameType::kData, kFlagRemoteClosed, one.SerializeAsString())));
  auto late = peer.Read();
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->header.stream_id, 1u);
  EXPECT_EQ(ParseResponse(*late).status().message(), "StreamID is no longer active");
  peer.Write(Frame(3, FrameType::kRequest, 0,
                   RequestBody("berth.testing.v1.Echo", "Echo", EchoPayload("after"))));
  auto good = peer.Read();
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(good->header.stream_id, 3u);
  EXPECT_FALSE(ParseResponse(*good).has_status());
}

TEST_F(ServerTest, StreamIdRulesAreEnforced) {
  RawPeer peer(socket_);
  std::string body = RequestBody("berth.testing.v1.Echo", "Echo", EchoPayload("x"));
  peer.Write(Frame(2, FrameType::kRequest, 0, body));  // even
  auto even = peer.Read();
  ASSERT_TRUE(even.has_value());
  EXPECT_EQ(ParseResponse(*even).status().code(), static_cast<int>(Code::kInvalidArgument));
  peer.Write(Frame(5, FrameType::kRequest, 0, body));
  ASSERT_TRUE(peer.Read().has_value());
  peer.Write(Frame(3, FrameType::kRequest, 0, body));  // goes backwards
  auto reused = peer.Read();
  ASSERT_TRUE(reused.has_value());
  EXPECT_EQ(ParseResponse(*reused).status().message(),
            "StreamID cannot be re-used and must increment");
  peer.Write(Frame(99, FrameType::kData, 0, "x"));  // data for a stream that does not exist
  auto unknown = peer.Read();
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(ParseResponse(*unknown).status().message(), "StreamID is no longer active");
}

TEST_F(ServerTest, BrokenFramingClosesTheConnection) {
  RawPeer peer(socket_);
  peer.Write(std::string("\x41\x41\x41\x41\x00\x00\x00\x01\x01\x00", 10));  // reserved byte set
  EXPECT_FALSE(peer.Read().has_value());
  EXPECT_TRUE(peer.eof());
  RawPeer other(socket_);
  other.Write(Frame(1, FrameType::kRequest, 0,
                    RequestBody("berth.testing.v1.Echo", "Echo", EchoPayload("ok"))));
  EXPECT_TRUE(other.Read().has_value()) << "the server keeps serving other connections";
}

TEST_F(ServerTest, UnknownFrameTypeClosesTheConnection) {
  RawPeer peer(socket_);
  peer.Write(Frame(1, static_cast<FrameType>(9), 0, "x"));
  EXPECT_FALSE(peer.Read().has_value());
  EXPECT_TRUE(peer.eof());
}

TEST_F(ServerTest, TruncatedFrameThenHangUpLeavesServerServing) {
  {
    RawPeer peer(socket_);
    std::string frame = Frame(1, FrameType::kRequest, 0,
                              RequestBody("berth.testing.v1.Echo", "Echo", EchoPayload("x")));
    peer.Write(frame.substr(0, frame.size() - 3));
  }
  RawPeer other(socket_);
  other.Write(Frame(1, FrameType::kRequest, 0,
                    RequestBody("berth.testing.v1.Echo", "Echo", EchoPayload("ok"))));
  EXPECT_TRUE(other.Read().has_value());
}

TEST_F(ServerTest, ThousandConcurrentRequestsCompleteOutOfOrder) {
  RawPeer peer(socket_);
  std::string burst;
  constexpr int kCalls = 1000;
  for (int i = 0; i < kCalls; ++i) {
    ::berth::testing::v1::SleepRequest sleep;
    sleep.set_delay_ms(static_cast<uint32_t>((kCalls - i) % 50));  // later requests finish first
    sleep.set_tag(std::to_string(i));
    AppendFrame(burst, static_cast<uint32_t>(2 * i + 1), FrameType::kRequest, 0,
                RequestBody("berth.testing.v1.Echo", "Sleep", sleep.SerializeAsString()));
  }
  ASSERT_TRUE(peer.Write(burst));
  std::set<uint32_t> seen;
  std::vector<uint32_t> order;
  for (int i = 0; i < kCalls; ++i) {
    auto frame = peer.Read();
    ASSERT_TRUE(frame.has_value()) << "after " << i << " answers";
    auto response = ParseResponse(*frame);
    ::berth::testing::v1::EchoResponse echo;
    ASSERT_TRUE(echo.ParseFromString(response.payload()));
    EXPECT_EQ(echo.tag(), std::to_string((frame->header.stream_id - 1) / 2));
    seen.insert(frame->header.stream_id);
    order.push_back(frame->header.stream_id);
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kCalls));
  EXPECT_FALSE(std::is_sorted(order.begin(), order.end())) << "answers must not be serialized";
}

TEST_F(ServerTest, DeadlineExpiresAHeldCall) {
  RawPeer peer(socket_);
  ::berth::testing::v1::SleepRequest sleep;
  sleep.set_delay_ms(5000);
  peer.Write(
      Frame(1, FrameType::kRequest, 0,
            RequestBody("berth.testing.v1.Echo", "Sleep", sleep.SerializeAsString(), 50'000'000)));
  auto frame = peer.Read(std::chrono::seconds(2));
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(ParseResponse(*frame).status().code(), static_cast<int>(Code::kDeadlineExceeded));
  EXPECT_EQ(server_.echo().cancelled.load(), 1);
}

TEST_F(ServerTest, PeerWithAnotherUidIsRejected) {
  // The socket's directory is private; open it so that the other uid can reach the socket at
  // all, and let the credential check be what refuses it.
  ASSERT_EQ(::chmod((dir_.path() + "/sock").c_str(), 0755), 0);
  ASSERT_EQ(::chmod(socket_.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  pid_t child = ::fork();
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(10);
    RawPeer peer(socket_);
    if (!peer.connected()) _exit(11);
    peer.Write(Frame(1, FrameType::kRequest, 0,
                     RequestBody("berth.testing.v1.Echo", "Echo", EchoPayload("x"))));
    auto frame = peer.Read(std::chrono::seconds(2));
    _exit(frame.has_value() ? 12 : (peer.eof() ? 0 : 13));
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10/11: setup failed, 12: served, 13: not closed";
}

// Abstract names (a leading NUL) live outside the filesystem, where no directory mode guards
// them: neither side accepts one, and nothing is bound.
TEST(UnixSocketTest, AbstractSocketNamesAreRefused) {
  const std::string abstract("\0berth-abstract-test", 20);
  auto listened = ListenUnix(abstract);
  ASSERT_FALSE(listened.ok());
  EXPECT_EQ(listened.status().code(), Code::kInvalidArgument);
  EXPECT_NE(listened.status().message().find("abstract"), std::string::npos)
      << listened.status().ToString();
  auto connected = ConnectUnix(abstract);
  ASSERT_FALSE(connected.ok());
  EXPECT_EQ(connected.status().code(), Code::kInvalidArgument);
  EventLoop loop;
  Server server(loop);
  EXPECT_EQ(server.Listen(abstract).code(), Code::kInvalidArgument);
  EXPECT_EQ(ListenUnix("").status().code(), Code::kInvalidArgument);
  // /proc/net/unix shows abstract names with a leading '@'.
  std::ifstream table("/proc/net/unix");
  std::string all((std::istreambuf_iterator<char>(table)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.find("@berth-abstract-test"), std::string::npos);
}

}  // namespace
}  // namespace berth::ipc
