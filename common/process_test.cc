#include "common/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "common/fs.h"
#include "common/temp_dir.h"

namespace berth {
namespace {

using std::chrono::milliseconds;

// Lists the fds the shell has open, as seen in /proc from inside the child.
constexpr char kListFds[] =
    R"(for f in /proc/$$/fd/*; do [ -e "$f" ] && echo "${f##*/}"; done; true)";

ChildProcess SpawnOrDie(SpawnOptions options) {
  auto child = ChildProcess::Spawn(options);
  EXPECT_TRUE(child.ok()) << child.status().ToString();
  return std::move(child).value();
}

// The output, or the error text (so a failure shows up in the comparison, never as UB).
std::string Out(const Result<std::string>& r) { return r.ok() ? *r : r.status().ToString(); }

bool Alive(pid_t pid) { return ::kill(pid, 0) == 0; }

TEST(ChildProcessTest, WaitReportsExitCodeAndSignal) {
  auto child = SpawnOrDie({.argv = {"sh", "-c", "exit 3"}});
  auto status = child.Wait();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(*status, (ExitStatus{3, 0}));
  EXPECT_EQ(status->ToString(), "exit code 3");
  EXPECT_EQ(*child.Wait(), (ExitStatus{3, 0}));  // cached
  EXPECT_EQ(child.Kill(SIGTERM).code(), Code::kNotFound);

  auto sleeper = SpawnOrDie({.argv = {"sleep", "100"}});
  auto running = sleeper.TryWait();
  ASSERT_TRUE(running.ok());
  EXPECT_FALSE(running->has_value());
  ASSERT_TRUE(sleeper.Kill(SIGTERM).ok());
  auto killed = sleeper.Wait();
  ASSERT_TRUE(killed.ok());
  EXPECT_EQ(killed->signal, SIGTERM);
  EXPECT_EQ(killed->ShellCode(), 128 + SIGTERM);
}

TEST(ChildProcessTest, DestructorKillsAndReaps) {
  pid_t pid;
  {
    auto child = SpawnOrDie({.argv = {"sleep", "100"}});
    pid = child.pid();
    ASSERT_TRUE(Alive(pid));
  }
  EXPECT_FALSE(Alive(pid));  // not even a zombie: reaped

  auto a = SpawnOrDie({.argv = {"sleep", "100"}});
  pid_t first = a.pid();
  a = SpawnOrDie({.argv = {"sleep", "100"}});  // move-assign kills and reaps the old child
  EXPECT_FALSE(Alive(first));
  EXPECT_TRUE(Alive(a.pid()));
}

TEST(ChildProcessTest, ReleaseLeavesChildRunning) {
  pid_t pid;
  {
    auto child = SpawnOrDie({.argv = {"sleep", "100"}});
    pid = child.Release();
    EXPECT_EQ(child.pid(), -1);
  }
  ASSERT_TRUE(Alive(pid));
  ::kill(pid, SIGKILL);
  int status;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
}

TEST(ChildProcessTest, ChildGetsExactlyTheRequestedFds) {
  int leaked = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
  ASSERT_GE(leaked, 0);
  int a[2], b[2];
  ASSERT_EQ(::pipe2(a, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(b, O_CLOEXEC), 0);
  UniqueFd a_read(a[0]), a_write(a[1]), b_read(b[0]), b_write(b[1]), leak(leaked);

  SpawnOptions options;
  options.argv = {"sh", "-c", std::string(kListFds) + "; echo to-b >&3; echo to-a >&4"};
  options.extra_fds = {b_write.get(), a_write.get()};  // swapped order on purpose
  auto out = RunCapture(options, "", milliseconds(10000));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "0\n1\n2\n3\n4\n");
  a_write.reset();
  b_write.reset();
  EXPECT_EQ(*ReadAll(a_read.get(), "pipe a"), "to-a\n");
  EXPECT_EQ(*ReadAll(b_read.get(), "pipe b"), "to-b\n");
}

TEST(ChildProcessTest, StdioDevNullAndInherit) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  auto child = SpawnOrDie({.argv = {"sh", "-c", "readlink /proc/self/fd/0; cat; echo done"},
                           .stdin_fd = SpawnOptions::kDevNull,
                           .stdout_fd = w.get()});
  w.reset();
  EXPECT_EQ(*ReadAll(r.get(), "pipe"), "/dev/null\ndone\n");
  EXPECT_TRUE(child.Wait()->success());
}

TEST(ChildProcessTest, EnvCwdAndSession) {
  SpawnOptions options{.argv = {"sh", "-c", "echo \"$FOO\"; pwd"}, .env = {{"FOO=bar"}}};
  options.cwd = "/";
  EXPECT_EQ(Out(RunCapture(options, "", milliseconds(10000))), "bar\n/\n");

  const char* leader = R"(read pid comm state ppid pgrp sid rest < /proc/$$/stat;
                          [ "$sid" = "$$" ] && echo yes || echo no)";
  EXPECT_EQ(Out(RunCapture({"sh", "-c", leader})), "no\n");
  SpawnOptions session{.argv = {"sh", "-c", leader}, .new_session = true};
  EXPECT_EQ(Out(RunCapture(session, "", milliseconds(10000))), "yes\n");
  // RunCapture's own process group: the shell leads it (pgrp == pid).
  EXPECT_EQ(Out(RunCapture(
                {"sh", "-c", R"(read p c s pp pgrp rest < /proc/$$/stat; echo $((pgrp - $$)))"})),
            "0\n");
}

TEST(ChildProcessTest, ChildStartsWithDefaultSignals) {
  sigset_t usr, old;
  sigemptyset(&usr);
  sigaddset(&usr, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &usr, &old);
  auto old_handler = ::signal(SIGTERM, SIG_IGN);
  auto child = SpawnOrDie({.argv = {"sleep", "100"}});
  ::signal(SIGTERM, old_handler);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ASSERT_TRUE(child.Kill(SIGTERM).ok());
  EXPECT_EQ(child.Wait()->signal, SIGTERM);
}

TEST(ChildProcessTest, ParentDeathSignalFollowsTheSpawningThread) {
  std::optional<ChildProcess> child;
  std::thread([&] {
    child.emplace(SpawnOrDie({.argv = {"sleep", "100"}, .parent_death_signal = SIGKILL}));
  }).join();
  auto status = child->Wait();  // the thread is gone, so the child got SIGKILL
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->signal, SIGKILL);
}

