// End to end on the real stack: berthd spawning berth-content, berth-snapshot, berth-metadata and
// berth-runtime on a temp root/state, the busybox test image imported with berthctl, containers
// run with berthctl through real shims and runc. Every case runs with Berth's own shim and with
// containerd's containerd-shim-runc-v2 (--runtime io.containerd.runc.v2).
#include <fcntl.h>
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

// The text of a file, "" while it cannot be read.
std::string FileText(const std::string& path) {
  auto text = ReadFile(path);
  return text.ok() ? *text : std::string();
}

// The exit of `child` within `timeout`; nullopt if it still runs (its owner kills it later).
std::optional<ExitStatus> WaitFor(ChildProcess& child, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto exit = child.TryWait();
    if (!exit.ok() || exit->has_value()) return exit.ok() ? **exit : std::optional<ExitStatus>();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
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
    options.extra_toml = ExtraToml();
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
    // `runc --root <state>/runc list` above recreates the state dir berthd_ removed.
    std::error_code ignored;
    std::filesystem::remove_all(std::filesystem::path(state).parent_path(), ignored);
    // Containers a failed test left running (their shims are gone, so nothing above reaches
    // them; they live on, reparented to init): every process in this test's own cgroups is
    // one of them. Thawed first, as a frozen process cannot die.
    std::string dirs = "/sys/fs/cgroup" + cgroup_parent + " /sys/fs/cgroup/*" + cgroup_parent;
    (void)RunCapture(
        {"sh", "-c",
         "for d in " + dirs +
             "; do [ -d \"$d\" ] || continue; "
             "find \"$d\" -name freezer.state -exec sh -c "
             "'echo THAWED > \"$1\"' sh {} \\; ; "
             "for i in 1 2 3 4 5 6 7 8 9 10; do "
             "procs=$(find \"$d\" -name cgroup.procs -exec cat {} +); "
             "[ -z \"$procs\" ] && break; kill -9 $procs; sleep 0.1; done; done; true"});
    // The (now empty) cgroup directories of this test, deepest first, in every hierarchy.
    (void)RunCapture({"sh", "-c",
                      "for d in " + dirs +
                          "; do [ -d \"$d\" ] && find \"$d\" -depth -type d "
                          "-exec rmdir {} + ; done; true"});
  }
  // Added to berthd's config by suites that need settings of their own.
  virtual std::string ExtraToml() const { return ""; }
  std::string CgroupParent() const {
    return "/" + std::filesystem::path(berthd_->state()).parent_path().filename().string();
  }

  // berthctl with --state and `args`; exit code and stdout+stderr.
  Outcome Ctl(std::vector<std::string> args, std::chrono::seconds timeout = 60s) {
    return Shell(CtlArgv(std::move(args)), timeout);
  }
  std::vector<std::string> CtlArgv(std::vector<std::string> args) const {
    std::vector<std::string> argv = {BuildPath("cli/berthctl"), "--state", berthd_->state()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  // `berthctl run --runtime <param> ...`, in this test's own cgroup parent (two tests running
  // at once must never share, and so freeze or count, each other's cgroups).
  Outcome RunCtr(std::vector<std::string> flags, std::vector<std::string> command,
                 std::string_view input = {}) {
    return Shell(CtlArgv(RunArgs(std::move(flags), std::move(command))), 60s, input);
  }
  std::vector<std::string> RunArgs(std::vector<std::string> flags,
                                   std::vector<std::string> command) const {
    std::vector<std::string> args = {"run", "--runtime", GetParam(), "--cgroup-parent",
                                     CgroupParent()};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), command.begin(), command.end());
    return args;
  }
  // `input` is fed to the command's stdin (empty: /dev/null).
  static Outcome Shell(const std::vector<std::string>& argv, std::chrono::seconds timeout = 60s,
                       std::string_view input = {}) {
    SpawnOptions options;
    options.argv = {"sh", "-c", "\"$@\" 2>&1; echo \"rc=$?\"", "sh"};
    options.argv.insert(options.argv.end(), argv.begin(), argv.end());
    auto out = RunCapture(options, input, timeout);
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
  // berth-runtime's plugin is registered in berthd and ready.
  auto plugins = Ctl({"--format", "json", "plugins", "ls"});
  ASSERT_EQ(plugins.code, 0) << plugins.out;
  json listed = json::parse(plugins.out, nullptr, false);
  bool task_plugin = false;
  for (const auto& p : listed.is_array() ? listed : json::array()) {
    task_plugin = task_plugin || (p.value("type", "") == "berth.runtime.v2" &&
                                  p.value("id", "") == "task" && p.value("status", "") == "ok");
  }
  EXPECT_TRUE(task_plugin) << plugins.out;
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

// The terminal is resized while the container runs: stty changes the window size of script's
// pty, the kernel sends SIGWINCH to berthctl (in the terminal's foreground process group), and
// berthctl forwards the new size (ResizePty) to the container's pty. (The background stty names
// /dev/tty: a background job of a non-interactive shell has /dev/null as its stdin.)
TEST_P(RunE2eTest, TtyResizeWhileRunningIsForwarded) {
  std::string cmd = BuildPath("cli/berthctl") + " --state " + berthd_->state() +
                    " run --rm -t --runtime " + GetParam() + " --cgroup-parent " + CgroupParent() +
                    " " + kImage +
                    " tty2 sh -c 'stty size; i=0; while [ \"$(stty size)\" = \"17 91\" ] && "
                    "[ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; stty size'";
  auto r =
      Shell({"script", "-qec",
             "stty cols 91 rows 17; (sleep 2; stty cols 50 rows 20 </dev/tty) & " + cmd + "; wait",
             "/dev/null"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("17 91"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("20 50"), std::string::npos) << r.out;
  EXPECT_TRUE(NoLeftovers("tty2"));
}

// `run -it` puts the caller's terminal in raw mode while the container runs (keys go to the
// container unprocessed) and restores the exact settings when it ends. stty reads the terminal
// of script(1) before, during (a background job) and after.
TEST_P(RunE2eTest, InteractiveTtyRawModeIsRestoredOnExit) {
  auto dir = TempDir::Create("b-e2e-raw");
  ASSERT_TRUE(dir.ok());
  std::string cmd = BuildPath("cli/berthctl") + " --state " + berthd_->state() +
                    " run --rm -i -t --runtime " + GetParam() + " --cgroup-parent " +
                    CgroupParent() + " " + kImage + " tty3 sh -c 'sleep 2; exit 0'";
  std::string before = dir->Join("before"), during = dir->Join("during"),
              after = dir->Join("after");
  auto r = Shell({"script", "-qec",
                  "stty sane; stty -g >" + before + "; (sleep 1; stty -a </dev/tty >" + during +
                      ") & " + cmd + "; wait; stty -g >" + after,
                  "/dev/null"});
  EXPECT_EQ(r.code, 0) << r.out;
  auto saved = ReadFile(before), restored = ReadFile(after), raw = ReadFile(during);
  ASSERT_TRUE(saved.ok() && restored.ok() && raw.ok()) << r.out;
  EXPECT_FALSE(saved->empty());
  EXPECT_EQ(*restored, *saved);
  // While it ran: no line editing, no echo, no signals from keys.
  for (const char* flag : {"-icanon", "-echo ", "-isig"}) {
    EXPECT_NE(raw->find(flag), std::string::npos) << flag << " in\n" << *raw;
  }
  EXPECT_TRUE(NoLeftovers("tty3"));
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
  EXPECT_FALSE(HasSnapshot("bg2"));
  EXPECT_NE(Ctl({"container", "info", "bg2"}).code, 0);
  EXPECT_TRUE(Tasks().empty());
}

// --env-file, --env, --label and --name go through berthctl run into the container's
// environment and its record: a later --env overrides the file, --name becomes io.berth/name.
TEST_P(RunE2eTest, EnvFileLabelsAndNameReachTheContainer) {
  auto env_dir = TempDir::Create("b-e2e-env");
  ASSERT_TRUE(env_dir.ok());
  std::string env_file = env_dir->Join("app.env");
  ASSERT_TRUE(WriteFileAtomic(env_file,
                              "# settings of the app\n"
                              "FROM_FILE=one two\n"
                              "  OVERRIDDEN=from-file\n"
                              "\n"
                              "EMPTY=\n")
                  .ok());
  // No --rm: the record must outlive the task to be inspected.
  auto r = RunCtr({"--env-file", env_file, "--env", "OVERRIDDEN=from-flag", "--label", "tier=web",
                   "--label", "team=core=infra", "--name", "frontend"},
                  {kImage, "labeled", "env"});
  ASSERT_EQ(r.code, 0) << r.out;
  std::istringstream lines(r.out);
  std::vector<std::string> env;
  for (std::string line; std::getline(lines, line);) env.push_back(line);
  auto has = [&](const std::string& entry) {
    return std::find(env.begin(), env.end(), entry) != env.end();
  };
  EXPECT_TRUE(has("FROM_FILE=one two")) << r.out;
  EXPECT_TRUE(has("OVERRIDDEN=from-flag")) << r.out;
  EXPECT_FALSE(has("OVERRIDDEN=from-file")) << r.out;
  EXPECT_TRUE(has("EMPTY=")) << r.out;
  EXPECT_TRUE(std::none_of(env.begin(), env.end(),
                           [](const std::string& e) { return e.find("settings") != e.npos; }))
      << "the comment line became a variable:\n"
      << r.out;

  auto info = Ctl({"container", "info", "labeled"});
  ASSERT_EQ(info.code, 0) << info.out;
  json record = json::parse(info.out, nullptr, false);
  ASSERT_TRUE(record.is_object()) << info.out;
  EXPECT_EQ(record["labels"],
            (json{{"tier", "web"}, {"team", "core=infra"}, {"io.berth/name", "frontend"}}))
      << info.out;
  auto by_label = Ctl({"container", "ls", "-q", "labels.tier==web"});
  EXPECT_EQ(by_label.out, "labeled\n");
  EXPECT_EQ(Ctl({"rm", "labeled"}).code, 0);

  // A label without "=" and an unreadable env file are refused before anything is created.
  auto bad_label = RunCtr({"--rm", "--label", "novalue"}, {kImage, "badlabel", "true"});
  EXPECT_NE(bad_label.code, 0);
  EXPECT_NE(bad_label.out.find("novalue"), std::string::npos) << bad_label.out;
  auto missing_file =
      RunCtr({"--rm", "--env-file", env_dir->Join("missing.env")}, {kImage, "badenv", "true"});
  EXPECT_NE(missing_file.code, 0);
  EXPECT_NE(missing_file.out.find("missing.env"), std::string::npos) << missing_file.out;
  EXPECT_FALSE(HasSnapshot("badlabel"));
  EXPECT_FALSE(HasSnapshot("badenv"));
  EXPECT_TRUE(NoLeftovers("labeled"));
}

// container create, then the task's life through `berthctl task`: start in the foreground
// (output and exit code), start -d, metrics, attach (follows the log until the exit and
// returns its code), rm of a stopped task, rm refused for a running one unless -f.
TEST_P(RunE2eTest, TaskStartMetricsAttachRm) {
  auto create = [&](const std::string& id, std::vector<std::string> command) {
    std::vector<std::string> args = {"container",       "create",       "--runtime", GetParam(),
                                     "--cgroup-parent", CgroupParent(), kImage,      id};
    args.insert(args.end(), command.begin(), command.end());
    return Ctl(args);
  };
  ASSERT_EQ(create("fg", {"sh", "-c", "echo from-start; exit 6"}).code, 0);
  EXPECT_TRUE(Task("fg").is_null());  // create makes no task
  auto fg = Ctl({"task", "start", "fg"});
  EXPECT_EQ(fg.code, 6) << fg.out;
  EXPECT_EQ(fg.out, "from-start\n");
  EXPECT_EQ(Task("fg").value("status", ""), "STOPPED");
  EXPECT_EQ(Task("fg").value("exit_status", 0), 6);
  auto removed = Ctl({"task", "rm", "fg"});
  EXPECT_EQ(removed.code, 0) << removed.out;
  EXPECT_EQ(removed.out, "fg: exit status 6\n");
  EXPECT_TRUE(Task("fg").is_null());
  EXPECT_TRUE(HasSnapshot("fg"));  // task rm leaves the container and its snapshot
  EXPECT_EQ(Ctl({"container", "info", "fg"}).code, 0);
  EXPECT_EQ(Ctl({"rm", "fg"}).code, 0);
  EXPECT_FALSE(HasSnapshot("fg"));

  ASSERT_EQ(create("bg", {"sh", "-c",
                          "trap 'echo bye; exit 9' TERM; echo begin; "
                          "while true; do sleep 0.1; done"})
                .code,
            0);
  auto started = Ctl({"task", "start", "-d", "bg"});
  ASSERT_EQ(started.code, 0) << started.out;
  EXPECT_EQ(started.out, "bg\n");
  EXPECT_EQ(Task("bg").value("status", ""), "RUNNING");

  auto metrics = Ctl({"task", "metrics", "bg"});
  ASSERT_EQ(metrics.code, 0) << metrics.out;
  json stats = json::parse(metrics.out, nullptr, false);
  ASSERT_TRUE(stats.is_object()) << metrics.out;
  // sh and its sleep, and the memory they use, counted in the task's cgroup.
  // proto3's JSON mapping prints 64-bit counters as strings.
  json pids = stats["pids"]["current"];
  uint64_t pid_count = pids.is_string()   ? std::stoull(pids.get<std::string>())
                       : pids.is_number() ? pids.get<uint64_t>()
                                          : 0;
  EXPECT_GE(pid_count, 1u) << metrics.out;
  EXPECT_TRUE(stats.contains("memory")) << metrics.out;
  EXPECT_NE(Ctl({"task", "metrics", "nosuchtask"}).code, 0);

  // attach in the background: it must keep following until the task exits.
  auto out_dir = TempDir::Create("b-e2e-attach");
  ASSERT_TRUE(out_dir.ok());
  std::string attach_out = out_dir->Join("out");
  UniqueFd out_fd(::open(attach_out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  ASSERT_TRUE(out_fd.valid());
  SpawnOptions attach_options;
  attach_options.argv = CtlArgv({"task", "attach", "bg"});
  attach_options.stdin_fd = SpawnOptions::kDevNull;
  attach_options.stdout_fd = out_fd.get();
  attach_options.stderr_fd = out_fd.get();
  auto attach = ChildProcess::Spawn(attach_options);
  ASSERT_TRUE(attach.ok()) << attach.status().ToString();
  std::string attached;
  for (int i = 0; i < 100 && attached.find("begin\n") == std::string::npos; ++i) {
    std::this_thread::sleep_for(50ms);
    attached = FileText(attach_out);
  }
  EXPECT_EQ(attached, "begin\n");
  std::this_thread::sleep_for(300ms);
  auto still = attach->TryWait();
  ASSERT_TRUE(still.ok());
  EXPECT_FALSE(still->has_value()) << "attach returned while the task runs";

  auto refused = Ctl({"task", "rm", "bg"});  // running: needs -f
  EXPECT_NE(refused.code, 0) << refused.out;
  EXPECT_EQ(Task("bg").value("status", ""), "RUNNING");

  EXPECT_EQ(Ctl({"task", "kill", "bg"}).code, 0);  // SIGTERM: the trap exits 9
  auto attach_exit = WaitFor(*attach, 20s);
  ASSERT_TRUE(attach_exit.has_value()) << "attach did not return after the exit";
  EXPECT_EQ(attach_exit->ShellCode(), 9);
  EXPECT_EQ(FileText(attach_out), "begin\nbye\n");
  auto bg_rm = Ctl({"task", "rm", "bg"});
  EXPECT_EQ(bg_rm.code, 0) << bg_rm.out;
  EXPECT_EQ(bg_rm.out, "bg: exit status 9\n");
  EXPECT_EQ(Ctl({"rm", "bg"}).code, 0);

  ASSERT_EQ(create("forced", {"sleep", "1000"}).code, 0);
  ASSERT_EQ(Ctl({"task", "start", "-d", "forced"}).code, 0);
  auto forced = Ctl({"task", "rm", "-f", "forced"});
  EXPECT_EQ(forced.code, 0) << forced.out;
  EXPECT_EQ(forced.out, "forced: exit status 137\n");
  EXPECT_TRUE(Task("forced").is_null());
  EXPECT_TRUE(NoLeftovers("forced"));
  EXPECT_EQ(Ctl({"rm", "forced"}).code, 0);
  EXPECT_TRUE(Tasks().empty());
  EXPECT_FALSE(HasSnapshot("forced"));
}

// run -i: piped stdin reaches the container, and its end closes the container's stdin (CloseIO),
// so `cat` finishes. Without -i the container reads nothing of it.
TEST_P(RunE2eTest, InteractiveStdinIsClosedAtItsEnd) {
  auto piped = RunCtr({"--rm", "-i"}, {kImage, "in1", "sh", "-c", "cat; echo eof-seen; exit 5"},
                      "hi\nthere\n");
  EXPECT_EQ(piped.code, 5) << piped.out;
  EXPECT_EQ(piped.out, "hi\nthere\neof-seen\n");
  // Nothing piped: the end comes at once.
  auto empty = RunCtr({"--rm", "-i"}, {kImage, "in2", "sh", "-c", "cat; echo eof-seen"});
  EXPECT_EQ(empty.code, 0) << empty.out;
  EXPECT_EQ(empty.out, "eof-seen\n");
  auto detached_stdin = RunCtr({"--rm"}, {kImage, "in3", "sh", "-c", "cat; echo done"}, "hi\n");
  EXPECT_EQ(detached_stdin.code, 0) << detached_stdin.out;
  EXPECT_EQ(detached_stdin.out, "done\n");
  EXPECT_TRUE(NoLeftovers("in1"));
  EXPECT_TRUE(Tasks().empty());
}

// SIGTERM and SIGINT sent to a foreground `berthctl run` reach the container: its traps print
// and exit with their own codes, which berthctl returns.
TEST_P(RunE2eTest, SignalsToForegroundRunReachTheContainer) {
  auto out_dir = TempDir::Create("b-e2e-sig");
  ASSERT_TRUE(out_dir.ok());
  struct Case {
    int signo;
    const char* trap_name;
    int code;
  };
  for (Case c : {Case{SIGTERM, "TERM", 42}, Case{SIGINT, "INT", 43}}) {
    SCOPED_TRACE(c.trap_name);
    std::string id = std::string("sig") + c.trap_name;
    std::string out_path = out_dir->Join(id);
    UniqueFd out_fd(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    ASSERT_TRUE(out_fd.valid());
    SpawnOptions options;
    options.argv =
        CtlArgv(RunArgs({"--rm"}, {kImage, id, "sh", "-c",
                                   std::string("trap 'echo got-") + c.trap_name + "; exit " +
                                       std::to_string(c.code) + "' " + c.trap_name +
                                       "; echo ready; while true; do sleep 0.1; done"}));
    options.stdin_fd = SpawnOptions::kDevNull;
    options.stdout_fd = out_fd.get();
    options.stderr_fd = out_fd.get();
    auto run = ChildProcess::Spawn(options);
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    // "ready" is printed by the started container: berthctl forwards signals from then on.
    for (int i = 0; i < 200 && FileText(out_path).find("ready") == std::string::npos; ++i) {
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_EQ(FileText(out_path), "ready\n");
    ASSERT_EQ(::kill(run->pid(), c.signo), 0);
    auto exit = WaitFor(*run, 20s);
    ASSERT_TRUE(exit.has_value()) << "berthctl run still runs: the signal was not forwarded";
    EXPECT_EQ(exit->signal, 0) << "berthctl itself died of the signal";
    EXPECT_EQ(exit->code, c.code) << FileText(out_path);
    EXPECT_EQ(FileText(out_path), std::string("ready\ngot-") + c.trap_name + "\n");
    EXPECT_TRUE(NoLeftovers(id));
  }
  EXPECT_TRUE(Tasks().empty());
}

// kill -9 berth-runtime, then berthd and every service, while 10 containers run and 5 of them
// exit during the outage: after the restart all 10 are accounted for. The five wait for a file
// in a bind-mounted directory that the test creates only once every daemon is dead, so their
// exits happen during the outage by construction (also --mount end to end).
TEST_P(RunE2eTest, SurvivesDaemonCrashes) {
  auto flag_dir = TempDir::Create("b-e2e-flag");
  ASSERT_TRUE(flag_dir.ok());
  std::string mount = "type=bind,src=" + flag_dir->path() + ",dst=/flag,options=rbind:ro";
  for (int i = 0; i < 10; ++i) {
    std::string id = "c" + std::to_string(i);
    std::string wait_then_exit =
        "until [ -e /flag/go ]; do sleep 0.05; done; exit " + std::to_string(10 + i);
    auto r = i < 5 ? RunCtr({"-d", "--mount", mount}, {kImage, id, "sh", "-c", wait_then_exit})
                   : RunCtr({"-d"}, {kImage, id, "sleep", "1000"});
    ASSERT_EQ(r.code, 0) << r.out;
  }
  std::vector<pid_t> exiting;  // the host pids of c0..c4, all running before the outage
  for (int i = 0; i < 5; ++i) {
    json t = Task("c" + std::to_string(i));
    ASSERT_EQ(t.value("status", ""), "RUNNING") << t.dump();
    exiting.push_back(t.value("pid", 0));
  }
  auto runtime = berthd_->FindService("runtime");
  ASSERT_TRUE(runtime.ok());
  ::kill(runtime->pid(), SIGKILL);
  std::vector<pid_t> services = {static_cast<pid_t>(runtime->pid())};
  for (const char* svc : {"content", "snapshot", "metadata"}) {
    auto info = berthd_->FindService(svc);
    if (info.ok()) services.push_back(info->pid());
  }
  berthd_->Kill9();
  for (pid_t pid : services) ::kill(pid, SIGKILL);
  for (pid_t pid : services) {
    for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(20ms);
  }
  // Nothing of Berth runs now: let the five exit, and see them gone (reaped by their shims).
  ASSERT_TRUE(WriteFileAtomic(flag_dir->Join("go"), "").ok());
  for (pid_t pid : exiting) {
    for (int i = 0; i < 200 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(50ms);
    EXPECT_NE(::kill(pid, 0), 0) << "pid " << pid << " still runs";
  }
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
  for (int i = 5; i < 10; ++i) {
    std::string id = "c" + std::to_string(i);
    for (int k = 0; k < 100 && Task(id).value("status", "") != "STOPPED"; ++k) {
      std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(Task(id).value("status", ""), "STOPPED") << id;
    EXPECT_EQ(Task(id).value("exit_status", 0), 137) << id;
  }
  for (int i = 0; i < 10; ++i) {
    auto rm = Ctl({"rm", "-f", "c" + std::to_string(i)});
    EXPECT_EQ(rm.code, 0) << rm.out;
  }
  EXPECT_TRUE(NoLeftovers("c9"));
  // The five exits of the outage reached berthd's event log (the shims retry their publish).
  auto exit_event = [](int i) {
    return "\"container_id\":\"c" + std::to_string(i) + "\",\"id\":\"c" + std::to_string(i) +
           "\",\"pid\":";
  };
  Outcome events;
  for (int round = 0; round < 8; ++round) {
    events = Shell({"timeout", "2", BuildPath("cli/berthctl"), "--state", berthd_->state(),
                    "events", "--since", "0", "--topic", "/tasks/exit"});
    bool all = true;
    for (int i = 0; i < 5; ++i) all = all && events.out.find(exit_event(i)) != std::string::npos;
    if (all) break;
  }
  for (int i = 0; i < 5; ++i) {
    size_t at = events.out.find(exit_event(i));
    ASSERT_NE(at, std::string::npos) << i << "\n" << events.out;
    EXPECT_NE(events.out.find("\"exit_status\":" + std::to_string(10 + i), at), std::string::npos)
        << events.out;
  }
}

// Only berthd is killed (-9); berth-runtime and the other services outlive it, and containers
// exit meanwhile. The restarted berthd adopts the same berth-runtime, which reports every exit
// status, and the exits reach berthd's event log once it is back.
TEST_P(RunE2eTest, ExitsWhileOnlyBerthdIsDownAreKept) {
  auto flag_dir = TempDir::Create("b-e2e-flag");
  ASSERT_TRUE(flag_dir.ok());
  std::string mount = "type=bind,src=" + flag_dir->path() + ",dst=/flag,options=rbind:ro";
  std::vector<pid_t> exiting;
  for (int i = 0; i < 3; ++i) {
    std::string id = "d" + std::to_string(i);
    std::string wait_then_exit =
        "until [ -e /flag/go ]; do sleep 0.05; done; exit " + std::to_string(20 + i);
    auto r = RunCtr({"-d", "--mount", mount}, {kImage, id, "sh", "-c", wait_then_exit});
    ASSERT_EQ(r.code, 0) << r.out;
    json t = Task(id);
    ASSERT_EQ(t.value("status", ""), "RUNNING") << t.dump();
    exiting.push_back(t.value("pid", 0));
  }
  auto runtime = berthd_->FindService("runtime");
  ASSERT_TRUE(runtime.ok());
  pid_t runtime_pid = static_cast<pid_t>(runtime->pid());
  berthd_->Kill9();
  ASSERT_TRUE(WriteFileAtomic(flag_dir->Join("go"), "").ok());
  for (pid_t pid : exiting) {
    for (int i = 0; i < 200 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(50ms);
    EXPECT_NE(::kill(pid, 0), 0) << "pid " << pid << " still runs";
  }
  EXPECT_EQ(::kill(runtime_pid, 0), 0) << "berth-runtime died with berthd";
  ASSERT_TRUE(berthd_->Start().ok());
  ASSERT_TRUE(berthd_->WaitRunning("runtime", 20s).ok());
  auto adopted = berthd_->FindService("runtime");
  ASSERT_TRUE(adopted.ok());
  EXPECT_EQ(static_cast<pid_t>(adopted->pid()), runtime_pid);  // not a new berth-runtime
  for (int i = 0; i < 3; ++i) {
    std::string id = "d" + std::to_string(i);
    json t = Task(id);
    EXPECT_EQ(t.value("status", ""), "STOPPED") << t.dump();
    EXPECT_EQ(t.value("exit_status", 0), 20 + i) << t.dump();
  }
  auto exit_event = [](int i) {
    return "\"container_id\":\"d" + std::to_string(i) + "\",\"id\":\"d" + std::to_string(i) +
           "\",\"pid\":";
  };
  Outcome events;
  for (int round = 0; round < 8; ++round) {
    events = Shell({"timeout", "2", BuildPath("cli/berthctl"), "--state", berthd_->state(),
                    "events", "--since", "0", "--topic", "/tasks/exit"});
    bool all = true;
    for (int i = 0; i < 3; ++i) all = all && events.out.find(exit_event(i)) != std::string::npos;
    if (all) break;
  }
  for (int i = 0; i < 3; ++i) {
    size_t at = events.out.find(exit_event(i));
    ASSERT_NE(at, std::string::npos) << i << "\n" << events.out;
    EXPECT_NE(events.out.find("\"exit_status\":" + std::to_string(20 + i), at), std::string::npos)
        << events.out;
  }
  for (int i = 0; i < 3; ++i) {
    auto rm = Ctl({"rm", "d" + std::to_string(i)});
    EXPECT_EQ(rm.code, 0) << rm.out;
  }
  EXPECT_TRUE(NoLeftovers("d2"));
  EXPECT_TRUE(Tasks().empty());
}

// Detached logs rotated by berth-shim ([runtime] log_max_size = 4k, log_max_files = 2). With
// containerd's runc shim the same config leaves one growing file (documented in shim/stdio.h),
// and `berthctl logs` must show the same output either way.
class LogRotationE2eTest : public RunE2eTest {
 protected:
  static constexpr int kKeptFiles = 2;
  static constexpr uint64_t kMaxSize = 4096;
  std::string ExtraToml() const override {
    return "[runtime]\nlog_max_size = \"4k\"\nlog_max_files = " + std::to_string(kKeptFiles) + "\n";
  }
  bool Rotates() const { return GetParam() == "io.containerd.berth.v1"; }
  std::string LogPath(const std::string& id) const {
    return berthd_->root() + "/runtime/default/" + id + "/log";
  }
  // Files of the log of `id`: log, log.1, ... (stops at the first missing one); checks sizes.
  int CountLogFiles(const std::string& id) {
    std::string path = LogPath(id);
    int files = 0;
    for (std::string name = path; std::filesystem::exists(name);
         name = path + "." + std::to_string(files)) {
      if (Rotates()) {
        EXPECT_LE(std::filesystem::file_size(name), kMaxSize) << name;
      }
      ++files;
    }
    return files;
  }
  void WaitStopped(const std::string& id) {
    for (int i = 0; i < 200 && Task(id).value("status", "") != "STOPPED"; ++i) {
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_EQ(Task(id).value("status", ""), "STOPPED") << id;
  }
  // "line <from>..." to "line <to - 1>...", as the containers' shell loops print them.
  static std::string Lines(int from, int to) {
    std::string out;
    for (int i = from; i < to; ++i) out += "line " + std::to_string(i) + " " + kPadding + "\n";
    return out;
  }
  static std::string PrintLines(int from, int to) {
    return "i=" + std::to_string(from) + "; while [ $i -lt " + std::to_string(to) +
           " ]; do echo \"line $i " + kPadding + "\"; i=$((i+1)); done";
  }
  static constexpr char kPadding[] = "abcdefghijklmnopqrstuvwxyz";
};

// 300 lines (about 10 KB, more than 4 KB) printed in two halves; the second half, and the
// container's exit, happen while berthd and berth-runtime are dead (kill -9). The shim keeps
// copying and rotating meanwhile; after the restart K + 1 files exist and `berthctl logs`
// prints every line in order.
TEST_P(LogRotationE2eTest, LogsReadEveryLineAcrossRotationsAndARuntimeRestart) {
  auto flag_dir = TempDir::Create("b-e2e-logflag");
  ASSERT_TRUE(flag_dir.ok());
  std::string mount = "type=bind,src=" + flag_dir->path() + ",dst=/flag,options=rbind:ro";
  std::string script =
      PrintLines(0, 150) + "; until [ -e /flag/go ]; do sleep 0.05; done; " + PrintLines(150, 300);
  auto run = RunCtr({"-d", "--mount", mount}, {kImage, "rot", "sh", "-c", script});
  ASSERT_EQ(run.code, 0) << run.out;
  Outcome logs;
  for (int i = 0; i < 100 && logs.out.find("line 149 ") == std::string::npos; ++i) {
    std::this_thread::sleep_for(50ms);
    logs = Ctl({"logs", "rot"});
  }
  ASSERT_EQ(logs.out, Lines(0, 150));
  pid_t container = Task("rot").value("pid", 0);
  ASSERT_GT(container, 0);
  std::vector<pid_t> services;
  for (const char* svc : {"runtime", "content", "snapshot", "metadata"}) {
    auto info = berthd_->FindService(svc);
    ASSERT_TRUE(info.ok()) << svc;
    services.push_back(static_cast<pid_t>(info->pid()));
  }
  berthd_->Kill9();  // first, so that nothing restarts berth-runtime
  for (pid_t pid : services) ::kill(pid, SIGKILL);
  for (pid_t pid : services) {
    for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(WriteFileAtomic(flag_dir->Join("go"), "").ok());
  for (int i = 0; i < 200 && ::kill(container, 0) == 0; ++i) std::this_thread::sleep_for(50ms);
  ASSERT_NE(::kill(container, 0), 0) << "the container did not finish while Berth was down";
  ASSERT_TRUE(berthd_->Start().ok());
  ASSERT_TRUE(berthd_->WaitRunning("runtime", 20s).ok());
  WaitStopped("rot");
  logs = Ctl({"logs", "rot"});
  EXPECT_EQ(logs.code, 0);
  EXPECT_EQ(logs.out, Lines(0, 300));
  EXPECT_EQ(CountLogFiles("rot"), Rotates() ? kKeptFiles + 1 : 1);
  EXPECT_EQ(Ctl({"rm", "rot"}).code, 0);
  EXPECT_TRUE(NoLeftovers("rot"));
}

// 1000 lines (about 35 KB): only K + 1 files stay, and `berthctl logs` prints the newest lines,
// a gapless run in order that ends with the last one.
TEST_P(LogRotationE2eTest, OnlyTheNewestFilesAreKept) {
  auto run = RunCtr({"-d"}, {kImage, "many", "sh", "-c", PrintLines(0, 1000)});
  ASSERT_EQ(run.code, 0) << run.out;
  WaitStopped("many");
  auto logs = Ctl({"logs", "many"});
  ASSERT_EQ(logs.code, 0);
  if (!Rotates()) {
    EXPECT_EQ(logs.out, Lines(0, 1000));
    EXPECT_EQ(CountLogFiles("many"), 1);
    return;
  }
  EXPECT_EQ(CountLogFiles("many"), kKeptFiles + 1);
  ASSERT_GT(logs.out.size(), kKeptFiles * (kMaxSize - 100));
  ASSERT_LE(logs.out.size(), (kKeptFiles + 1) * kMaxSize);
  int first = std::atoi(logs.out.c_str() + 5);  // "line <n> ..."
  EXPECT_GT(first, 0);
  EXPECT_EQ(logs.out, Lines(first, 1000));
}

// `berthctl logs -f` started at once follows the output through both rotations to the end.
TEST_P(LogRotationE2eTest, FollowCrossesRotations) {
  std::string script;
  for (int batch = 0; batch < 10; ++batch) {
    script += PrintLines(batch * 30, batch * 30 + 30) + "; sleep 0.2; ";
  }
  auto run = RunCtr({"-d"}, {kImage, "fol", "sh", "-c", script + "true"});
  ASSERT_EQ(run.code, 0) << run.out;
  auto follow = Ctl({"logs", "-f", "fol"});
  EXPECT_EQ(follow.code, 0);
  EXPECT_EQ(follow.out, Lines(0, 300));
  EXPECT_EQ(CountLogFiles("fol"), Rotates() ? kKeptFiles + 1 : 1);
}

// With a terminal (-d -t) berth-shim's pty relay writes the rotated log the same way (the tty
// turns each "\n" into "\r\n"). containerd's runc shim (1.6) refuses a file:// stdout with a
// terminal, rotation or not: the create fails with its message and leaves nothing behind.
TEST_P(LogRotationE2eTest, TerminalOutputIsRotatedToo) {
  auto run = RunCtr({"-d", "-t"}, {kImage, "tty", "sh", "-c", PrintLines(0, 300)});
  if (!Rotates()) {
    EXPECT_NE(run.code, 0);
    EXPECT_NE(run.out.find("failed to start console copy"), std::string::npos) << run.out;
    EXPECT_TRUE(NoLeftovers("tty"));
    return;
  }
  ASSERT_EQ(run.code, 0) << run.out;
  WaitStopped("tty");
  std::string expected;
  for (char c : Lines(0, 300)) expected += c == '\n' ? std::string("\r\n") : std::string(1, c);
  auto logs = Ctl({"logs", "tty"});
  EXPECT_EQ(logs.code, 0);
  EXPECT_EQ(logs.out, expected);
  EXPECT_EQ(CountLogFiles("tty"), Rotates() ? kKeptFiles + 1 : 1);
}

INSTANTIATE_TEST_SUITE_P(Shims, LogRotationE2eTest,
                         ::testing::Values("io.containerd.berth.v1", "io.containerd.runc.v2"),
                         [](const auto& info) {
                           return info.param == "io.containerd.runc.v2" ? "containerd_runc_shim"
                                                                        : "berth_shim";
                         });

INSTANTIATE_TEST_SUITE_P(Shims, RunE2eTest,
                         ::testing::Values("io.containerd.berth.v1", "io.containerd.runc.v2"),
                         [](const auto& info) {
                           return info.param == "io.containerd.runc.v2" ? "containerd_runc_shim"
                                                                        : "berth_shim";
                         });

}  // namespace
}  // namespace berth::e2e
