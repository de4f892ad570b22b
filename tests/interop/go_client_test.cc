// ttrpc-go as the client, Berth as the server: the Go peer (containerd's ttrpc 1.1 and its
// generated Events client) calls berth-interop-events-server.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "common/process.h"
#include "common/temp_dir.h"
#include "tests/interop/interop_util.h"

namespace berth::interop {
namespace {

using namespace std::chrono_literals;

class GoClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("b");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    dir_ = std::move(dir).value();
    socket_ = dir_->Join("events.sock");
    auto peer = GoPeer();
    ASSERT_TRUE(peer.ok()) << peer.status().ToString();
    peer_ = *peer;
    auto server_binary = EventsServer();
    ASSERT_TRUE(server_binary.ok()) << server_binary.status().ToString();
    auto server =
        BackgroundProcess::Start({*server_binary, "--socket", socket_}, dir_->path(), "server");
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_.emplace(std::move(server).value());
    Status ready = server_->WaitForOutput("ready\n", 10s);
    ASSERT_TRUE(ready.ok()) << ready.ToString();
  }

  // Runs the Go peer with `args` after the subcommand; returns stdout, or the failure (its
  // message carries the peer's stderr).
  Result<std::string> Peer(const std::string& command, std::vector<std::string> args) {
    std::vector<std::string> argv = {peer_, command, "--socket", socket_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCapture(argv, {}, 30s);
  }

  // The server's event lines.
  std::vector<std::string> Forwarded() {
    std::vector<std::string> lines;
    std::istringstream in(server_->Stdout());
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("forward ")) lines.push_back(line);
    }
    return lines;
  }

  std::optional<TempDir> dir_;
  std::string socket_;
  std::string peer_;
  std::optional<BackgroundProcess> server_;
};

TEST_F(GoClientTest, ForwardReachesTheBerthServer) {
  auto out = Peer("forward",
                  {"--topic", "/tasks/oom", "--namespace", "interop-ns", "--payload-bytes", "12"});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  auto lines = Forwarded();
  ASSERT_EQ(lines.size(), 1u) << server_->Stdout();
  // TaskOOM{container_id: 12 bytes} = 1 tag byte + 1 length byte + 12.
  EXPECT_EQ(lines[0],
            "forward namespace=interop-ns metadata_namespace=interop-ns topic=/tasks/oom "
            "type_url=containerd.events.TaskOOM event_bytes=14");
  auto stopped = server_->Stop();
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_TRUE(stopped->success()) << stopped->ToString() << "\n" << server_->Stderr();
}

TEST_F(GoClientTest, InvalidTopicIsRejectedWithInvalidArgument) {
  auto out = Peer("forward", {"--topic", "no-slash", "--namespace", "default"});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("code=InvalidArgument"), std::string::npos)
      << out.status().message();
  EXPECT_NE(out.status().message().find("must start with '/'"), std::string::npos)
      << out.status().message();
  EXPECT_TRUE(Forwarded().empty());
}

// Parses "case code=X ..." lines of `ttrpc-peer raw`.
std::map<std::string, std::string> CaseCodes(const std::string& out) {
  std::map<std::string, std::string> codes;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    auto space = line.find(' ');
    auto code = line.find("code=");
    if (space == std::string::npos || code == std::string::npos) continue;
    auto end = line.find(' ', code);
    codes[line.substr(0, space)] =
        line.substr(code + 5, end == std::string::npos ? std::string::npos : end - code - 5);
  }
  return codes;
}

TEST_F(GoClientTest, MalformedRequestsGetErrorCodesAndTheServerKeepsServing) {
  // Every case is answered and a valid call on the same connection works afterwards, or the
  // peer exits non-zero.
  auto out = Peer("raw", {"--case", "all"});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::map<std::string, std::string> expected = {
      {"bad-envelope", "InvalidArgument"},   // undecodable ttrpc Request
      {"bad-payload", "InvalidArgument"},    // undecodable ForwardRequest
      {"empty-payload", "InvalidArgument"},  // Forward without an envelope
      {"even-stream", "InvalidArgument"},    // client stream ids must be odd
      {"oversize", "ResourceExhausted"},     // body over 4 MiB
      {"unknown-method", "Unimplemented"},  {"unknown-service", "Unimplemented"},
      {"zero-length", "Unimplemented"},  // empty Request: no service named
  };
  EXPECT_EQ(CaseCodes(*out), expected) << *out;

  // ttrpc 1.2 semantics, which Berth follows: a Data frame for no open stream is answered.
  auto stray = Peer("raw", {"--case", "data-unknown-stream"});
  ASSERT_TRUE(stray.ok()) << stray.status().ToString();
  EXPECT_EQ(CaseCodes(*stray)["data-unknown-stream"], "InvalidArgument") << *stray;

  // The server is still up and serving new connections.
  ASSERT_TRUE(server_->Running()) << server_->Stderr();
  auto after = Peer("forward", {"--topic", "/after/raw", "--namespace", "default"});
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  auto lines = Forwarded();
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.back().find("topic=/after/raw"), std::string::npos) << lines.back();
}

}  // namespace
}  // namespace berth::interop
