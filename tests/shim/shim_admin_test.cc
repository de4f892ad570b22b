// berth-shim over ttrpc with real runc: pause/resume, update, stats, pids, runtime selection,
// OOM events, the `start`/`delete` subcommands and socket hygiene.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/fs.h"
#include "containerd/cgroups/stats/v1/metrics.pb.h"
#include "containerd/runc/options/oci.pb.h"
#include "containerd/runtimeoptions/v1/api.pb.h"
#include "tests/shim/shim_harness.h"

namespace berth::shim::testing {
namespace {

namespace task = containerd::task::v2;
namespace types = containerd::v1::types;

types::Status StatusOf(DirectShim& shim) {
  task::StateRequest state;
  state.set_id(shim.id());
  auto response = shim.task().State(state, shim.opts());
  return response.ok() ? response->status() : types::UNKNOWN;
}

TEST(ShimAdmin, PauseResumeUpdateStatsPids) {
  auto shim = DirectShim::Start({"sleep", "1000"});
  ASSERT_TRUE(shim);
  pid_t pid = shim->CreateAndStart();
  ASSERT_GT(pid, 0);
  auto& t = shim->task();
  task::PauseRequest pause;
  pause.set_id(shim->id());
  ASSERT_TRUE(t.Pause(pause, shim->opts()).ok());
  EXPECT_EQ(StatusOf(*shim), types::PAUSED);
  task::ResumeRequest resume;
  resume.set_id(shim->id());
  ASSERT_TRUE(t.Resume(resume, shim->opts()).ok());
  EXPECT_EQ(StatusOf(*shim), types::RUNNING);
  ASSERT_TRUE(shim->recorder().WaitForTopic("/tasks/resumed"));
  auto topics = shim->recorder().topics();
  EXPECT_EQ(std::vector<std::string>(topics.begin() + 2, topics.end()),
            (std::vector<std::string>{"/tasks/paused", "/tasks/resumed"}));

  task::UpdateTaskRequest update;
  update.set_id(shim->id());
  update.mutable_resources()->set_type_url(
      "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources");
  update.mutable_resources()->set_value(R"({"pids":{"limit":77}})");
  auto updated = t.Update(update, shim->opts());
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();

  task::StatsRequest stats;
  stats.set_id(shim->id());
  auto got = t.Stats(stats, shim->opts());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->stats().type_url(), "io.containerd.cgroups.v1.Metrics");  // this host: v1
  io::containerd::cgroups::v1::Metrics metrics;
  ASSERT_TRUE(metrics.ParseFromString(got->stats().value()));
  EXPECT_EQ(metrics.pids().limit(), 77u);
  EXPECT_EQ(metrics.pids().current(), 1u);
  EXPECT_GT(metrics.memory().usage().usage(), 0u);
  EXPECT_GT(metrics.cpu().usage().total(), 0u);

