// TaskManager against real shims and real runc: containerd's own containerd-shim-runc-v2 and
// berth-shim, each with a busybox rootfs bind-mounted as the container's root.
#include "services/runtime/task_manager.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <filesystem>
#include <mutex>
#include <thread>

#include "client/spec/spec.h"
#include "common/process.h"
#include "containerd/cgroups/stats/v1/metrics.pb.h"
#include "containerd/cgroups/v2/stats/metrics.pb.h"
#include "common/fs.h"
#include "common/temp_dir.h"
#include "services/runtime/bundle.h"
#include "services/runtime/runtime_test_util.h"

namespace berth::runtime {
namespace {

using namespace std::chrono_literals;
using testing::Await;
using json = nlohmann::json;

struct Event {
  std::string ns, topic, type;
};

class TaskManagerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto tmp = TempDir::Create("b-rt");
    ASSERT_TRUE(tmp.ok());
    tmp_ = std::make_unique<TempDir>(std::move(tmp).value());
    rootfs_ = tmp_->Join("rootfs");
    cgroup_parent_ = "/" + std::filesystem::path(tmp_->path()).filename().string();
    ASSERT_TRUE(testing::MakeBusyboxRootfs(rootfs_).ok());
    config_.state_dir = tmp_->Join("state/runtime");
    config_.root_dir = tmp_->Join("root/runtime");
    config_.address = tmp_->Join("rt.sock");
    config_.runc_root = tmp_->Join("runc");
    const char* build = std::getenv("BERTH_BUILD_DIR");  // tests/test_env.cc sets it
    ASSERT_NE(build, nullptr) << "BERTH_BUILD_DIR is not set";
    config_.shim_dirs = {std::string(build) + "/shim"};
    guard_ =
        std::make_unique<testing::LeftoverGuard>(config_.address, config_.runc_root, tmp_->path());
    if (std::getenv("BERTH_TEST_DEBUG")) spdlog::set_level(spdlog::level::debug);
    loop_.StartThread();
    StartManager();
  }

  void TearDown() override {
    if (manager_) {
      auto list = Await<rt::ListTasksResponse>([&](auto done) { manager_->List("default", done); });
      for (const auto& t : list.ok() ? list->tasks() : decltype(list->tasks()){}) {
        KillAndDelete(t.container_id());
      }
    }
    manager_.reset();
    EXPECT_TRUE(WaitNoShims()) << "shims left behind";
    EXPECT_TRUE(testing::RuncContainers(config_.runc_root).empty());
    EXPECT_TRUE(testing::MountsUnder(tmp_->path()).empty());
    testing::RemoveCgroupTree(cgroup_parent_);
  }

  void StartManager() {
    manager_ = std::make_unique<TaskManager>(
        loop_, config_,
        [this](const std::string& ns, const std::string& topic,
               const google::protobuf::Message& event) {
          std::lock_guard lock(events_mutex_);
          events_.push_back({ns, topic, std::string(event.GetDescriptor()->full_name())});
        });
    auto promise = std::make_shared<std::promise<void>>();
    manager_->Recover([promise] { promise->set_value(); });
    ASSERT_EQ(promise->get_future().wait_for(30s), std::future_status::ready);
  }

  CreateParams Params(const std::string& id, std::vector<std::string> args) {
    spec::SpecOptions o;
    o.id = id;
    o.args = std::move(args);
    o.cgroup_parent = cgroup_parent_;
    auto generated = spec::GenerateSpec(json(), o, spec::NoRootfsFiles());
    EXPECT_TRUE(generated.ok());
    CreateParams p;
    p.ns = "default";
    p.id = id;
    p.spec_json = generated->dump();
    p.runtime = GetParam();
    containerd::types::Mount m;
    m.set_type("bind");
    m.set_source(rootfs_);
    m.add_options("rbind");
    m.add_options("rw");
    p.rootfs.push_back(m);
    p.log_to_file = true;
    return p;
  }

