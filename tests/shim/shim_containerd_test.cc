// berth-shim under containerd 1.6 (Debian's), driven with ctr, on an image pulled from a local
// docker-registry: `ctr ... --runtime io.containerd.berth.v1` finds containerd-shim-berth-v1 on
// containerd's PATH (a symlink to the built berth-shim in a temp bin dir).
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fcntl.h>

#include <cstdlib>
#include <future>
#include <sstream>

#include "common/fs.h"
#include "common/process.h"
#include "tests/shim/shim_harness.h"

namespace berth::shim::testing {
namespace {

constexpr char kRuntime[] = "io.containerd.berth.v1";

class ContainerdShim : public ::testing::Test {
 protected:
  // Registry, image and containerd once per process; a failure here fails every test (SetUp),
  // it never skips them.
  static void SetUpTestSuite() { setup_error_ = new std::string(Prepare()); }
  void SetUp() override {
    if (!setup_error_->empty()) FAIL() << "fixture setup failed: " << *setup_error_;
  }

  static std::string Prepare() {
    auto dir = TempDir::Create("b");
    if (!dir.ok()) return dir.status().ToString();
    dir_ = new TempDir(std::move(dir).value());
    if (!MakeDirs(dir_->Join("bin")).ok() ||
        ::symlink(ShimBinary().c_str(), dir_->Join("bin/containerd-shim-berth-v1").c_str()) != 0) {
      return "cannot make " + dir_->Join("bin/containerd-shim-berth-v1");
    }
    std::string fixtures = SourceDir() + "/tests/fixtures";
    auto registry = RunCmd({fixtures + "/registry.sh", "start", dir_->Join("registry")});
    if (registry.exit_code != 0) return "registry.sh start: " + registry.output;
    registry_ = new std::string(Trim(registry.output));
    auto pushed = RunCmd({fixtures + "/images.sh", "build-push", *registry_}, {}, "",
                         std::chrono::seconds(120));
    if (pushed.exit_code != 0) return "images.sh build-push: " + pushed.output;
    if (std::string error = StartContainerd(); !error.empty()) return error;
    ns_ = new std::string("berth-shim-" + std::to_string(::getpid()));
    image_ = new std::string(*registry_ + "/berth/busybox:latest");
    auto pulled = Ctr({"images", "pull", "--plain-http", *image_});
    if (pulled.exit_code != 0) return "ctr images pull: " + pulled.output;
    return "";
  }

  static void TearDownTestSuite() {
    if (dir_ == nullptr) return;
    std::string fixtures = SourceDir() + "/tests/fixtures";
    RunCmd({fixtures + "/containerd.sh", "stop", dir_->Join("ctd")});
    RunCmd({fixtures + "/registry.sh", "stop", dir_->Join("registry")});
    if (ns_ != nullptr) {
      RemoveCgroup("/" + *ns_);
      ::rmdir(("/run/containerd/runc/" + *ns_).c_str());  // runc's root for the namespace
    }
    delete dir_;
    dir_ = nullptr;
  }

  static std::string Trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

  // containerd finds containerd-shim-berth-v1 through its PATH (bin/ first).
  static std::string StartContainerd() {
    const char* path = std::getenv("PATH");
    auto started =
        RunCmd({SourceDir() + "/tests/fixtures/containerd.sh", "start", dir_->Join("ctd")},
               {"PATH=" + dir_->Join("bin") + ":" + (path ? path : "/usr/bin:/bin")});
    if (started.exit_code != 0) return "containerd.sh start: " + started.output;
    sock_ = Trim(started.output);
    return "";
  }

  // ctr with our containerd and namespace; the FIFOs of `run` and `task exec` go to the temp
  // dir (ctr leaves them behind when containerd, not ctr, deletes a task).
  static CommandOutput Ctr(std::vector<std::string> args) {
    if (!args.empty() && args[0] == "run") {
      args.insert(args.begin() + 1, {"--fifo-dir", dir_->Join("fifo")});
    } else if (args.size() > 1 && args[0] == "task" && args[1] == "exec") {
      args.insert(args.begin() + 2, {"--fifo-dir", dir_->Join("fifo")});
    }
    args.insert(args.begin(), {"ctr", "--address", sock_, "-n", ns_ ? *ns_ : "default"});
    return RunCmd(args);
  }
  static std::string CtrLine() { return "ctr --address " + sock_ + " -n " + *ns_; }

  // `ctr task ls` status of `id`, or "" when it is not listed.
  static std::string TaskStatus(const std::string& id, pid_t* pid = nullptr) {
    auto ls = Ctr({"task", "ls"});
    size_t pos = ls.output.find("\n" + id + " ");
    if (pos == std::string::npos) return "";
    std::istringstream line(ls.output.substr(pos + 1, ls.output.find('\n', pos + 1) - pos - 1));
    std::string name, status;
    long task_pid = 0;
    line >> name >> task_pid >> status;
    if (pid) *pid = static_cast<pid_t>(task_pid);
    return status;
  }

