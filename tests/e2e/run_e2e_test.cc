// End to end on the real stack: berthd spawning berth-content, berth-snapshot, berth-metadata and
// berth-runtime on a temp root/state, the busybox test image imported with berthctl, containers
// run with berthctl through real shims and runc. Every case runs with Berth's own shim and with
// containerd's containerd-shim-runc-v2 (--runtime io.containerd.runc.v2).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "berth/snapshot/v1/snapshots.berth.h"
#include "common/fs.h"
#include "common/process.h"
#include "common/temp_dir.h"
#include "tests/integration/supervisor_test_util.h"

namespace berth::e2e {
namespace {

using namespace std::chrono_literals;
using integration::BerthdHarness;
using integration::BuildPath;
using json = nlohmann::json;

constexpr char kImage[] = "berth/busybox:latest";

// Leaves nothing behind: shims and containers of this state dir, and mounts under it.
void KillLeftovers(const std::string& state) {
  for (pid_t pid : integration::ProcessesWith(state)) ::kill(pid, SIGKILL);
  std::string runc_root = state + "/runc";
  for (const char* ns : {"default"}) {
    auto list = RunCapture({"runc", "--root", runc_root + "/" + ns, "list", "-q"});
    if (!list.ok()) continue;
    std::istringstream ids(*list);
    for (std::string id; std::getline(ids, id);) {
      (void)RunCapture({"runc", "--root", runc_root + "/" + ns, "delete", "--force", id});
    }
  }
  (void)RunCapture({"sh", "-c",
                    "grep -o ' " + state +
                        "[^ ]*' /proc/self/mountinfo | sort -r | "
                        "xargs -r -n1 umount -l"});
}

struct Outcome {
  int code = -1;
  std::string out;
};

class RunE2eTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    auto dir = TempDir::Create("b-e2e-img");
    ASSERT_TRUE(dir.ok());
    image_dir_ = new TempDir(std::move(dir).value());
    std::string source = std::getenv("BERTH_SOURCE_DIR") ? std::getenv("BERTH_SOURCE_DIR") : "";
    auto built = RunCapture({"bash", source + "/tests/fixtures/images.sh", "oci-archive",
                             image_dir_->Join("busybox.tar")},
                            {}, 120s);
    ASSERT_TRUE(built.ok()) << built.status().ToString();
  }
  static void TearDownTestSuite() { delete image_dir_; }

  void SetUp() override {
    integration::BerthdOptions options;
    for (const char* svc : {"content", "snapshot", "metadata", "runtime"}) {
      options.services.push_back(
          {svc, BuildPath(std::string("services/") + svc + "/berth-" + svc)});
    }
    berthd_ = std::make_unique<BerthdHarness>(options);
    ASSERT_TRUE(berthd_->Start().ok());
    for (const char* svc : {"content", "snapshot", "metadata", "runtime"}) {
      ASSERT_TRUE(berthd_->WaitRunning(svc, 20s).ok()) << svc;
    }
    auto imported = berthd_->Berthctl(
        {"image", "import", "--base-name", "berth/busybox", image_dir_->Join("busybox.tar")});
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  }

  void TearDown() override {
    std::string state = berthd_->state();
    std::string cgroup_parent = CgroupParent();  // berthd_ is gone below
    KillLeftovers(state);
    berthd_.reset();
    KillLeftovers(state);
    // The (now empty) cgroup directories of this test, deepest first, in every hierarchy.
    (void)RunCapture({"sh", "-c",
                      "for d in /sys/fs/cgroup" + cgroup_parent + " /sys/fs/cgroup/*" +
                          cgroup_parent + "; do [ -d \"$d\" ] && find \"$d\" -depth -type d " +
                          "-exec rmdir {} + ; done; true"});
  }
  std::string CgroupParent() const {
    return "/" + std::filesystem::path(berthd_->state()).parent_path().filename().string();
  }