  Result<rt::CreateTaskResponse> Create(CreateParams p) {
    return Await<rt::CreateTaskResponse>([&](auto done) { manager_->Create(std::move(p), done); });
  }
  Result<rt::StartResponse> Start(const std::string& id, const std::string& exec = {}) {
    rt::StartRequest r;
    r.set_container_id(id);
    r.set_exec_id(exec);
    return Await<rt::StartResponse>([&](auto done) { manager_->Start("default", r, done); });
  }
  Result<rt::WaitResponse> Wait(const std::string& id, const std::string& exec = {}) {
    rt::WaitRequest r;
    r.set_container_id(id);
    r.set_exec_id(exec);
    return Await<rt::WaitResponse>([&](auto done) { manager_->Wait("default", r, done); });
  }
  Result<rt::KillResponse> Kill(const std::string& id, uint32_t signal) {
    rt::KillRequest r;
    r.set_container_id(id);
    r.set_signal(signal);
    r.set_all(true);
    return Await<rt::KillResponse>([&](auto done) { manager_->Kill("default", r, done); });
  }
  Result<rt::DeleteResponse> Delete(const std::string& id) {
    rt::DeleteTaskRequest r;
    r.set_container_id(id);
    return Await<rt::DeleteResponse>([&](auto done) { manager_->Delete("default", r, done); });
  }
  Result<rt::Process> Get(const std::string& id) {
    rt::GetRequest r;
    r.set_container_id(id);
    auto got = Await<rt::GetResponse>([&](auto done) { manager_->Get("default", r, done); });
    if (!got.ok()) return got.status();
    return got->process();
  }
  void KillAndDelete(const std::string& id) {
    (void)Kill(id, SIGKILL);
    (void)Wait(id);
    (void)Delete(id);
  }
  bool WaitNoShims() {
    for (int i = 0; i < 100; ++i) {
      if (testing::ProcessesMatching(config_.address).empty()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  bool HasEvent(const std::string& topic) {
    std::lock_guard lock(events_mutex_);
    for (const auto& e : events_) {
      if (e.topic == topic) return true;
    }
    return false;
  }
  // Starts a task running `args` and returns once it was started.
  void Run(const std::string& id, std::vector<std::string> args) {
    auto created = Create(Params(id, std::move(args)));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    EXPECT_GT(created->pid(), 0u);
    auto started = Start(id);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
  }

  std::unique_ptr<TempDir> tmp_;
  std::string rootfs_;
  std::string cgroup_parent_;  // this test's own, e.g. /b-rt-XXXXXX
  RuntimeConfig config_;
  std::unique_ptr<testing::LeftoverGuard> guard_;
  ipc::EventLoop loop_;
  std::unique_ptr<TaskManager> manager_;
  std::mutex events_mutex_;
  std::vector<Event> events_;
};

TEST_P(TaskManagerTest, RunsToCompletionAndCleansUp) {
  Run("c1", {"sh", "-c", "echo hello from $(hostname); exit 7"});
  auto exit = Wait("c1");
  ASSERT_TRUE(exit.ok()) << exit.status().ToString();
  EXPECT_EQ(exit->exit_status(), 7u);
  BundlePaths paths = PathsFor(config_.state_dir, config_.root_dir, "default", "c1");
  EXPECT_EQ(ReadFile(paths.LogFile()).value(), "hello from c1\n");
  auto got = Get("c1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status(), rt::STOPPED);
  EXPECT_EQ(got->exit_status(), 7u);
  auto deleted = Delete("c1");
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted->exit_status(), 7u);
  EXPECT_NE(::access(paths.bundle.c_str(), F_OK), 0);
  EXPECT_NE(::access(paths.work.c_str(), F_OK), 0);
  EXPECT_TRUE(WaitNoShims());
  EXPECT_EQ(Get("c1").status().code(), Code::kNotFound);
}

TEST_P(TaskManagerTest, ExecPauseResumeKill) {
  Run("c2", {"sleep", "1000"});
  std::string out = tmp_->Join("exec.out");
  rt::ExecProcessRequest exec;
  exec.set_container_id("c2");
  exec.set_exec_id("e1");
  exec.set_stdout("file://" + out);
  exec.set_stderr("file://" + out);  // (containerd's shim crashes on file:// stdout alone)
  // As berthctl does: the container's process with other args.
  json process = json::parse(Params("c2", {"true"}).spec_json)["process"];
  process["args"] = {"sh", "-c", "echo from-exec; exit 3"};
  exec.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Process");
  exec.mutable_spec()->set_value(process.dump());
  auto added = Await<rt::ExecProcessResponse>([&](auto d) { manager_->Exec("default", exec, d); });
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  auto exec_started = Start("c2", "e1");
  ASSERT_TRUE(exec_started.ok()) << exec_started.status().ToString();
  auto exec_exit = Wait("c2", "e1");
  ASSERT_TRUE(exec_exit.ok()) << exec_exit.status().ToString();
  EXPECT_EQ(exec_exit->exit_status(), 3u);
  for (int i = 0; i < 100 && !(ReadFile(out).ok() && !ReadFile(out)->empty()); ++i) {
    std::this_thread::sleep_for(20ms);  // the shim copies the output asynchronously
  }
  EXPECT_EQ(ReadFile(out).value(), "from-exec\n");
  rt::DeleteProcessRequest del;
  del.set_container_id("c2");
  del.set_exec_id("e1");
  EXPECT_TRUE(
      Await<rt::DeleteResponse>([&](auto d) { manager_->DeleteProcess("default", del, d); }).ok());

  rt::PauseTaskRequest pause;
  pause.set_container_id("c2");
  ASSERT_TRUE(
      Await<rt::PauseTaskResponse>([&](auto d) { manager_->Pause("default", pause, d); }).ok());
  EXPECT_EQ(Get("c2")->status(), rt::PAUSED);
  rt::ResumeTaskRequest resume;
  resume.set_container_id("c2");
  ASSERT_TRUE(
      Await<rt::ResumeTaskResponse>([&](auto d) { manager_->Resume("default", resume, d); }).ok());
  EXPECT_EQ(Get("c2")->status(), rt::RUNNING);
  rt::ListPidsRequest pids;
  pids.set_container_id("c2");
  auto listed =
      Await<rt::ListPidsResponse>([&](auto d) { manager_->ListPids("default", pids, d); });
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_GE(listed->processes_size(), 1);
  auto metrics = Await<rt::MetricsResponse>([&](auto d) { manager_->Metrics("default", {}, d); });
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  ASSERT_EQ(metrics->metrics_size(), 1);
  EXPECT_NE(metrics->metrics(0).data().type_url().find("io.containerd.cgroups"), std::string::npos);

  EXPECT_EQ(Delete("c2").status().code(), Code::kFailedPrecondition);
  ASSERT_TRUE(Kill("c2", SIGKILL).ok());
  auto exit = Wait("c2");
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->exit_status(), 137u);
  EXPECT_EQ(Kill("c2", SIGKILL).status().code(), Code::kNotFound);
  EXPECT_TRUE(Delete("c2").ok());
}

TEST_P(TaskManagerTest, FailedCreatesLeaveNothing) {
  EXPECT_EQ(Create(Params("bad/id", {"true"})).status().code(), Code::kInvalidArgument);
  CreateParams unknown = Params("c3", {"true"});
  unknown.runtime = "io.containerd.nope.v9";
  EXPECT_EQ(Create(unknown).status().code(), Code::kNotFound);
  BundlePaths paths = PathsFor(config_.state_dir, config_.root_dir, "default", "c3");
  EXPECT_NE(::access(paths.bundle.c_str(), F_OK), 0);
  auto bad_program = Create(Params("c3", {"/no/such/program"}));
  EXPECT_FALSE(bad_program.ok());
  EXPECT_NE(::access(paths.bundle.c_str(), F_OK), 0);
  EXPECT_TRUE(WaitNoShims());
  Run("c4", {"sleep", "1000"});
  EXPECT_EQ(Create(Params("c4", {"true"})).status().code(), Code::kAlreadyExists);
  EXPECT_EQ(Start("nope").status().code(), Code::kNotFound);
  EXPECT_EQ(Wait("nope").status().code(), Code::kNotFound);
}

TEST_P(TaskManagerTest, RecoversLiveShimsAfterRestart) {
  Run("alive", {"sleep", "1000"});
  Run("exits", {"sh", "-c", "sleep 1; exit 3"});
  manager_.reset();  // berth-runtime "dies"; the shims keep the containers
  std::this_thread::sleep_for(1500ms);
  StartManager();
  auto list = Await<rt::ListTasksResponse>([&](auto d) { manager_->List("default", d); });
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->tasks_size(), 2);
  auto exits = Wait("exits");
  ASSERT_TRUE(exits.ok()) << exits.status().ToString();
  EXPECT_EQ(exits->exit_status(), 3u);
  EXPECT_EQ(Get("alive")->status(), rt::RUNNING);
  EXPECT_GT(Get("alive")->pid(), 0u);
  EXPECT_EQ(Get("alive")->runtime(), GetParam());  // the name, not the shim binary's
  ASSERT_TRUE(Kill("alive", SIGKILL).ok());
  EXPECT_EQ(Wait("alive")->exit_status(), 137u);
  EXPECT_TRUE(Delete("alive").ok());
  EXPECT_TRUE(Delete("exits").ok());
}

TEST_P(TaskManagerTest, DeadShimsAreReportedExited) {
  Run("done", {"sh", "-c", "exit 5"});
  ASSERT_EQ(Wait("done")->exit_status(), 5u);
  BundlePaths done_paths = PathsFor(config_.state_dir, config_.root_dir, "default", "done");
  for (int i = 0; i < 100 && !ReadExit(done_paths); ++i) std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(ReadExit(done_paths).has_value());
  Run("lost", {"sleep", "1000"});
  manager_.reset();
  // Both shims die (the containers' processes too: runc's delete --force in `shim delete`).
  for (pid_t pid : testing::ProcessesMatching(config_.address)) ::kill(pid, SIGKILL);
  ASSERT_TRUE(WaitNoShims()) << ::testing::PrintToString(
      testing::ProcessesMatching(config_.address));
  StartManager();
  auto done = Wait("done");
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->exit_status(), 5u);  // the recorded status, not a made-up one
  auto lost = Wait("lost");
  ASSERT_TRUE(lost.ok()) << lost.status().ToString();
  // Both shims' `delete` kill the container with SIGKILL and report that status.
  EXPECT_EQ(lost->exit_status(), 137u);
  EXPECT_TRUE(HasEvent("/tasks/exit"));
  EXPECT_EQ(Get("lost")->status(), rt::STOPPED);
  EXPECT_EQ(Kill("lost", SIGKILL).status().code(), Code::kNotFound);
  EXPECT_TRUE(Delete("lost").ok());
  EXPECT_TRUE(Delete("done").ok());
  EXPECT_TRUE(HasEvent("/tasks/delete"));
  EXPECT_TRUE(testing::RuncContainers(config_.runc_root).empty());
}

