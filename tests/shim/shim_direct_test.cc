// berth-shim driven over ttrpc without containerd (real runc): the task API's semantics, error
// codes, event order, the reaper, stdio and the `delete` subcommand.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <future>
#include <sstream>

#include "common/fs.h"
#include "tests/shim/shim_harness.h"

namespace berth::shim::testing {
namespace {

namespace task = containerd::task::v2;
namespace events = containerd::events;
namespace types = containerd::v1::types;

template <typename Msg>
Msg Decode(const EventRecorder::Event& event) {
  Msg msg;
  EXPECT_TRUE(msg.ParseFromString(event.value)) << event.topic;
  return msg;
}

std::vector<std::string> TopicsFor(const EventRecorder& recorder, const std::string& id) {
  std::vector<std::string> topics;
  for (const auto& e : recorder.events()) {
    if (e.topic == "/tasks/exit" && Decode<events::TaskExit>(e).id() != id) continue;
    if (e.topic == "/tasks/exec-added" && Decode<events::TaskExecAdded>(e).exec_id() != id)
      continue;
    if (e.topic == "/tasks/exec-started" && Decode<events::TaskExecStarted>(e).exec_id() != id) {
      continue;
    }
    topics.push_back(e.topic);
  }
  return topics;
}

task::WaitRequest WaitFor(const DirectShim& shim, const std::string& exec_id = "") {
  task::WaitRequest request;
  request.set_id(shim.id());
  request.set_exec_id(exec_id);
  return request;
}

TEST(ShimDirect, LifecycleEventsAndExitStatus) {
  auto shim = DirectShim::Start({"sh", "-c", "exit 3"});
  ASSERT_TRUE(shim);
  auto created = shim->task().Create(shim->CreateRequest(), shim->opts());
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_GT(created->pid(), 0u);
  task::StateRequest state;
  state.set_id(shim->id());
  EXPECT_EQ(shim->task().State(state, shim->opts())->status(), types::CREATED);

  task::StartRequest start;
  start.set_id(shim->id());
  ASSERT_TRUE(shim->task().Start(start, shim->opts()).ok());
  auto waited = shim->task().Wait(WaitFor(*shim), shim->opts());
  ASSERT_TRUE(waited.ok()) << waited.status().ToString();
  EXPECT_EQ(waited->exit_status(), 3u);
  EXPECT_GT(waited->exited_at().seconds(), 0);
  auto after = shim->task().State(state, shim->opts());
  EXPECT_EQ(after->status(), types::STOPPED);
  EXPECT_EQ(after->exit_status(), 3u);

  task::KillRequest kill;
  kill.set_id(shim->id());
  kill.set_signal(SIGKILL);
  EXPECT_EQ(shim->task().Kill(kill, shim->opts()).status().code(), Code::kNotFound);

  task::DeleteRequest del;
  del.set_id(shim->id());
  auto deleted = shim->task().Delete(del, shim->opts());
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted->exit_status(), 3u);
  EXPECT_EQ(deleted->pid(), created->pid());
  EXPECT_EQ(shim->task().Delete(del, shim->opts()).status().code(), Code::kNotFound);
  // The rootfs bind mount is gone.
  EXPECT_FALSE(RunCmd({"mountpoint", "-q", shim->bundle() + "/rootfs"}).exit_code == 0);

  ASSERT_TRUE(shim->recorder().WaitForTopic("/tasks/delete"));
  EXPECT_EQ(shim->recorder().topics(), (std::vector<std::string>{"/tasks/create", "/tasks/start",
                                                                 "/tasks/exit", "/tasks/delete"}));
  auto recorded = shim->recorder().events();
  EXPECT_EQ(recorded[0].type_url, "containerd.events.TaskCreate");
  EXPECT_EQ(recorded[0].ns, shim->ns());
  auto exit = Decode<events::TaskExit>(recorded[2]);
  EXPECT_EQ(recorded[2].type_url, "containerd.events.TaskExit");
  EXPECT_EQ(exit.container_id(), shim->id());
  EXPECT_EQ(exit.id(), shim->id());
  EXPECT_EQ(exit.pid(), created->pid());
  EXPECT_EQ(exit.exit_status(), 3u);
  EXPECT_EQ(Decode<events::TaskDelete>(recorded[3]).exit_status(), 3u);