  auto exec = shim->ExecRequest("bg", {"sleep", "1000"});
  ASSERT_TRUE(t.Exec(exec, shim->opts()).ok());
  task::StartRequest start;
  start.set_id(shim->id());
  start.set_exec_id("bg");
  auto exec_pid = t.Start(start, shim->opts());
  ASSERT_TRUE(exec_pid.ok());
  task::PidsRequest pids;
  pids.set_id(shim->id());
  auto listed = t.Pids(pids, shim->opts());
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  bool saw_init = false, saw_exec = false;
  for (const auto& p : listed->processes()) {
    if (static_cast<pid_t>(p.pid()) == pid) saw_init = !p.has_info();
    if (p.pid() == exec_pid->pid()) {
      containerd::runc::v1::ProcessDetails details;
      EXPECT_EQ(p.info().type_url(), "containerd.runc.v1.ProcessDetails");
      saw_exec = details.ParseFromString(p.info().value()) && details.exec_id() == "bg";
    }
  }
  EXPECT_TRUE(saw_init);
  EXPECT_TRUE(saw_exec);
}

// The runtime is chosen by runtime options: a config file naming the binary (how ctr passes
// --runtime-config-path, and how crun is selected).
TEST(ShimAdmin, RuntimeConfigFileSelectsTheBinary) {
  auto shim = DirectShim::Start({"sleep", "1000"});
  ASSERT_TRUE(shim);
  std::string wrapper = shim->dir() + "/my-runtime";
  std::string calls = shim->dir() + "/calls.log";
  ASSERT_TRUE(
      WriteFileAtomic(wrapper, "#!/bin/sh\necho \"$@\" >>" + calls + "\nexec runc \"$@\"\n", 0755)
          .ok());
  std::string config = shim->dir() + "/runtime.toml";
  ASSERT_TRUE(WriteFileAtomic(config, "# berth-shim runtime\nBinaryName = \"" + wrapper +
                                          "\"\nRoot = \"" + shim->runc_root() + "\"\n")
                  .ok());
  auto request = shim->CreateRequest();
  runtimeoptions::v1::Options options;
  options.set_config_path(config);
  request.mutable_options()->set_type_url("runtimeoptions.v1.Options");
  options.SerializeToString(request.mutable_options()->mutable_value());
  ASSERT_TRUE(shim->task().Create(request, shim->opts()).ok());
  task::StartRequest start;
  start.set_id(shim->id());
  ASSERT_TRUE(shim->task().Start(start, shim->opts()).ok());
  std::string log = ReadText(calls);
  EXPECT_NE(log.find("--root " + shim->runc_root() + " --log " + shim->bundle() +
                     "/log.json --log-format json create --bundle " + shim->bundle()),
            std::string::npos)
      << log;
  EXPECT_NE(log.find(" start " + shim->id()), std::string::npos) << log;

  // Kill with `all` reaches the runtime as `kill --all` (signal every process of the container).
  task::KillRequest kill;
  kill.set_id(shim->id());
  kill.set_signal(SIGKILL);
  kill.set_all(true);
  ASSERT_TRUE(shim->task().Kill(kill, shim->opts()).ok());
  EXPECT_EQ(shim->FinishInit(), 128 + SIGKILL);
  log = ReadText(calls);
  EXPECT_NE(log.find(" kill --all " + shim->id() + " 9\n"), std::string::npos) << log;
}

TEST(ShimAdmin, OomKillIsPublished) {
  auto shim = DirectShim::Start({"dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"}, false,
                                [](nlohmann::json& spec) {
                                  spec["linux"]["resources"]["memory"]["limit"] = 8 << 20;
                                  spec["linux"]["resources"]["memory"]["swap"] = 8 << 20;
                                });
  ASSERT_TRUE(shim);
  ASSERT_GT(shim->CreateAndStart(), 0);
  task::WaitRequest wait;
  wait.set_id(shim->id());
  auto waited = shim->task().Wait(wait, shim->opts());
  ASSERT_TRUE(waited.ok());
  EXPECT_EQ(waited->exit_status(), 128u + SIGKILL);
  EXPECT_TRUE(shim->recorder().WaitForTopic("/tasks/oom"));
}

// A second `start` for the same container prints the running shim's address. It reads what the
// caller writes on stdin (containerd's runtime options) but does not wait for an end that never
// comes.
TEST(ShimAdmin, StartTwiceGivesTheSameAddress) {
  auto shim = DirectShim::Start({"sleep", "1000"});
  ASSERT_TRUE(shim);
  int in[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  UniqueFd stdin_read(in[0]), stdin_write(in[1]);
  ASSERT_TRUE(WriteAll(stdin_write.get(), "options", "stdin").ok());  // and never closed
  UniqueFd out(::open(shim->dir().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  SpawnOptions again;
  again.argv = shim->ShimArgs();
  again.argv.push_back("start");
  again.cwd = shim->bundle();
  again.stdin_fd = stdin_read.get();
  again.stdout_fd = out.get();
  auto child = ChildProcess::Spawn(again);
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  std::optional<ExitStatus> exited;
  EXPECT_TRUE(Eventually([&] {
    auto status = child->TryWait();
    if (status.ok() && status->has_value()) exited = **status;
    return exited.has_value();
  })) << "start did not return while its stdin stayed open";
  EXPECT_TRUE(exited && exited->success());
  ::lseek(out.get(), 0, SEEK_SET);
  auto printed = ReadAll(out.get(), "start output");
  ASSERT_TRUE(printed.ok()) << printed.status().ToString();
  EXPECT_EQ(*printed, "unix://" + shim->socket());
  task::ConnectRequest connect;
  auto connected = shim->task().Connect(connect, shim->opts());
  ASSERT_TRUE(connected.ok());
  EXPECT_EQ(static_cast<pid_t>(connected->shim_pid()), shim->shim_pid());
  EXPECT_EQ(ReadText(shim->bundle() + "/address"), "unix://" + shim->socket());
  // Detached: its own session (after its first second), stdio not the caller's.
  EXPECT_TRUE(Eventually([&] { return ::getsid(shim->shim_pid()) == shim->shim_pid(); }))
      << "sid " << ::getsid(shim->shim_pid());
  EXPECT_EQ(RunCmd({"readlink", "/proc/" + std::to_string(shim->shim_pid()) + "/fd/0"}).output,
            "/dev/null\n");
  EXPECT_EQ(RunCmd({"readlink", "/proc/" + std::to_string(shim->shim_pid()) + "/fd/1"}).output,
            "/dev/null\n");
}

// The shim dies: `delete` cleans up alone and reports the exit status it recorded, or 137 when
// it had to kill the container; running it twice is fine.
TEST(ShimAdmin, DeleteSubcommandAfterTheShimDied) {
  for (bool exited_first : {true, false}) {
    auto shim = DirectShim::Start({"sh", "-c", exited_first ? "exit 42" : "sleep 1000"});
    ASSERT_TRUE(shim);
    pid_t pid = shim->CreateAndStart();
    ASSERT_GT(pid, 0);
    if (exited_first) {
      task::WaitRequest wait;
      wait.set_id(shim->id());
      ASSERT_TRUE(shim->task().Wait(wait, shim->opts()).ok());
    }
    ASSERT_EQ(::kill(shim->shim_pid(), SIGKILL), 0);
    ASSERT_TRUE(Eventually([&] { return !ProcessAlive(shim->shim_pid()); }));
    auto argv = shim->ShimArgs();
    argv.insert(argv.end(), {"-bundle", shim->bundle(), "delete"});
    for (int round = 0; round < 2; ++round) {
      auto deleted = RunCmd(argv, {}, shim->bundle());
      ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
      task::DeleteResponse response;
      ASSERT_TRUE(response.ParseFromString(deleted.output)) << deleted.output;
      EXPECT_EQ(static_cast<pid_t>(response.pid()), pid);
      EXPECT_EQ(response.exit_status(), exited_first ? 42u : 137u);
    }
    EXPECT_FALSE(ProcessAlive(pid));
    EXPECT_NE(RunCmd({"runc", "--root", shim->runc_root(), "state", shim->id()}).exit_code, 0);
    EXPECT_NE(RunCmd({"mountpoint", "-q", shim->bundle() + "/rootfs"}).exit_code, 0);
    EXPECT_NE(::access(shim->socket().c_str(), F_OK), 0);  // the stale socket is gone
  }
}

// The socket lives in a 0700 directory, and even a peer that gets to it must be the shim's own
// user and group (SO_PEERCRED): another uid or gid is disconnected without an answer.
TEST(ShimAdmin, SocketIsPrivateAndPeersAreChecked) {
  auto shim = DirectShim::Start({"sleep", "1000"});
  ASSERT_TRUE(shim);
  std::string dir = shim->socket().substr(0, shim->socket().rfind('/'));
  struct stat st;
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // A raw ttrpc Connect (stream 1, namespace "default"), as containerd sends it.
  std::string probe = R"(
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
body = bytes.fromhex("0a17") + b"containerd.task.v2.Task" + bytes.fromhex("1207") + b"Connect" \
  + bytes.fromhex("1a02") + bytes.fromhex("0a00") + bytes.fromhex("2a25") \
  + bytes.fromhex("0a1a") + b"containerd-namespace-ttrpc" + bytes.fromhex("1207") + b"default"
try:
  s.sendall(len(body).to_bytes(4, "big") + (1).to_bytes(4, "big") + bytes([1, 0]) + body)
  head = s.recv(10)
except OSError:
  head = b""
print("reply" if len(head) == 10 and head[8] == 2 else "closed")
)";
  ASSERT_TRUE(WriteFileAtomic(shim->dir() + "/probe.py", probe).ok());
  auto as_root = RunCmd({"/usr/bin/python3", shim->dir() + "/probe.py", shim->socket()});
  EXPECT_EQ(as_root.output, "reply\n");
  ASSERT_EQ(::chmod(shim->dir().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(shim->socket().c_str(), 0777), 0);
  ::chmod((shim->dir() + "/probe.py").c_str(), 0644);
  auto as_nobody = RunCmd({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           "/usr/bin/python3", shim->dir() + "/probe.py", shim->socket()});
  EXPECT_EQ(as_nobody.output, "closed\n");
  // The same user with another group is refused too (containerd checks euid and egid).
  auto other_group = RunCmd({"setpriv", "--regid=65534", "--clear-groups", "/usr/bin/python3",
                             shim->dir() + "/probe.py", shim->socket()});
  EXPECT_EQ(other_group.output, "closed\n");
  EXPECT_EQ(RunCmd({"/usr/bin/python3", shim->dir() + "/probe.py", shim->socket()}).output,
            "reply\n");
  EXPECT_TRUE(ProcessAlive(shim->shim_pid()));
}

}  // namespace
}  // namespace berth::shim::testing