  // The berth-shim daemon serving `id` for this containerd.
  static pid_t ShimPid(const std::string& id) {
    auto found = RunCmd({"pgrep", "-f", "--", "-id " + id + " -address " + sock_ + " "});
    return static_cast<pid_t>(std::atol(found.output.c_str()));
  }

  std::string Id(const std::string& name) { return name + "-" + std::to_string(::getpid()); }

  // `ctr events` running in the background, writing to `file` until destroyed.
  struct EventsWatch {
    explicit EventsWatch(const std::string& file) : path(file) {
      UniqueFd out(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      SpawnOptions options;
      options.argv = {"ctr", "--address", sock_, "events"};
      options.stdout_fd = out.get();
      options.stdin_fd = SpawnOptions::kDevNull;
      auto spawned = ChildProcess::Spawn(options);
      EXPECT_TRUE(spawned.ok()) << spawned.status().ToString();
      if (spawned.ok()) child = std::move(spawned).value();
      std::this_thread::sleep_for(std::chrono::milliseconds(300));  // subscribed
    }
    // The /tasks/* topics mentioning `id`, in order.
    std::vector<std::string> TaskTopics(const std::string& id) const {
      std::vector<std::string> topics;
      std::istringstream lines(ReadText(path));
      for (std::string line; std::getline(lines, line);) {
        size_t pos = line.find(" /tasks/");
        if (pos == std::string::npos || line.find('"' + id + '"') == std::string::npos) continue;
        topics.push_back(line.substr(pos + 1, line.find(' ', pos + 1) - pos - 1));
      }
      return topics;
    }
    std::string path;
    ChildProcess child;  // killed and reaped on destruction
  };