// CloseIO through the manager. As with containerd, the shim holds a write end of the stdin FIFO
// of its own, so that a client's writer may come and go; CloseIO drops it. The client's writer
// closes first and the task still runs (cat waits); only CloseIO ends the container's stdin.
TEST_P(TaskManagerTest, CloseIOEndsTheContainersStdin) {
  std::string in_fifo = tmp_->Join("stdin");
  ASSERT_EQ(::mkfifo(in_fifo.c_str(), 0600), 0);
  CreateParams params = Params("io", {"sh", "-c", "cat; echo eof; exit 4"});
  params.stdin = in_fifo;
  auto created = Create(params);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ASSERT_TRUE(Start("io").ok());
  // The shim opened the FIFO for reading at Create: this open does not block.
  UniqueFd writer(::open(in_fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(writer.valid()) << errno;
  ASSERT_EQ(::write(writer.get(), "hello\n", 6), 6);
  writer.reset();
  BundlePaths paths = PathsFor(config_.state_dir, config_.root_dir, "default", "io");
  auto log_text = [&] {
    auto text = ReadFile(paths.LogFile());
    return text.ok() ? *text : std::string();
  };
  for (int i = 0; i < 100 && log_text() != "hello\n"; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(log_text(), "hello\n");
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(Get("io")->status(), rt::RUNNING);  // the shim's own writer keeps cat waiting
  rt::CloseIORequest close;
  close.set_container_id("io");
  close.set_stdin(true);
  auto closed = Await<rt::CloseIOResponse>([&](auto d) { manager_->CloseIO("default", close, d); });
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  auto exit = Wait("io");
  ASSERT_TRUE(exit.ok()) << exit.status().ToString();
  EXPECT_EQ(exit->exit_status(), 4u);
  for (int i = 0; i < 100 && log_text() != "hello\neof\n"; ++i) {
    std::this_thread::sleep_for(20ms);  // the shim copies the output asynchronously
  }
  EXPECT_EQ(log_text(), "hello\neof\n");
  close.set_container_id("nope");
  EXPECT_EQ(Await<rt::CloseIOResponse>([&](auto d) { manager_->CloseIO("default", close, d); })
                .status()
                .code(),
            Code::kNotFound);
  EXPECT_TRUE(Delete("io").ok());
}

// Update through the manager changes the running container's cgroup: the new pids limit shows
// in the task's metrics.
TEST_P(TaskManagerTest, UpdateChangesTheCgroupLimits) {
  Run("upd", {"sleep", "1000"});
  auto pids_limit = [&]() -> uint64_t {
    rt::MetricsRequest request;
    request.add_filters("upd");
    auto metrics =
        Await<rt::MetricsResponse>([&](auto d) { manager_->Metrics("default", request, d); });
    if (!metrics.ok() || metrics->metrics_size() != 1) return 0;
    const auto& data = metrics->metrics(0).data();
    if (data.type_url().find("cgroups.v2") != std::string::npos) {
      io::containerd::cgroups::v2::Metrics v2;
      return v2.ParseFromString(data.value()) ? v2.pids().limit() : 0;
    }
    io::containerd::cgroups::v1::Metrics v1;
    return v1.ParseFromString(data.value()) ? v1.pids().limit() : 0;
  };
  EXPECT_NE(pids_limit(), 77u);
  rt::UpdateTaskRequest update;
  update.set_container_id("upd");
  update.mutable_resources()->set_type_url(
      "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources");
  update.mutable_resources()->set_value(R"({"pids":{"limit":77}})");
  auto updated =
      Await<rt::UpdateTaskResponse>([&](auto d) { manager_->Update("default", update, d); });
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(pids_limit(), 77u);
  update.set_container_id("nope");
  EXPECT_EQ(Await<rt::UpdateTaskResponse>([&](auto d) { manager_->Update("default", update, d); })
                .status()
                .code(),
            Code::kNotFound);
  ASSERT_TRUE(Kill("upd", SIGKILL).ok());
  EXPECT_EQ(Wait("upd")->exit_status(), 137u);
  EXPECT_TRUE(Delete("upd").ok());
}

// A shim found dead whose `delete` fails too: nothing tells how the task ended, so it is
// reported exited with 255 (containerd's cleanupAfterDeadShim), and that status is kept.
TEST_P(TaskManagerTest, DeadShimWhoseDeleteFailsIsReported255) {
  Run("orphan", {"sleep", "1000"});
  pid_t container = static_cast<pid_t>(Get("orphan")->pid());
  ASSERT_GT(container, 0);
  manager_.reset();
  for (pid_t pid : testing::ProcessesMatching(config_.address)) ::kill(pid, SIGKILL);
  ASSERT_TRUE(WaitNoShims());
  // The recorded shim binary now refuses `delete`.
  std::string failing_shim = tmp_->Join("failing-shim");
  ASSERT_TRUE(
      WriteFileAtomic(failing_shim, "#!/bin/sh\necho 'delete refused' >&2\nexit 1\n", 0755).ok());
  BundlePaths paths = PathsFor(config_.state_dir, config_.root_dir, "default", "orphan");
  ASSERT_TRUE(WriteFileAtomic(paths.ShimBinary(), failing_shim).ok());
  StartManager();
  auto lost = Wait("orphan");
  ASSERT_TRUE(lost.ok()) << lost.status().ToString();
  EXPECT_EQ(lost->exit_status(), 255u);
  EXPECT_EQ(Get("orphan")->status(), rt::STOPPED);
  EXPECT_EQ(Get("orphan")->exit_status(), 255u);
  EXPECT_TRUE(HasEvent("/tasks/exit"));
  // Kept across another restart (no second, different status is made up).
  manager_.reset();
  StartManager();
  EXPECT_EQ(Wait("orphan")->exit_status(), 255u);
  // The failed delete left the container running: clean it up as an operator would, then
  // delete the task.
  ::kill(container, SIGKILL);
  for (const auto& ns_id : testing::RuncContainers(config_.runc_root)) {
    std::string ns = ns_id.substr(0, ns_id.find('/'));
    (void)RunCapture({"runc", "--root", config_.runc_root + "/" + ns, "delete", "--force",
                      ns_id.substr(ns_id.find('/') + 1)});
  }
  auto deleted = Delete("orphan");
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted->exit_status(), 255u);
}

INSTANTIATE_TEST_SUITE_P(Shims, TaskManagerTest,
                         ::testing::Values("io.containerd.runc.v2", "io.containerd.berth.v1"),
                         [](const auto& info) {
                           return info.param == "io.containerd.runc.v2" ? "containerd_runc_shim"
                                                                        : "berth_shim";
                         });

}  // namespace
}  // namespace berth::runtime