  // Shutdown with nothing left: the shim exits and removes its socket.
  task::ShutdownRequest shutdown;
  shutdown.set_id(shim->id());
  (void)shim->task().Shutdown(shutdown, shim->opts());
  EXPECT_TRUE(Eventually([&] { return !ProcessAlive(shim->shim_pid()); }));
  EXPECT_NE(::access(shim->socket().c_str(), F_OK), 0);
}

TEST(ShimDirect, WaitDoesNotBlockKillAndSignalsGive128Plus) {
  auto shim = DirectShim::Start({"sleep", "1000"});
  ASSERT_TRUE(shim);
  ASSERT_GT(shim->CreateAndStart(), 0);
  // Shutdown is a no-op while the container exists.
  task::ShutdownRequest shutdown;
  shutdown.set_id(shim->id());
  ASSERT_TRUE(shim->task().Shutdown(shutdown, shim->opts()).ok());
  auto wait = std::async(std::launch::async,
                         [&] { return shim->task().Wait(WaitFor(*shim), shim->opts()); });
  EXPECT_EQ(wait.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  task::KillRequest kill;
  kill.set_id(shim->id());
  kill.set_signal(SIGKILL);
  kill.set_all(true);  // runc kill --all
  auto killed = shim->task().Kill(kill, shim->opts());
  ASSERT_TRUE(killed.ok()) << killed.status().ToString();
  auto waited = wait.get();
  ASSERT_TRUE(waited.ok()) << waited.status().ToString();
  EXPECT_EQ(waited->exit_status(), 128u + SIGKILL);
  EXPECT_TRUE(ProcessAlive(shim->shim_pid()));
}

TEST(ShimDirect, ErrorCodes) {
  auto shim = DirectShim::Start({"sleep", "1000"});
  ASSERT_TRUE(shim);
  task::StateRequest state;
  state.set_id(shim->id());
  EXPECT_EQ(shim->task().State(state, shim->opts()).status().code(), Code::kNotFound);
  ASSERT_GT(shim->CreateAndStart(), 0);
  auto& t = shim->task();
  auto o = [&] { return shim->opts(); };
  task::StartRequest start;
  start.set_id(shim->id());
  EXPECT_EQ(t.Start(start, o()).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(t.Create(shim->CreateRequest(), o()).status().code(), Code::kAlreadyExists);
  task::DeleteRequest del;
  del.set_id(shim->id());
  EXPECT_EQ(t.Delete(del, o()).status().code(), Code::kFailedPrecondition);
  task::StateRequest wrong;
  wrong.set_id("not-" + shim->id());
  EXPECT_EQ(t.State(wrong, o()).status().code(), Code::kNotFound);
  task::StateRequest no_exec;
  no_exec.set_id(shim->id());
  no_exec.set_exec_id("nope");
  EXPECT_EQ(t.State(no_exec, o()).status().code(), Code::kNotFound);
  auto exec = shim->ExecRequest("e1", {"sleep", "1000"});
  ASSERT_TRUE(t.Exec(exec, o()).ok());
  EXPECT_EQ(t.Exec(exec, o()).status().code(), Code::kAlreadyExists);
  task::KillRequest kill_unstarted;
  kill_unstarted.set_id(shim->id());
  kill_unstarted.set_exec_id("e1");
  kill_unstarted.set_signal(SIGKILL);
  EXPECT_EQ(t.Kill(kill_unstarted, o()).status().code(), Code::kFailedPrecondition);
  auto bad = shim->ExecRequest("../x", {"true"});
  EXPECT_EQ(t.Exec(bad, o()).status().code(), Code::kInvalidArgument);
  task::CheckpointTaskRequest checkpoint;
  checkpoint.set_id(shim->id());
  EXPECT_EQ(t.Checkpoint(checkpoint, o()).status().code(), Code::kUnimplemented);
  task::ResumeRequest resume;
  resume.set_id(shim->id());
  EXPECT_EQ(t.Resume(resume, o()).status().code(), Code::kFailedPrecondition);
}

TEST(ShimDirect, RuntimeErrorIsSurfaced) {
  auto shim = DirectShim::Start({"/no/such/binary"});
  ASSERT_TRUE(shim);
  auto created = shim->task().Create(shim->CreateRequest(), shim->opts());
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), Code::kUnknown);
  // runc ran with --log <bundle>/log.json --log-format json; its last error is the message.
  std::string log = ReadText(shim->bundle() + "/log.json");
  std::string last_error;
  for (size_t pos = 0; pos < log.size();) {
    size_t end = std::min(log.find('\n', pos), log.size());
    auto line = nlohmann::json::parse(log.substr(pos, end - pos), nullptr, false);
    if (line.is_object() && line.value("level", "") == "error") last_error = line.value("msg", "");
    pos = end + 1;
  }
  ASSERT_NE(last_error.find("/no/such/binary"), std::string::npos) << log;
  EXPECT_EQ(created.status().message(), "OCI runtime create failed: " + last_error);
  // Nothing stays mounted and the shim can still be shut down.
  EXPECT_NE(RunCmd({"mountpoint", "-q", shim->bundle() + "/rootfs"}).exit_code, 0);
}

TEST(ShimDirect, ExecEventsPrecedeTheirExitAndInitExitComesLast) {
  auto shim = DirectShim::Start({"sleep", "1000"});
  ASSERT_TRUE(shim);
  pid_t pid = shim->CreateAndStart();
  ASSERT_GT(pid, 0);
  // Instant exits: the exit may be reaped before runc exec returns.
  for (int i = 0; i < 10; ++i) {
    std::string exec_id = "quick" + std::to_string(i);
    EXPECT_EQ(shim->RunExec(exec_id, {"sh", "-c", "exit " + std::to_string(i)}), i);
    ASSERT_TRUE(shim->recorder().WaitForTopic("/tasks/exit", static_cast<size_t>(i) + 1));
    EXPECT_EQ(TopicsFor(shim->recorder(), exec_id),
              (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exec-added",
                                        "/tasks/exec-started", "/tasks/exit"}));
  }
  // A running exec when the init dies: the exec's exit is published before the init's.
  auto exec = shim->ExecRequest("long", {"sleep", "1000"});
  ASSERT_TRUE(shim->task().Exec(exec, shim->opts()).ok());
  task::StartRequest start;
  start.set_id(shim->id());
  start.set_exec_id("long");
  auto started = shim->task().Start(start, shim->opts());
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  task::KillRequest kill;
  kill.set_id(shim->id());
  kill.set_signal(SIGKILL);
  ASSERT_TRUE(shim->task().Kill(kill, shim->opts()).ok());
  ASSERT_TRUE(shim->task().Wait(WaitFor(*shim), shim->opts()).ok());
  ASSERT_TRUE(shim->recorder().WaitForTopic("/tasks/exit", 12));
  std::vector<std::string> exits;
  for (const auto& e : shim->recorder().events()) {
    if (e.topic == "/tasks/exit") exits.push_back(Decode<events::TaskExit>(e).id());
  }
  ASSERT_GE(exits.size(), 2u);
  EXPECT_EQ(exits[exits.size() - 2], "long");
  EXPECT_EQ(exits.back(), shim->id());
  auto long_wait = shim->task().Wait(WaitFor(*shim, "long"), shim->opts());
  EXPECT_EQ(long_wait->exit_status(), 128u + SIGKILL);
}