  static std::string* setup_error_;
  static TempDir* dir_;
  static std::string* registry_;
  static std::string* ns_;
  static std::string* image_;
  static std::string sock_;
};

std::string* ContainerdShim::setup_error_ = nullptr;
TempDir* ContainerdShim::dir_ = nullptr;
std::string* ContainerdShim::registry_ = nullptr;
std::string* ContainerdShim::ns_ = nullptr;
std::string* ContainerdShim::image_ = nullptr;
std::string ContainerdShim::sock_;

TEST_F(ContainerdShim, RunPropagatesExitStatus) {
  auto ok = Ctr({"run", "--rm", "--runtime", kRuntime, *image_, Id("ok"), "sh", "-c", "echo fine"});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_EQ(ok.output, "fine\n");
  auto three = Ctr({"run", "--rm", "--runtime", kRuntime, *image_, Id("three"), "sh", "-c",
                    "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(three.exit_code, 3) << three.output;
  EXPECT_NE(three.output.find("out\n"), std::string::npos);
  EXPECT_NE(three.output.find("err\n"), std::string::npos);
}

TEST_F(ContainerdShim, TerminalRun) {
  auto run = RunCmd({"script", "-qec",
                     CtrLine() + " run --rm -t --fifo-dir " + dir_->Join("fifo") + " --runtime " +
                         kRuntime + " " + *image_ + " " + Id("tty") + " sh -c 'tty; exit 5'",
                     "/dev/null"});
  EXPECT_EQ(run.exit_code, 5) << run.output;
  EXPECT_NE(run.output.find("/dev/pts/0"), std::string::npos) << run.output;
}

TEST_F(ContainerdShim, DetachedExecKillPauseResumePsMetrics) {
  std::string id = Id("det");
  EventsWatch events(dir_->Join("det-events.txt"));
  auto run = Ctr({"run", "-d", "--runtime", kRuntime, *image_, id, "sleep", "100000"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  pid_t pid = 0;
  EXPECT_EQ(TaskStatus(id, &pid), "RUNNING");
  auto exec = Ctr({"task", "exec", "--exec-id", "e1", id, "sh", "-c", "echo from-exec; exit 4"});
  EXPECT_EQ(exec.exit_code, 4) << exec.output;
  EXPECT_EQ(exec.output, "from-exec\n");
  auto ps = Ctr({"task", "ps", id});
  EXPECT_NE(ps.output.find(std::to_string(pid)), std::string::npos) << ps.output;
  auto metrics = Ctr({"task", "metrics", id});
  EXPECT_EQ(metrics.exit_code, 0) << metrics.output;
  for (const char* row : {"memory.usage_in_bytes", "cpuacct.usage", "pids.current"}) {
    EXPECT_NE(metrics.output.find(row), std::string::npos) << metrics.output;
  }
  ASSERT_EQ(Ctr({"task", "pause", id}).exit_code, 0);
  EXPECT_EQ(TaskStatus(id), "PAUSED");
  ASSERT_EQ(Ctr({"task", "resume", id}).exit_code, 0);
  EXPECT_EQ(TaskStatus(id), "RUNNING");
  ASSERT_EQ(Ctr({"task", "kill", "-s", "KILL", id}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return TaskStatus(id) == "STOPPED"; }));
  auto deleted = Ctr({"task", "delete", id});
  EXPECT_NE(deleted.output.find("exit code 137"), std::string::npos) << deleted.output;
  EXPECT_EQ(Ctr({"containers", "rm", id}).exit_code, 0);
  // The shim's events reached containerd, in containerd's order.
  std::vector<std::string> expected{"/tasks/create",       "/tasks/start", "/tasks/exec-added",
                                    "/tasks/exec-started", "/tasks/exit",  "/tasks/paused",
                                    "/tasks/resumed",      "/tasks/exit",  "/tasks/delete"};
  EXPECT_TRUE(Eventually([&] { return events.TaskTopics(id).size() >= expected.size(); }));
  EXPECT_EQ(events.TaskTopics(id), expected);
}

TEST_F(ContainerdShim, InitHoldsOnlyStdioAndLogUriWorks) {
  std::string id = Id("fds");
  std::string log = dir_->Join("logs/" + id + ".log");
  auto run = Ctr({"run", "-d", "--log-uri", "file://" + log, "--runtime", kRuntime, *image_, id,
                  "sh", "-c", "echo to-log; exec sleep 100000"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  pid_t pid = 0;
  ASSERT_EQ(TaskStatus(id, &pid), "RUNNING");
  std::string fds;  // once the runtime's init exec'd the command
  EXPECT_TRUE(Eventually([&] {
    fds = RunCmd({"ls", "/proc/" + std::to_string(pid) + "/fd"}).output;
    return fds == "0\n1\n2\n";
  })) << fds;
  auto inside = Ctr({"task", "exec", "--exec-id", "fds", id, "ls", "/proc/1/fd"});
  EXPECT_EQ(inside.output, "0\n1\n2\n");
  EXPECT_TRUE(Eventually([&] { return ReadText(log) == "to-log\n"; })) << ReadText(log);
  EXPECT_EQ(Ctr({"task", "kill", "-s", "KILL", id}).exit_code, 0);
}

TEST_F(ContainerdShim, SurvivesContainerdRestart) {
  std::string id = Id("restart");
  ASSERT_EQ(Ctr({"run", "-d", "--runtime", kRuntime, *image_, id, "sleep", "100000"}).exit_code, 0);
  pid_t shim = ShimPid(id);
  ASSERT_GT(shim, 0);
  pid_t containerd = static_cast<pid_t>(std::atol(ReadText(dir_->Join("ctd/pid")).c_str()));
  ASSERT_GT(containerd, 0);
  ASSERT_EQ(::kill(containerd, SIGTERM), 0);
  ASSERT_TRUE(Eventually([&] { return !ProcessAlive(containerd); }));
  EXPECT_TRUE(ProcessAlive(shim));
  ASSERT_EQ(StartContainerd(), "");
  EXPECT_EQ(TaskStatus(id), "RUNNING");
  EXPECT_EQ(ShimPid(id), shim);
  ASSERT_EQ(Ctr({"task", "kill", "-s", "KILL", id}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return TaskStatus(id) == "STOPPED"; }));
  auto deleted = Ctr({"task", "delete", id});
  EXPECT_NE(deleted.output.find("exit code 137"), std::string::npos) << deleted.output;
}

TEST_F(ContainerdShim, KilledShimIsReportedAndCleanedUp) {
  std::string id = Id("dead");
  ASSERT_EQ(Ctr({"run", "-d", "--runtime", kRuntime, *image_, id, "sleep", "100000"}).exit_code, 0);
  pid_t pid = 0;
  ASSERT_EQ(TaskStatus(id, &pid), "RUNNING");
  pid_t shim = ShimPid(id);
  ASSERT_GT(shim, 0);
  EventsWatch events(dir_->Join("dead-events.txt"));
  ASSERT_EQ(::kill(shim, SIGKILL), 0);
  EXPECT_TRUE(Eventually([&] { return TaskStatus(id).empty(); })) << TaskStatus(id);
  EXPECT_TRUE(Eventually([&] { return !ProcessAlive(pid); }));
  EXPECT_TRUE(Eventually([&] {
    std::string text = ReadText(events.path);
    return text.find("/tasks/delete") != std::string::npos;
  }));
  std::string text = ReadText(events.path);
  EXPECT_NE(text.find("\"exit_status\":137"), std::string::npos) << text;
  auto mounts = ReadText("/proc/self/mountinfo");
  EXPECT_EQ(mounts.find("/" + id + "/rootfs"), std::string::npos);
  EXPECT_EQ(Ctr({"containers", "rm", id}).exit_code, 0);
}

// The exec storm: 1000 `ctr task exec` of `true` (4 at a time), each with status 0, and
// the shim's memory (VmRSS and its private part, RssAnon) and descriptors flat afterwards.
TEST_F(ContainerdShim, ExecStormThroughCtr) {
  std::string id = Id("storm");
  ASSERT_EQ(Ctr({"run", "-d", "--runtime", kRuntime, *image_, id, "sleep", "100000"}).exit_code, 0);
  pid_t shim = ShimPid(id);
  ASSERT_GT(shim, 0);
  constexpr int kWorkers = 4;
  auto storm = [&](int from, int to) {
    std::vector<std::future<std::string>> workers;
    for (int w = 0; w < kWorkers; ++w) {
      workers.push_back(std::async(std::launch::async, [&, w] {
        for (int i = from + w; i < to; i += kWorkers) {
          auto exec = Ctr({"task", "exec", "--exec-id", "x" + std::to_string(i), id, "true"});
          if (exec.exit_code != 0) return "exec " + std::to_string(i) + ": " + exec.output;
        }
        return std::string();
      }));
    }
    std::string failures;
    for (auto& w : workers) failures += w.get();
    return failures;
  };
  auto begin = std::chrono::steady_clock::now();
  ASSERT_EQ(storm(0, 100), "");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // the shim trims after a burst
  long warm_rss = RssKiB(shim), warm_anon = RssAnonKiB(shim);
  int warm_fds = FdCount(shim);
  ASSERT_EQ(storm(100, 1000), "");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  long rss = RssKiB(shim), anon = RssAnonKiB(shim);
  std::printf(
      "1000 ctr task exec in %.0f s; shim VmRSS %ld -> %ld KiB, RssAnon %ld -> %ld KiB "
      "(after 100 -> after 1000)\n",
      seconds, warm_rss, rss, warm_anon, anon);
  EXPECT_LE(anon, warm_anon + 32) << "RssAnon grew from " << warm_anon << " to " << anon;
  EXPECT_LE(rss, warm_rss + 64) << "VmRSS grew from " << warm_rss << " to " << rss;
  EXPECT_EQ(FdCount(shim), warm_fds);
  EXPECT_EQ(TaskStatus(id), "RUNNING");
  ASSERT_EQ(Ctr({"task", "kill", "-s", "KILL", id}).exit_code, 0);
}

// crun instead of runc, chosen by ctr's --runtime-config-path (runtimeoptions.v1.Options): the
// task runs under crun (its state is in crun's root), execs and kill work, status propagates.
TEST_F(ContainerdShim, CrunByRuntimeConfigPath) {
  auto cgroups = CrunCgroups::Bind(dir_->Join("crun-cgroup-v1"));
  ASSERT_TRUE(cgroups.ok()) << cgroups.status().ToString();
  std::string id = Id("crun");
  std::string root = dir_->Join("crun-root");
  std::string config = dir_->Join("crun.toml");
  ASSERT_TRUE(WriteFileAtomic(config, "BinaryName = \"crun\"\nRoot = \"" + root + "\"\n").ok());
  auto run = Ctr({"run", "-d", "--runtime", kRuntime, "--runtime-config-path", config, *image_, id,
                  "sleep", "100000"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto state = RunCmd({"crun", "--root", root, "state", id});
  EXPECT_NE(state.output.find("\"running\""), std::string::npos) << state.output;
  EXPECT_EQ(TaskStatus(id), "RUNNING");
  auto exec = Ctr({"task", "exec", "--exec-id", "e1", id, "sh", "-c", "echo via-crun; exit 4"});
  EXPECT_EQ(exec.exit_code, 4) << exec.output;
  EXPECT_EQ(exec.output, "via-crun\n");
  ASSERT_EQ(Ctr({"task", "kill", "-s", "KILL", id}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return TaskStatus(id) == "STOPPED"; }));
  auto deleted = Ctr({"task", "delete", id});
  EXPECT_NE(deleted.output.find("exit code 137"), std::string::npos) << deleted.output;
  EXPECT_EQ(Ctr({"containers", "rm", id}).exit_code, 0);
  EXPECT_NE(RunCmd({"crun", "--root", root, "state", id}).exit_code, 0);
  auto three = Ctr({"run", "--rm", "--runtime", kRuntime, "--runtime-config-path", config, *image_,
                    Id("crun3"), "sh", "-c", "exit 3"});
  EXPECT_EQ(three.exit_code, 3) << three.output;
}

}  // namespace
}  // namespace berth::shim::testing