  // berthctl with --state and `args`; exit code and stdout+stderr.
  Outcome Ctl(std::vector<std::string> args, std::chrono::seconds timeout = 60s) {
    std::vector<std::string> argv = {BuildPath("cli/berthctl"), "--state", berthd_->state()};
    argv.insert(argv.end(), args.begin(), args.end());
    return Shell(argv, timeout);
  }
  // `berthctl run --runtime <param> ...`, in this test's own cgroup parent (two tests running
  // at once must never share, and so freeze or count, each other's cgroups).
  Outcome RunCtr(std::vector<std::string> flags, std::vector<std::string> command) {
    std::vector<std::string> args = {"run", "--runtime", GetParam(), "--cgroup-parent",
                                     CgroupParent()};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), command.begin(), command.end());
    return Ctl(args);
  }
  static Outcome Shell(const std::vector<std::string>& argv, std::chrono::seconds timeout = 60s) {
    SpawnOptions options;
    options.argv = {"sh", "-c", "\"$@\" 2>&1; echo \"rc=$?\"", "sh"};
    options.argv.insert(options.argv.end(), argv.begin(), argv.end());
    auto out = RunCapture(options, {}, timeout);
    Outcome o;
    if (!out.ok()) {
      o.out = out.status().ToString();
      return o;
    }
    size_t rc = out->rfind("rc=");
    o.out = out->substr(0, rc);
    o.code = std::atoi(out->c_str() + rc + 3);
    return o;
  }
  bool NoLeftovers(const std::string& id) {
    std::string state = berthd_->state();
    for (int i = 0; i < 100; ++i) {
      bool shims = false;
      // Shims carry "-address <state>/runtime.sock" (berth-runtime itself has --socket).
      std::string needle = std::string("-address") + '\0' + state + "/runtime.sock";
      for (pid_t pid : integration::ProcessesWith(needle)) shims = shims || pid > 0;
      auto mounts = ReadFile("/proc/self/mountinfo");
      bool mounted =
          mounts.ok() && mounts->find(state + "/runtime/default/" + id) != std::string::npos;
      if (!shims && !mounted) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  // Names of the snapshots berth-snapshot holds in namespace "default".
  std::vector<std::string> SnapshotKeys() {
    ipc::Client client(berthd_->ServiceSocket("snapshot"));
    snapshot::v1::SnapshotsClient snapshots(client);
    ipc::CallOptions options;
    options.ns = "default";
    options.timeout = 10s;
    auto stream = snapshots.List(snapshot::v1::ListSnapshotsRequest(), std::move(options));
    std::vector<std::string> keys;
    while (true) {
      auto next = stream.Recv();
      if (!next.ok() || !next->has_value()) break;
      for (const auto& info : (*next)->info()) keys.push_back(info.name());
    }
    return keys;
  }
  bool HasSnapshot(const std::string& key) {
    auto keys = SnapshotKeys();
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  }
  json Tasks() {
    auto out = Ctl({"--format", "json", "task", "ls"});
    EXPECT_EQ(out.code, 0) << out.out;
    return json::parse(out.out, nullptr, false);
  }
  json Task(const std::string& id) {
    for (const auto& t : Tasks()) {
      if (t.value("id", "") == id) return t;
    }
    return json();
  }

  static TempDir* image_dir_;
  std::unique_ptr<BerthdHarness> berthd_;
};

TempDir* RunE2eTest::image_dir_ = nullptr;

TEST_P(RunE2eTest, EchoExitCodeAndRmLeavesNothing) {
  auto echo = RunCtr({"--rm"}, {kImage, "echo1", "echo", "hello", "world"});
  EXPECT_EQ(echo.code, 0) << echo.out;
  EXPECT_EQ(echo.out, "hello world\n");
  auto seven = RunCtr({"--rm"}, {kImage, "seven", "sh", "-c", "echo out; echo err >&2; exit 7"});
  EXPECT_EQ(seven.code, 7) << seven.out;
  EXPECT_NE(seven.out.find("out\n"), std::string::npos);
  EXPECT_NE(seven.out.find("err\n"), std::string::npos);
  EXPECT_TRUE(NoLeftovers("seven"));
  auto containers = Ctl({"--format", "json", "container", "ls"});
  EXPECT_EQ(containers.out.find("seven"), std::string::npos) << containers.out;
  EXPECT_FALSE(SnapshotKeys().empty());  // the image's layers
  EXPECT_FALSE(HasSnapshot("seven"));
  EXPECT_FALSE(HasSnapshot("echo1"));
  EXPECT_TRUE(Tasks().empty());
  // The shims' task events reached berthd's event log.
  auto events = Shell({"timeout", "3", BuildPath("cli/berthctl"), "--state", berthd_->state(),
                       "events", "--since", "0"});
  for (const char* topic : {"/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"}) {
    EXPECT_NE(events.out.find(topic), std::string::npos) << topic << "\n" << events.out;
  }
}

TEST_P(RunE2eTest, SpecIsAppliedInsideTheContainer) {
  auto r = RunCtr({"--rm", "--user", "app", "--cwd", "/tmp", "--env", "FOO=bar", "--hostname", "hh",
                   "--read-only"},
                  {kImage, "spec1", "sh", "-c",
                   "id -u; id -g; pwd; echo $FOO; hostname; touch /tmp/x 2>/dev/null && echo rw || "
                   "echo ro; cat /proc/self/status | grep NoNewPrivs"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "1000\n1000\n/tmp\nbar\nhh\nro\nNoNewPrivs:\t1\n");
  // The same write succeeds without --read-only (/tmp is 1777 in the image).
  auto writable = RunCtr({"--rm", "--user", "app"},
                         {kImage, "spec3", "sh", "-c", "touch /tmp/x && echo rw || echo ro"});
  EXPECT_EQ(writable.out, "rw\n");
  auto big = RunCtr({"--rm", "--user", "2147483648"}, {kImage, "spec2", "true"});
  EXPECT_NE(big.code, 0);
  EXPECT_NE(big.out.find("2147483647"), std::string::npos) << big.out;
}

TEST_P(RunE2eTest, TtyThroughARealPty) {
  std::string cmd = BuildPath("cli/berthctl") + " --state " + berthd_->state() +
                    " run --rm -t --runtime " + GetParam() + " --cgroup-parent " + CgroupParent() +
                    " " + kImage + " tty1 sh -c 'tty; stty size; exit 3'";
  // script(1) gives berthctl a real terminal; -e returns the child's exit code.
  auto r = Shell({"script", "-qec", "stty cols 91 rows 17; " + cmd, "/dev/null"});
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("17 91"), std::string::npos) << r.out;
}

TEST_P(RunE2eTest, DetachedLogsExecPauseKill) {
  auto started = RunCtr({"-d"}, {kImage, "bg", "sh", "-c", "echo started; sleep 1000"});
  ASSERT_EQ(started.code, 0) << started.out;
  EXPECT_TRUE(HasSnapshot("bg"));
  Outcome logs;
  for (int i = 0; i < 50 && logs.out.find("started") == std::string::npos; ++i) {
    logs = Ctl({"logs", "bg"});
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(logs.out, "started\n");
  auto exec = Ctl({"task", "exec", "--exec-id", "e1", "bg", "sh", "-c", "echo in-exec; exit 4"});
  EXPECT_EQ(exec.code, 4) << exec.out;
  EXPECT_EQ(exec.out, "in-exec\n");
  EXPECT_EQ(Ctl({"task", "pause", "bg"}).code, 0);
  EXPECT_EQ(Task("bg").value("status", ""), "PAUSED");
  EXPECT_EQ(Ctl({"task", "resume", "bg"}).code, 0);
  EXPECT_EQ(Task("bg").value("status", ""), "RUNNING");
  auto ps = Ctl({"task", "ps", "bg"});
  EXPECT_EQ(ps.code, 0);
  EXPECT_NE(ps.out.find("PID"), std::string::npos);
  EXPECT_EQ(Ctl({"task", "kill", "-s", "KILL", "bg"}).code, 0);
  for (int i = 0; i < 100 && Task("bg").value("status", "") != "STOPPED"; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(Task("bg").value("status", ""), "STOPPED");
  EXPECT_EQ(Task("bg").value("exit_status", 0), 137);
  auto rm = Ctl({"rm", "bg"});
  EXPECT_EQ(rm.code, 0) << rm.out;
  EXPECT_TRUE(NoLeftovers("bg"));
  EXPECT_FALSE(HasSnapshot("bg"));

  auto running = RunCtr({"-d"}, {kImage, "bg2", "sleep", "1000"});
  ASSERT_EQ(running.code, 0) << running.out;
  EXPECT_NE(Ctl({"rm", "bg2"}).code, 0);  // running: needs -f
  EXPECT_EQ(Ctl({"rm", "-f", "bg2"}).code, 0);
  EXPECT_TRUE(NoLeftovers("bg2"));
}

// kill -9 berth-runtime, then berthd and every service, while 10 containers run and 5 of them
// exit during the outage: after the restart all 10 are accounted for.
TEST_P(RunE2eTest, SurvivesDaemonCrashes) {
  for (int i = 0; i < 10; ++i) {
    std::string id = "c" + std::to_string(i);
    auto r =
        i < 5 ? RunCtr({"-d"}, {kImage, id, "sh", "-c", "sleep 3; exit " + std::to_string(10 + i)})
              : RunCtr({"-d"}, {kImage, id, "sleep", "1000"});
    ASSERT_EQ(r.code, 0) << r.out;
  }
  auto runtime = berthd_->FindService("runtime");
  ASSERT_TRUE(runtime.ok());
  ::kill(runtime->pid(), SIGKILL);
  std::vector<pid_t> services;
  for (const char* svc : {"content", "snapshot", "metadata"}) {
    auto info = berthd_->FindService(svc);
    if (info.ok()) services.push_back(info->pid());
  }
  berthd_->Kill9();
  for (pid_t pid : services) ::kill(pid, SIGKILL);
  std::this_thread::sleep_for(4s);  // the first five exit while nothing of Berth runs
  ASSERT_TRUE(berthd_->Start().ok());
  ASSERT_TRUE(berthd_->WaitRunning("runtime", 20s).ok());
  json tasks;
  for (int i = 0; i < 100; ++i) {
    tasks = Tasks();
    if (tasks.is_array() && tasks.size() == 10) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(tasks.size(), 10u) << tasks.dump();
  for (int i = 0; i < 5; ++i) {
    json t = Task("c" + std::to_string(i));
    EXPECT_EQ(t.value("status", ""), "STOPPED") << t.dump();
    EXPECT_EQ(t.value("exit_status", 0), 10 + i) << t.dump();
  }
  for (int i = 5; i < 10; ++i) {
    std::string id = "c" + std::to_string(i);
    auto exec = Ctl({"task", "exec", "--exec-id", "x", id, "echo", "alive-" + id});
    EXPECT_EQ(exec.code, 0) << exec.out;
    EXPECT_EQ(exec.out, "alive-" + id + "\n");
    EXPECT_EQ(Ctl({"task", "kill", "-s", "KILL", id}).code, 0);
  }
  for (int i = 0; i < 10; ++i) {
    auto rm = Ctl({"rm", "-f", "c" + std::to_string(i)});
    EXPECT_EQ(rm.code, 0) << rm.out;
  }
  EXPECT_TRUE(NoLeftovers("c9"));
}

INSTANTIATE_TEST_SUITE_P(Shims, RunE2eTest,
                         ::testing::Values("io.containerd.berth.v1", "io.containerd.runc.v2"),
                         [](const auto& info) {
                           return info.param == "io.containerd.runc.v2" ? "containerd_runc_shim"
                                                                        : "berth_shim";
                         });

}  // namespace
}  // namespace berth::e2e