// Without a pid namespace of its own (here: the host's), the container's other processes do not
// die with its init by themselves: the shim ends them before it reports the exit.
TEST(ShimDirect, SharedPidNamespaceEndsWithItsInit) {
  auto shim =
      DirectShim::Start({"sh", "-c", "sleep 1000 & exit 7"}, false, [](nlohmann::json& spec) {
        auto& namespaces = spec["linux"]["namespaces"];
        for (auto it = namespaces.begin(); it != namespaces.end(); ++it) {
          if ((*it)["type"] == "pid") {
            namespaces.erase(it);
            break;
          }
        }
      });
  ASSERT_TRUE(shim);
  ASSERT_GT(shim->CreateAndStart(), 0);
  auto waited = shim->task().Wait(WaitFor(*shim), shim->opts());
  ASSERT_TRUE(waited.ok()) << waited.status().ToString();
  EXPECT_EQ(waited->exit_status(), 7u);
  std::string procs = "/sys/fs/cgroup/pids/" + shim->id() + "/cgroup.procs";
  std::string left;
  EXPECT_TRUE(Eventually([&] { return (left = ReadText(procs)).empty(); }, std::chrono::seconds(5)))
      << "still in the container's cgroup: " << left;
  task::DeleteRequest del;
  del.set_id(shim->id());
  EXPECT_TRUE(shim->task().Delete(del, shim->opts()).ok());
}

// The O_CLOEXEC flag of fd `fd` of process `pid` (from /proc/PID/fdinfo "flags:", octal).
bool IsCloexec(pid_t pid, const std::string& fd) {
  std::string info = ReadText("/proc/" + std::to_string(pid) + "/fdinfo/" + fd);
  size_t pos = info.find("flags:");
  if (pos == std::string::npos) return false;
  return (std::strtoul(info.c_str() + pos + 6, nullptr, 8) & O_CLOEXEC) != 0;
}

