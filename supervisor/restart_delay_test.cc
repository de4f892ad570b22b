// The restart backoff berthd applies to a crash-looping service: doubling from the initial
// delay, capped, and safe for any number of crashes.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "supervisor/managed_service.h"

namespace berth::supervisor {
namespace {

using std::chrono::milliseconds;

TEST(RestartDelayTest, DoublesFromTheInitialDelayUntilTheCap) {
  RestartPolicy policy;
  policy.backoff_initial = milliseconds(100);
  policy.backoff_max = milliseconds(1000);
  std::vector<int64_t> delays;
  for (uint32_t failures = 0; failures < 7; failures++) {
    delays.push_back(RestartDelay(policy, failures).count());
  }
  EXPECT_EQ(delays, (std::vector<int64_t>{100, 200, 400, 800, 1000, 1000, 1000}));
}

TEST(RestartDelayTest, TheProductDefaultsReachTenSecondsAfterEightCrashes) {
  RestartPolicy policy;  // 100 ms doubling, capped at 10 s
  EXPECT_EQ(RestartDelay(policy, 0), milliseconds(100));
  EXPECT_EQ(RestartDelay(policy, 6), milliseconds(6400));
  EXPECT_EQ(RestartDelay(policy, 7), milliseconds(10000));
  EXPECT_EQ(RestartDelay(policy, 8), milliseconds(10000));
}

TEST(RestartDelayTest, AnEndlessCrashLoopStaysAtTheCapWithoutOverflow) {
  RestartPolicy policy;
  policy.backoff_initial = milliseconds(10000);
  policy.backoff_max = milliseconds(60000);
  for (uint32_t failures : {20u, 21u, 63u, 64u, 1000u, 0xffffffffu}) {
    EXPECT_EQ(RestartDelay(policy, failures), milliseconds(60000)) << failures;
  }
}

TEST(RestartDelayTest, AnInitialDelayAboveTheCapIsCapped) {
  RestartPolicy policy;
  policy.backoff_initial = milliseconds(5000);
  policy.backoff_max = milliseconds(2000);
  EXPECT_EQ(RestartDelay(policy, 0), milliseconds(2000));
}

}  // namespace
}  // namespace berth::supervisor
