#include "tests/integration/content_harness.h"

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "common/fs.h"

namespace berth::integration {

std::string ContentBuildPath(const std::string& relative) {
  const char* dir = std::getenv("BERTH_BUILD_DIR");
  return dir == nullptr ? "" : std::string(dir) + "/" + relative;
}

BlobsWatcher::BlobsWatcher(std::string blobs, Digest expected, uint64_t size)
    : blobs_(std::move(blobs)), expected_(std::move(expected)), size_(size) {
  thread_ = std::thread([this] { Run(); });
}

void BlobsWatcher::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void BlobsWatcher::Run() {
  while (!stop_) {
    std::error_code ec;
    for (auto& e : std::filesystem::recursive_directory_iterator(blobs_, ec)) {
      if (e.is_directory()) continue;
      std::string name = e.path().filename().string();
      std::error_code size_ec;
      uint64_t size = std::filesystem::file_size(e.path(), size_ec);
      if (violation_.empty() && (name != expected_.hex || (!size_ec && size != size_))) {
        violation_ = e.path().string() + " with " + std::to_string(size) + " bytes";
      }
    }
    ++scans_;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

ContentServiceHarness::ContentServiceHarness() : dir_(TempDir::Create("b").value()) {
  root_ = dir_.Join("root");
  state_ = dir_.Join("state");
  (void)MakeDirs(root_, 0711);
  (void)MakeDirs(state_, 0700);
  client_ = std::make_unique<ipc::Client>(socket(), ipc::ClientOptions{.connect_timeout = 10s});
  proxy_ = std::make_unique<content::Proxy>(*client_, content::ProxyOptions{.ns = "default"});
}

ContentServiceHarness::~ContentServiceHarness() {
  proxy_.reset();
  client_.reset();
  (void)Kill9();
}

Status ContentServiceHarness::Start(std::vector<std::string> extra_flags,
                                    std::chrono::milliseconds timeout) {
  std::string binary = ContentBuildPath("services/content/berth-content");
  if (binary.empty() || !std::filesystem::exists(binary)) {
    return Error(Code::kNotFound, "berth-content not found at \"{}\" (set BERTH_BUILD_DIR)",
                 binary);
  }
  SpawnOptions options;
  options.argv = {binary,     "--root", root_,         "--state", state_,
                  "--berthd", "none",   "--log-level", "warn"};
  for (auto& flag : extra_flags) options.argv.push_back(std::move(flag));
  options.stdin_fd = SpawnOptions::kDevNull;
  BERTH_ASSIGN_OR_RETURN(process_, ChildProcess::Spawn(options));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto exited = process_.TryWait();
    if (exited.ok() && exited->has_value()) {
      return Error(Code::kInternal, "berth-content exited at start: {}", (*exited)->ToString());
    }
    // Any answer from the store (NOT_FOUND for a ref nobody wrote) means it serves.
    Status probe = Status(Code::kUnavailable, "no socket yet");
    if (std::filesystem::exists(socket())) probe = proxy_->GetStatus("harness-probe").status();
    if (probe.ok() || probe.code() == Code::kNotFound) return Status::Ok();
    if (std::chrono::steady_clock::now() > deadline) {
      return Error(Code::kDeadlineExceeded, "berth-content did not answer: {}", probe.ToString());
    }
    std::this_thread::sleep_for(20ms);
  }
}

Status ContentServiceHarness::Kill9() {
  if (process_.pid() < 0 || process_.exit_status()) return Status::Ok();
  (void)process_.Kill(SIGKILL);
  return process_.Wait().status();
}

Result<ExitStatus> ContentServiceHarness::Terminate(std::chrono::milliseconds timeout) {
  BERTH_RETURN_IF_ERROR(process_.Kill(SIGTERM));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    BERTH_ASSIGN_OR_RETURN(auto exited, process_.TryWait());
    if (exited) return *exited;
    std::this_thread::sleep_for(10ms);
  }
  (void)Kill9();
  return Status(Code::kDeadlineExceeded, "berth-content did not stop on SIGTERM");
}

}  // namespace berth::integration
