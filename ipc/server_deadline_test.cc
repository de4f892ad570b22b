// Deadlines that clients send in timeout_nano, as a handler sees them.
#include <gtest/gtest.h>

#include <future>
#include <limits>

#include "ipc/server.h"
#include "ipc/testing/test_util.h"
#include "ttrpc/request.pb.h"

namespace berth::ipc {
namespace {

using Clock = std::chrono::steady_clock;

// A server with one method that reports the call's deadline, on its own loop thread.
class DeadlineServer {
 public:
  explicit DeadlineServer(const std::string& path) {
    loop_.StartThread();
    std::promise<Status> listening;
    loop_.Post([&] {
      server_ = std::make_unique<Server>(loop_);
      server_->Register("test.Deadline", "Get", [this](std::shared_ptr<ServerCall> call) {
        seen_.set_value(call->deadline());
        call->Finish(Status::Ok());
      });
      listening.set_value(server_->Listen(path));
    });
    status_ = listening.get_future().get();
  }
  ~DeadlineServer() {
    std::promise<void> closed;
    loop_.Post([&] {
      server_.reset();
      closed.set_value();
    });
    closed.get_future().wait();
  }
  const Status& status() const { return status_; }
  std::future<std::optional<Clock::time_point>> seen() { return seen_.get_future(); }

 private:
  EventLoop loop_;
  std::unique_ptr<Server> server_;
  std::promise<std::optional<Clock::time_point>> seen_;
  Status status_;
};

std::optional<Clock::time_point> DeadlineFor(int64_t timeout_nano) {
  testing::TempDir dir;
  std::string path = dir.path() + "/d.sock";
  DeadlineServer server(path);
  EXPECT_TRUE(server.status().ok()) << server.status().ToString();
  auto seen = server.seen();
  ::ttrpc::Request request;
  request.set_service("test.Deadline");
  request.set_method("Get");
  request.set_timeout_nano(timeout_nano);
  std::string frame;
  AppendFrame(frame, 1, FrameType::kRequest, 0, request.SerializeAsString());
  testing::RawPeer peer(path);
  EXPECT_TRUE(peer.Write(frame));
  auto answer = peer.Read();
  EXPECT_TRUE(answer.has_value());
  EXPECT_EQ(seen.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  return seen.get();
}

TEST(ServerDeadlineTest, TimeoutBecomesADeadlineThatFar) {
  auto before = Clock::now();
  auto deadline = DeadlineFor(int64_t{60} * 1'000'000'000);
  ASSERT_TRUE(deadline.has_value());
  EXPECT_GE(*deadline, before + std::chrono::seconds(60));
  EXPECT_LE(*deadline, Clock::now() + std::chrono::seconds(60));
}

TEST(ServerDeadlineTest, HugeTimeoutDoesNotWrapIntoThePast) {
  // INT64_MAX ns added to the clock used to overflow (undefined behaviour; in practice a
  // deadline long gone, so handlers saw every such call as already expired).
  auto deadline = DeadlineFor(std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(deadline.has_value());
  EXPECT_GT(*deadline, Clock::now() + std::chrono::hours(24 * 365 * 50));
}

TEST(ServerDeadlineTest, NoTimeoutMeansNoDeadline) { EXPECT_FALSE(DeadlineFor(0).has_value()); }

}  // namespace
}  // namespace berth::ipc
