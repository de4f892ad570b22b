#include "tests/integration/supervisor_test_util.h"

#include <dirent.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <thread>

#include "common/fs.h"

namespace berth::integration {

namespace sv = berth::supervisor::v1;
using Clock = std::chrono::steady_clock;

std::string BuildPath(const std::string& relative) {
  const char* build = std::getenv("BERTH_BUILD_DIR");
  if (build == nullptr || *build == '\0') return "";
  return std::string(build) + "/" + relative;
}

std::string TestServiceBinary() { return BuildPath("tests/integration/berth-testsvc"); }

bool ProcessGone(pid_t pid) {
  Result<std::string> stat = ReadFile(fmt::format("/proc/{}/stat", pid));
  if (!stat.ok()) return true;
  size_t close = stat->rfind(')');
  return close != std::string::npos && close + 2 < stat->size() && (*stat)[close + 2] == 'Z';
}

std::vector<pid_t> ProcessesWith(const std::string& needle) {
  std::vector<pid_t> out;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* e = ::readdir(proc)) {
    pid_t pid = std::atoi(e->d_name);
    if (pid <= 0 || ProcessGone(pid)) continue;
    Result<std::string> cmdline = ReadFile(fmt::format("/proc/{}/cmdline", pid));
    if (cmdline.ok() && cmdline->find(needle) != std::string::npos) out.push_back(pid);
  }
  ::closedir(proc);
  return out;
}

BerthdHarness::BerthdHarness(BerthdOptions options) : options_(std::move(options)) {
  // Services orphaned by a killed berthd become our children, so we can reap them.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  auto dir = TempDir::Create("b");
  if (!dir.ok()) return;
  dir_.emplace(std::move(dir).value());
  root_ = dir_->Join("root");
  state_ = dir_->Join("state");
  config_ = dir_->Join("config.toml");
  std::vector<std::string> names, binaries;
  for (auto& [name, binary] : options_.services) {
    names.push_back(fmt::format("\"{}\"", name));
    if (!binary.empty()) binaries.push_back(fmt::format("{} = \"{}\"", name, binary));
  }
  std::string toml = fmt::format(
      "root = \"{}\"\nstate = \"{}\"\nrestart_backoff_initial_ms = {}\n"
      "restart_backoff_max_ms = {}\n[services]\nspawn = {}\nnames = [{}]\n"
      "[services.binaries]\n{}\n[events]\nmax_log_entries = {}\n",
      root_, state_, options_.backoff_initial_ms, options_.backoff_max_ms,
      options_.spawn ? "true" : "false", fmt::join(names, ", "), fmt::join(binaries, "\n"),
      options_.max_log_entries);
  toml += options_.extra_toml;
  if (!WriteFileAtomic(config_, toml).ok()) config_.clear();
  client_ = std::make_unique<ipc::Client>(socket(), ipc::ClientOptions{.connect_timeout = 5s});
  supervisor_ = std::make_unique<sv::SupervisorClient>(*client_);
}

BerthdHarness::~BerthdHarness() {
  supervisor_.reset();
  client_.reset();
  if (berthd_.pid() > 0 && !berthd_.exit_status()) {
    (void)berthd_.Kill(SIGKILL);
    (void)berthd_.Wait();
  }
  // Everything still running from this test: services we saw, and any process naming our dir.
  std::set<pid_t> victims = tracked_;
  if (dir_) {
    for (pid_t pid : ProcessesWith(dir_->path())) victims.insert(pid);
  }
  for (pid_t pid : victims) ::kill(pid, SIGKILL);
  // Reap our (adopted-orphan) children until none is left.
  auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline) {
    pid_t reaped = ::waitpid(-1, nullptr, WNOHANG);
    if (reaped < 0) break;  // ECHILD: no children left
    if (reaped == 0) std::this_thread::sleep_for(5ms);
  }
}

