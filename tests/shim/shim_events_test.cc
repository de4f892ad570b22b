// berth-shim's events with real runc: kept and retried while the exchange is away, and the same
// containerd Forward calls accepted by berthd's events exchange.
#include <signal.h>

#include <gtest/gtest.h>

#include <sstream>

#include "tests/shim/shim_harness.h"

namespace berth::shim::testing {
namespace {

namespace task = containerd::task::v2;
namespace events = containerd::events;

// containerd goes away after the start: the exit and the delete that happen meanwhile reach
// it once it is back, in order.
TEST(ShimEvents, KeptAndRetriedWhileTheExchangeIsAway) {
  auto shim = DirectShim::Start({"sleep", "1000"});
  ASSERT_TRUE(shim);
  ASSERT_GT(shim->CreateAndStart(), 0);
  ASSERT_TRUE(shim->recorder().WaitForTopic("/tasks/start"));
  shim->StopRecorder();

  ASSERT_EQ(shim->FinishInit(SIGKILL), 128 + SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // a few failed attempts

  shim->RestartRecorder();
  ASSERT_TRUE(shim->recorder().WaitForTopic("/tasks/delete", 1, std::chrono::seconds(15)));
  auto recorded = shim->recorder().events();
  ASSERT_EQ(shim->recorder().topics(), (std::vector<std::string>{"/tasks/exit", "/tasks/delete"}));
  events::TaskExit exit;
  ASSERT_TRUE(exit.ParseFromString(recorded[0].value));
  EXPECT_EQ(exit.container_id(), shim->id());
  EXPECT_EQ(exit.exit_status(), 128u + SIGKILL);
}

// The shim's TTRPC_ADDRESS may name berthd instead of containerd: the same Forward calls land
// in berthd's event log, in containerd's order, decodable as containerd's task events.
TEST(ShimEvents, BerthdTakesTheSameForwardCalls) {
  auto dir = TempDir::Create("b");
  ASSERT_TRUE(dir.ok());
  auto berthd = BerthdProcess::Start(dir->path());
  ASSERT_TRUE(berthd.ok()) << berthd.status().ToString();
  auto shim = DirectShim::Start({"sh", "-c", "exit 3"}, false, {}, (*berthd)->socket());
  ASSERT_TRUE(shim);
  ASSERT_GT(shim->CreateAndStart(), 0);
  EXPECT_EQ(shim->FinishInit(), 3);

  auto lines = (*berthd)->EventLines(shim->ns(), 4);
  ASSERT_EQ(lines.size(), 4u);
  std::vector<std::string> topics;
  for (const auto& line : lines) {
    std::istringstream fields(line);
    std::string seq, time, ns, topic;
    fields >> seq >> time >> ns >> topic;
    EXPECT_EQ(ns, shim->ns()) << line;
    EXPECT_NE(line.find("\"" + shim->id() + "\""), std::string::npos) << line;
    topics.push_back(topic);
  }
  EXPECT_EQ(topics, (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit",
                                              "/tasks/delete"}));
  EXPECT_NE(lines[2].find("\"exit_status\":3"), std::string::npos) << lines[2];
}

}  // namespace
}  // namespace berth::shim::testing
