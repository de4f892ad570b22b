// EventLoop timers: pooled slots must keep the one-shot/cancel semantics of separate timers.
#include "ipc/event_loop.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace berth::ipc {
namespace {

// Runs the loop until `done` or 2 s passed.
void RunUntil(EventLoop& loop, const bool& done) {
  bool timed_out = false;
  EventLoop::TimerId guard = loop.After(2000, [&timed_out] { timed_out = true; });
  while (!done && !timed_out) uv_run(loop.uv(), UV_RUN_ONCE);
  loop.Cancel(guard);
}

TEST(EventLoopTimerTest, FiresOnceAndCancelledTimersNever) {
  EventLoop loop;
  std::vector<int> fired;
  bool done = false;
  EventLoop::TimerId cancelled = loop.After(1, [&] { fired.push_back(1); });
  loop.After(2, [&] { fired.push_back(2); });
  loop.After(20, [&] {
    fired.push_back(3);
    done = true;
  });
  loop.Cancel(cancelled);
  loop.Cancel(0);  // no timer has id 0
  RunUntil(loop, done);
  EXPECT_EQ(fired, (std::vector<int>{2, 3}));
}

TEST(EventLoopTimerTest, StaleIdDoesNotCancelTheSlotsNextTimer) {
  EventLoop loop;
  bool first = false, second = false, done = false;
  EventLoop::TimerId old_id = loop.After(0, [&] { first = true; });
  RunUntil(loop, first);
  ASSERT_TRUE(first);
  // The slot of the fired timer is reused; its old id must not reach the new timer.
  EventLoop::TimerId new_id = loop.After(1, [&] {
    second = true;
    done = true;
  });
  EXPECT_NE(new_id, old_id);
  loop.Cancel(old_id);
  RunUntil(loop, done);
  EXPECT_TRUE(second);
}

TEST(EventLoopTimerTest, CallbackMayArmAndCancelTimers) {
  EventLoop loop;
  int chain = 0;
  bool done = false;
  std::function<void()> step = [&] {
    if (++chain == 5) {
      done = true;
      return;
    }
    EventLoop::TimerId doomed = loop.After(0, [&] { chain = 100; });
    loop.Cancel(doomed);
    loop.After(0, step);
  };
  loop.After(0, step);
  RunUntil(loop, done);
  EXPECT_EQ(chain, 5);
}

TEST(EventLoopTimerTest, CancelAndDestructionReleaseCaptures) {
  auto owned = std::make_shared<int>(7);
  std::weak_ptr<int> watch = owned;
  {
    EventLoop loop;
    EventLoop::TimerId id = loop.After(100000, [owned] {});
    loop.After(100000, [kept = owned] {});
    owned.reset();
    loop.Cancel(id);
    EXPECT_FALSE(watch.expired());  // the second timer still holds it
  }
  EXPECT_TRUE(watch.expired());  // the loop's destructor freed the armed timer
}

}  // namespace
}  // namespace berth::ipc