Status BerthdHarness::Start(std::chrono::milliseconds timeout) {
  if (!dir_ || config_.empty()) return Status(Code::kInternal, "cannot set up a temp dir");
  std::string berthd = BuildPath("supervisor/berthd");
  if (berthd.empty()) return Status(Code::kFailedPrecondition, "BERTH_BUILD_DIR is not set");
  SpawnOptions spawn{.argv = {berthd, "--config", config_, "--root", root_, "--state", state_,
                              "--log-level", "debug"},
                     .stdin_fd = SpawnOptions::kDevNull};
  if (!options_.extra_env.empty()) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
    env.insert(env.end(), options_.extra_env.begin(), options_.extra_env.end());
    spawn.env = std::move(env);
  }
  BERTH_ASSIGN_OR_RETURN(berthd_, ChildProcess::Spawn(std::move(spawn)));
  auto deadline = Clock::now() + timeout;
  while (true) {
    ipc::CallOptions call;
    call.timeout = 1s;
    if (supervisor_->Version(google::protobuf::Empty(), std::move(call)).ok()) break;
    if (auto exited = berthd_.TryWait(); exited.ok() && *exited) {
      return Error(Code::kInternal, "berthd exited: {}", (*exited)->ToString());
    }
    if (Clock::now() > deadline) return Status(Code::kDeadlineExceeded, "berthd did not answer");
    std::this_thread::sleep_for(10ms);
  }
  return Status::Ok();
}

Result<ExitStatus> BerthdHarness::Terminate(std::chrono::milliseconds timeout, int signal) {
  BERTH_RETURN_IF_ERROR(berthd_.Kill(signal));
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    BERTH_ASSIGN_OR_RETURN(std::optional<ExitStatus> exited, berthd_.TryWait());
    if (exited) return *exited;
    std::this_thread::sleep_for(5ms);
  }
  return Error(Code::kDeadlineExceeded, "berthd did not exit after signal {}", signal);
}

void BerthdHarness::Kill9() {
  (void)berthd_.Kill(SIGKILL);
  (void)berthd_.Wait();
}

Status BerthdHarness::WaitServing(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::string last;
  while (Clock::now() < deadline) {
    auto health = supervisor_->Health(google::protobuf::Empty());
    if (health.ok() && health->status() == "serving") {
      for (auto& s : health->services()) {
        if (s.pid() != 0) Track(static_cast<pid_t>(s.pid()));
      }
      return Status::Ok();
    }
    last = health.ok() ? health->DebugString() : health.status().ToString();
    std::this_thread::sleep_for(10ms);
  }
  return Error(Code::kDeadlineExceeded, "berthd not serving: {}", last);
}

Result<sv::ServiceInfo> BerthdHarness::FindService(const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(sv::ListServicesResponse list,
                         supervisor_->ListServices(google::protobuf::Empty()));
  for (auto& service : list.services()) {
    if (service.pid() != 0) Track(static_cast<pid_t>(service.pid()));
    if (service.name() == name) return service;
  }
  return Error(Code::kNotFound, "no service {} in {}", name, list.DebugString());
}

Result<sv::ServiceInfo> BerthdHarness::WaitRunning(const std::string& name,
                                                   std::chrono::milliseconds timeout,
                                                   pid_t not_pid) {
  auto deadline = Clock::now() + timeout;
  std::string last;
  while (Clock::now() < deadline) {
    auto info = FindService(name);
    if (info.ok() && info->state() == "running" && info->pid() != 0 &&
        static_cast<pid_t>(info->pid()) != not_pid) {
      return info;
    }
    last = info.ok() ? info->DebugString() : info.status().ToString();
    std::this_thread::sleep_for(5ms);
  }
  return Error(Code::kDeadlineExceeded, "service {} not running: {}", name, last);
}

Result<std::string> BerthdHarness::Berthctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BuildPath("cli/berthctl"), "--state", state_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCapture(argv, {}, 20s);
}

}  // namespace berth::integration