// Hygiene: the container's init holds only 0, 1, 2 (nothing of the shim or runc leaked into it)
// and is the shim's child (subreaper); every descriptor of the shim itself beyond stdio is
// O_CLOEXEC, so no runtime child can inherit one.
TEST(ShimDirect, ContainerInitHoldsOnlyStdio) {
  auto shim = DirectShim::Start({"sleep", "1000"});
  ASSERT_TRUE(shim);
  pid_t pid = shim->CreateAndStart();
  ASSERT_GT(pid, 0);
  std::string status = ReadText("/proc/" + std::to_string(pid) + "/status");
  EXPECT_NE(status.find("\nPPid:\t" + std::to_string(shim->shim_pid()) + "\n"), std::string::npos)
      << status;
  std::string shim_fds = RunCmd({"ls", "/proc/" + std::to_string(shim->shim_pid()) + "/fd"}).output;
  std::istringstream listed(shim_fds);
  int checked = 0;
  for (std::string fd; listed >> fd;) {
    if (fd == "0" || fd == "1" || fd == "2") continue;
    EXPECT_TRUE(IsCloexec(shim->shim_pid(), fd)) << "shim fd " << fd << " lacks O_CLOEXEC";
    ++checked;
  }
  EXPECT_GE(checked, 4) << shim_fds;  // at least: socket, signalfd, epoll, a connection
  // Right after start the runtime's init may not have exec'd yet (its own fds close then).
  std::string fds;
  EXPECT_TRUE(Eventually([&] {
    fds = RunCmd({"ls", "/proc/" + std::to_string(pid) + "/fd"}).output;
    return fds == "0\n1\n2\n";
  })) << fds;
  std::string out = shim->dir() + "/exec.out";
  EXPECT_EQ(shim->RunExec("fds", {"ls", "/proc/1/fd"}, "file://" + out), 0);
  EXPECT_EQ(ReadText(out), "0\n1\n2\n");
}

}  // namespace
}  // namespace berth::shim::testing

namespace berth::shim::testing {
namespace {

// 500 execs of `true` straight over ttrpc (4 at a time): every one reports status 0 and its
// TaskExit, and the shim's memory (VmRSS, RssAnon) and descriptors stay flat after the first 100.
// (ContainerdShim.ExecStormThroughCtr runs the 1000 through containerd.)
TEST(ShimDirect, ExecStormKeepsMemoryFlat) {
  constexpr int kWarm = 100, kTotal = 500, kWorkers = 4;
  auto shim = DirectShim::Start({"sleep", "1000"});
  ASSERT_TRUE(shim);
  ASSERT_GT(shim->CreateAndStart(), 0);
  auto storm = [&](int first, int end) {
    std::vector<std::future<int>> workers;
    for (int w = 0; w < kWorkers; ++w) {
      workers.push_back(std::async(std::launch::async, [&, w] {
        int failures = 0;
        for (int i = first + w; i < end; i += kWorkers) {
          failures += shim->RunExec("storm" + std::to_string(i), {"true"}) != 0;
        }
        return failures;
      }));
    }
    int failures = 0;
    for (auto& f : workers) failures += f.get();
    return failures;
  };
  pid_t pid = shim->shim_pid();
  auto begin = std::chrono::steady_clock::now();
  ASSERT_EQ(storm(0, kWarm), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // the shim trims after a burst
  long warm_anon = RssAnonKiB(pid), warm_rss = RssKiB(pid);
  int warm_fds = FdCount(pid);
  ASSERT_EQ(storm(kWarm, kTotal), 0);
  auto elapsed = std::chrono::steady_clock::now() - begin;
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  long anon = RssAnonKiB(pid), rss = RssKiB(pid);
  std::printf("%d execs in %.1f s; shim RssAnon %ld -> %ld KiB, VmRSS %ld -> %ld KiB\n", kTotal,
              std::chrono::duration<double>(elapsed).count(), warm_anon, anon, warm_rss, rss);
  EXPECT_LE(anon, warm_anon + 32) << "RssAnon grew from " << warm_anon << " to " << anon;
  EXPECT_LE(rss, warm_rss + 64) << "VmRSS grew from " << warm_rss << " to " << rss;
  EXPECT_EQ(FdCount(pid), warm_fds);
  ASSERT_TRUE(shim->recorder().WaitForTopic("/tasks/exit", kTotal, std::chrono::seconds(30)));
}

}  // namespace
}  // namespace berth::shim::testing
