// The reaper and RunCommand on a real loop with real children.
#include "shim/reaper.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>

#include "common/process.h"
#include "ipc/event_loop.h"
#include "shim/command.h"

namespace berth::shim {
namespace {

pid_t Spawn(std::vector<std::string> argv) {
  SpawnOptions options;
  options.argv = std::move(argv);
  options.stdin_fd = options.stdout_fd = options.stderr_fd = SpawnOptions::kDevNull;
  auto child = ChildProcess::Spawn(options);
  EXPECT_TRUE(child.ok());
  return child->Release();
}

TEST(ShimReaper, HandsEachExitToItsWatcherAndKeepsUnclaimedOnes) {
  ipc::EventLoop loop;
  auto reaper = Reaper::Create(loop.uv());
  ASSERT_TRUE(reaper.ok()) << reaper.status().ToString();
  auto started = Reaper::Clock::now();
  pid_t quick = Spawn({"/bin/sh", "-c", "exit 3"});
  pid_t killed = Spawn({"/bin/sleep", "100"});
  pid_t late = Spawn({"/bin/sh", "-c", "exit 7"});
  std::vector<std::pair<pid_t, uint32_t>> seen;
  auto record = [&](pid_t pid) {
    return [&seen, pid](int status) { seen.emplace_back(pid, ExitCodeFromWaitStatus(status)); };
  };
  (*reaper)->Watch(quick, record(quick), started);
  (*reaper)->Watch(killed, record(killed), started);
  ::kill(killed, SIGKILL);
  // `late` exits while nobody watches it: its status is kept for a later Watch.
  loop.After(500, [&] {
    auto status = (*reaper)->Watch(
        late, [](int) { ADD_FAILURE() << "already reaped"; }, started);
    EXPECT_TRUE(status);
    if (status) seen.emplace_back(late, ExitCodeFromWaitStatus(*status));
    loop.Stop();
  });
  loop.Run();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2], std::make_pair(late, 7u));
  std::sort(seen.begin(), seen.end() - 1);
  EXPECT_EQ(seen[quick < killed ? 0 : 1], std::make_pair(quick, 3u));
  EXPECT_EQ(seen[quick < killed ? 1 : 0], std::make_pair(killed, 128u + SIGKILL));
  EXPECT_EQ((*reaper)->watched(), 0u);
  EXPECT_EQ((*reaper)->unclaimed(), 0u);
}

// An exit nobody claimed is kept, but only for a process started before it was reaped: a process
// started later with the same pid (pids are reused) must not get it.
TEST(ShimReaper, KeptExitIsNotHandedToALaterProcessWithTheSamePid) {
  ipc::EventLoop loop;
  auto reaper = Reaper::Create(loop.uv());
  ASSERT_TRUE(reaper.ok()) << reaper.status().ToString();
  auto before_orphan = Reaper::Clock::now();
  pid_t orphan = Spawn({"/bin/sh", "-c", "exit 9"});  // exits unwatched, like a stray orphan
  loop.After(300, [&] { loop.Stop(); });
  loop.Run();
  ASSERT_EQ((*reaper)->unclaimed(), 1u);
  // A process started now that got the same pid: the kept status is not its own.
  auto later = Reaper::Clock::now();
  bool called = false;
  EXPECT_FALSE((*reaper)->Watch(
      orphan, [&](int) { called = true; }, later));
  EXPECT_EQ((*reaper)->watched(), 1u);
  (*reaper)->Unwatch(orphan);
  EXPECT_FALSE(called);
  // The process that really exited can still claim it.
  auto status = (*reaper)->Watch(
      orphan, [](int) { ADD_FAILURE() << "already reaped"; }, before_orphan);
  ASSERT_TRUE(status);
  EXPECT_EQ(ExitCodeFromWaitStatus(*status), 9u);
  EXPECT_EQ((*reaper)->unclaimed(), 0u);
  EXPECT_EQ((*reaper)->watched(), 0u);
}

// Runs one command on a fresh loop and returns its result.
Result<CommandResult> RunOnLoop(CommandOptions options) {
  ipc::EventLoop loop;
  auto reaper = Reaper::Create(loop.uv());
  if (!reaper.ok()) return reaper.status();
  std::optional<Result<CommandResult>> result;
  RunCommand(loop.uv(), **reaper, std::move(options), [&](Result<CommandResult> r) {
    result = std::move(r);
    loop.Stop();
  });
  if (!result) {
    loop.After(10000, [&] { loop.Stop(); });
    loop.Run();
  }
  if (!result) return Status(Code::kDeadlineExceeded, "command did not finish");
  return std::move(*result);
}

TEST(ShimCommand, CapturesLargeOutputWithoutBlocking) {
  CommandOptions options;
  options.spawn.argv = {"/bin/sh", "-c", "head -c 300000 /dev/zero; echo tail >&2; exit 4"};
  options.capture = true;
  options.max_output = 200000;
  auto result = RunOnLoop(options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_FALSE(result->success());
  EXPECT_EQ(result->Describe(), "exit status 4");
  EXPECT_EQ(result->output.size(), 200000u);
}

TEST(ShimCommand, FeedsStdin) {
  CommandOptions cat;
  cat.spawn.argv = {"/bin/cat"};
  cat.capture = true;
  cat.stdin_data = "fed on stdin";
  auto result = RunOnLoop(cat);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->success());
  EXPECT_EQ(result->output, "fed on stdin");
}

TEST(ShimCommand, SpawnFailureIsReportedAtOnce) {
  CommandOptions missing;
  missing.spawn.argv = {"/no/such/program"};
  EXPECT_EQ(RunOnLoop(missing).status().code(), Code::kNotFound);
}

// The child sees exactly the fds it was given, in place, even when they collide with the
// targets (an fd numbered 1 given as extra fd 0, i.e. fd 3).
TEST(ShimCommand, ChildGetsExactlyTheRequestedFds) {
  CommandOptions options;
  options.spawn.argv = {"/bin/sh", "-c", "ls /proc/self/fd; readlink /proc/self/fd/3"};
  options.capture = true;
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  UniqueFd a(fds[0]), b(fds[1]);
  options.spawn.extra_fds = {a.get()};
  auto result = RunOnLoop(options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  // ls lists 0-3 plus its own directory fd.
  EXPECT_EQ(result->output.substr(0, 8), "0\n1\n2\n3\n") << result->output;
  EXPECT_NE(result->output.find("pipe:"), std::string::npos) << result->output;
  EXPECT_EQ(result->output.find("\n5\n"), std::string::npos) << result->output;
}

TEST(ShimCommand, RelativeProgramIsRefused) {
  CommandOptions options;
  options.spawn.argv = {"sh", "-c", "true"};
  EXPECT_EQ(RunOnLoop(options).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace berth::shim