TEST(ChildProcessTest, SpawnErrorsNameTheStep) {
  auto missing = ChildProcess::Spawn({.argv = {"/nonexistent/prog"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("exec /nonexistent/prog"), std::string::npos)
      << missing.status().message();
  auto not_in_path = ChildProcess::Spawn({.argv = {"no-such-program-berth"}});
  EXPECT_EQ(not_in_path.status().code(), Code::kNotFound);
  auto bad_cwd = ChildProcess::Spawn({.argv = {"true"}, .cwd = "/nonexistent"});
  ASSERT_FALSE(bad_cwd.ok());
  EXPECT_NE(bad_cwd.status().message().find("chdir /nonexistent"), std::string::npos);
  EXPECT_EQ(ChildProcess::Spawn({}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ChildProcess::Spawn({.argv = {"true"}, .extra_fds = {-1}}).status().code(),
            Code::kInvalidArgument);
  ChildProcess empty;
  EXPECT_EQ(empty.Wait().status().code(), Code::kFailedPrecondition);
}

TEST(RunCaptureTest, CapturesStdoutAndFeedsStdin) {
  EXPECT_EQ(Out(RunCapture({"echo", "hello"})), "hello\n");
  std::string big(1 << 20, 'z');  // larger than a pipe buffer both ways
  auto echoed = RunCapture({"cat"}, big);
  ASSERT_TRUE(echoed.ok()) << echoed.status().ToString();
  EXPECT_EQ(*echoed, big);
  auto ignores_stdin = RunCapture({"true"}, big);
  EXPECT_TRUE(ignores_stdin.ok()) << ignores_stdin.status().ToString();
}

TEST(RunCaptureTest, FailureCarriesExitCodeAndStderr) {
  auto r = RunCapture({"sh", "-c", "echo partial; echo oops >&2; exit 3"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnknown);
  EXPECT_NE(r.status().message().find("exit code 3: oops"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("sh -c"), std::string::npos);
}

TEST(RunCaptureTest, TimeoutKillsTheChild) {
  auto start = std::chrono::steady_clock::now();
  auto r = RunCapture({"sleep", "30"}, "", milliseconds(200));
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded);
  EXPECT_LT(elapsed, std::chrono::seconds(10));
  // A child that closed its stdout but keeps running still times out, and the helper it started
  // dies with it (dash forks for `sleep`; the whole process group is killed).
  auto dir = TempDir::Create("process-test");
  ASSERT_TRUE(dir.ok());
  std::string script = "echo $$ > " + dir->Join("pid") + "; exec >&- 2>&-; sleep 30; true";
  auto quiet = RunCapture({"sh", "-c", script}, "", milliseconds(300));
  EXPECT_EQ(quiet.status().code(), Code::kDeadlineExceeded);
  pid_t group = std::stoi(ReadFile(dir->Join("pid")).value());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (::kill(-group, 0) == 0 && std::chrono::steady_clock::now() < deadline) {
    ::usleep(10000);  // killed helpers are zombies until init reaps them
  }
  EXPECT_NE(::kill(-group, 0), 0) << "processes of group " << group << " survived";
}

}  // namespace
}  // namespace berth
