#include "tests/integration/metadata_harness.h"

#include <fcntl.h>
#include <signal.h>

#include <cstdlib>
#include <thread>

#include "berth/health/v1/health.berth.h"
#include "common/fs.h"
#include "ipc/client.h"

namespace berth::integration {

Result<std::string> BuiltBinary(const std::string& relative) {
  const char* build = std::getenv("BERTH_BUILD_DIR");
  if (build == nullptr) return Status(Code::kFailedPrecondition, "BERTH_BUILD_DIR is not set");
  std::string path = std::string(build) + "/" + relative;
  if (::access(path.c_str(), X_OK) != 0) {
    return Error(Code::kFailedPrecondition, "{} is not built", path);
  }
  return path;
}

Result<std::string> RunBerthctl(const std::string& state, std::vector<std::string> args) {
  BERTH_ASSIGN_OR_RETURN(std::string binary, BuiltBinary("cli/berthctl"));
  args.insert(args.begin(), {binary, "--state", state});
  return RunCapture(args);
}

Result<BerthctlOutput> RunBerthctlBoth(const std::string& state, std::vector<std::string> args) {
  BERTH_ASSIGN_OR_RETURN(std::string binary, BuiltBinary("cli/berthctl"));
  std::string err_path = state + "/berthctl.err";
  // sh sends berthctl's stderr to the file; a failure still reports it (cat'd back to stderr).
  args.insert(args.begin(), {"/bin/sh", "-c",
                             "err=$1; shift; \"$@\" 2>\"$err\"; rc=$?; "
                             "[ $rc -eq 0 ] || cat \"$err\" >&2; exit $rc",
                             "sh", err_path, binary, "--state", state});
  BERTH_ASSIGN_OR_RETURN(std::string out, RunCapture(args));
  BERTH_ASSIGN_OR_RETURN(std::string err, ReadFile(err_path));
  return BerthctlOutput{std::move(out), std::move(err)};
}

ServiceProcess::ServiceProcess(std::string binary, std::string name, std::string root,
                               std::string state, std::vector<std::string> args)
    : binary_(std::move(binary)),
      name_(std::move(name)),
      root_(std::move(root)),
      state_(std::move(state)),
      args_(std::move(args)) {}

ServiceProcess::~ServiceProcess() { Kill9(); }

Status ServiceProcess::Start(std::chrono::milliseconds timeout) {
  UniqueFd log(::open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log.valid()) return ErrnoStatus(errno, "open " + log_path());
  SpawnOptions options;
  options.argv = {binary_, "--root", root_, "--state", state_, "--log-level", "debug"};
  options.argv.insert(options.argv.end(), args_.begin(), args_.end());
  options.stdin_fd = SpawnOptions::kDevNull;
  options.stdout_fd = log.get();
  options.stderr_fd = log.get();
  BERTH_ASSIGN_OR_RETURN(child_, ChildProcess::Spawn(options));
  ipc::Client client(socket());
  health::v1::HealthClient health(client);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    ipc::CallOptions call;
    call.timeout = std::chrono::seconds(2);
    if (health.Check(health::v1::CheckRequest(), std::move(call)).ok()) return Status::Ok();
    auto exited = child_.TryWait();
    if (exited.ok() && exited->has_value()) {
      return Error(Code::kUnavailable, "{} exited ({}): {}", name_, (*exited)->ToString(),
                   LogTail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Error(Code::kDeadlineExceeded, "{} did not become healthy: {}", name_, LogTail());
}

void ServiceProcess::Kill9() {
  if (!running()) return;
  (void)child_.Kill(SIGKILL);
  (void)child_.Wait();
}

Status ServiceProcess::Terminate(std::chrono::milliseconds timeout) {
  if (!running()) return Status::Ok();
  BERTH_RETURN_IF_ERROR(child_.Kill(SIGTERM));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto exited = child_.TryWait();
    if (!exited.ok()) return exited.status();
    if (exited->has_value()) {
      if (!(*exited)->success()) {
        return Error(Code::kInternal, "{} {}", name_, (*exited)->ToString());
      }
      return Status::Ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill9();
  return Error(Code::kDeadlineExceeded, "{} ignored SIGTERM", name_);
}

std::string ServiceProcess::LogTail() const {
  auto text = ReadFile(log_path());
  if (!text.ok()) return "(no log)";
  return text->size() > 2000 ? text->substr(text->size() - 2000) : *text;
}

Result<ServiceDirs> ServiceDirs::Create() {
  BERTH_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("b"));
  ServiceDirs dirs;
  dirs.root = dir.Join("root");
  dirs.state = dir.Join("state");
  BERTH_RETURN_IF_ERROR(MakeDirs(dirs.root, 0711));
  BERTH_RETURN_IF_ERROR(MakeDirs(dirs.state, 0711));
  dirs.dir.emplace(std::move(dir));
  return dirs;
}

}  // namespace berth::integration
