#include "tests/interop/interop_util.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "bench/ipc/forward_request.h"
#include "common/fs.h"
#include "common/unique_fd.h"

namespace berth::interop {

namespace {

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

std::string ReadOrEmpty(const std::string& path) {
  auto content = ReadFile(path);
  return content.ok() ? *content : std::string();
}

Result<UniqueFd> CreateOutputFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return ErrnoStatus(errno, "open " + path);
  return fd;
}

}  // namespace

Result<std::string> BuiltBinary(const std::string& relative, const std::string& how_to_build) {
  std::string path = EnvOr("BERTH_BUILD_DIR", BERTH_INTEROP_BUILD_DIR) + "/" + relative;
  if (::access(path.c_str(), X_OK) != 0) {
    return Error(Code::kFailedPrecondition, "{} is missing: {}", path, how_to_build);
  }
  return path;
}

Result<std::string> GoPeer() {
  return BuiltBinary("tests/go/ttrpc-peer",
                     "build the berth_ttrpc_peer target (needs golang-go and "
                     "golang-github-containerd-containerd-dev, see scripts/install-deps.sh)");
}

Result<std::string> EventsServer() {
  return BuiltBinary("tests/interop/berth-interop-events-server",
                     "build the berth-interop-events-server target");
}

std::string SourcePath(const std::string& relative) {
  return EnvOr("BERTH_SOURCE_DIR", BERTH_INTEROP_SOURCE_DIR) + "/" + relative;
}

containerd::services::events::ttrpc::v1::ForwardRequest MakeForward(
    const std::string& ns, const std::string& topic, const std::string& container_id) {
  auto request = bench::MakeForwardRequest(ns, topic, 0);
  request.mutable_envelope()->mutable_event()->set_value(bench::EncodeTaskOom(container_id));
  return request;
}

Result<BackgroundProcess> BackgroundProcess::Start(const std::vector<std::string>& argv,
                                                   const std::string& dir,
                                                   const std::string& name) {
  BackgroundProcess process;
  process.stdout_path_ = dir + "/" + name + ".out";
  process.stderr_path_ = dir + "/" + name + ".err";
  BERTH_ASSIGN_OR_RETURN(UniqueFd out, CreateOutputFile(process.stdout_path_));
  BERTH_ASSIGN_OR_RETURN(UniqueFd err, CreateOutputFile(process.stderr_path_));
  SpawnOptions options;
  options.argv = argv;
  options.stdin_fd = SpawnOptions::kDevNull;
  options.stdout_fd = out.get();
  options.stderr_fd = err.get();
  BERTH_ASSIGN_OR_RETURN(process.child_, ChildProcess::Spawn(options));
  return process;
}

std::string BackgroundProcess::Stdout() const { return ReadOrEmpty(stdout_path_); }
std::string BackgroundProcess::Stderr() const { return ReadOrEmpty(stderr_path_); }

Status BackgroundProcess::WaitForOutput(const std::string& needle,
                                        std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (Stdout().find(needle) != std::string::npos) return Status::Ok();
    if (!Running()) {
      return Error(Code::kUnavailable,
                   "process exited ({}) before printing \"{}\"; stdout: {}; "
                   "stderr: {}",
                   child_.exit_status() ? child_.exit_status()->ToString() : "?", needle, Stdout(),
                   Stderr());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error(Code::kDeadlineExceeded, "no \"{}\" within {} ms; stdout: {}; stderr: {}",
                   needle, timeout.count(), Stdout(), Stderr());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool BackgroundProcess::Running() {
  auto exited = child_.TryWait();
  return exited.ok() && !exited->has_value();
}

Result<ExitStatus> BackgroundProcess::Stop(std::chrono::milliseconds timeout) {
  if (Running()) (void)child_.Kill(SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (Running()) (void)child_.Kill(SIGKILL);
  return child_.Wait();
}

Result<Containerd> Containerd::Start(const std::string& dir) {
  std::string script = SourcePath("tests/fixtures/containerd.sh");
  auto out = RunCapture({"bash", script, "start", dir}, {}, std::chrono::seconds(40));
  if (!out.ok()) {
    (void)RunCapture({"bash", script, "stop", dir}, {}, std::chrono::seconds(40));
    return out.status().Annotate("starting containerd");
  }
  std::string socket = *out;
  while (!socket.empty() && (socket.back() == '\n' || socket.back() == ' ')) socket.pop_back();
  return Containerd(dir, socket);
}

Containerd::Containerd(Containerd&& other) noexcept
    : dir_(std::exchange(other.dir_, "")), socket_(std::move(other.socket_)) {}

Containerd::~Containerd() {
  if (dir_.empty()) return;
  (void)RunCapture({"bash", SourcePath("tests/fixtures/containerd.sh"), "stop", dir_}, {},
                   std::chrono::seconds(40));
}

std::string Containerd::LogTail() const {
  std::string log = ReadOrEmpty(dir_ + "/containerd.log");
  return log.size() > 4000 ? log.substr(log.size() - 4000) : log;
}

}  // namespace berth::interop
