#pragma once
// TaskManager's private types, shared by its implementation files.

#include <optional>

#include "containerd/runtime/v2/task/shim.berth.h"
#include "ipc/client.h"
#include "services/runtime/bundle.h"
#include "services/runtime/log_drain.h"
#include "services/runtime/task_manager.h"

namespace berth::runtime {

namespace tv2 = ::containerd::task::v2;

struct TaskManager::Task {
  enum class Phase {
    kCreating,  // bundle and shim being set up
    kLive,      // a shim serves it
    kDead,      // no shim (it died or was cleaned up): only Get, Wait, Delete make sense
    kDeleting,
  };
  std::string ns;
  std::string id;
  BundlePaths paths;
  std::string runtime;
  std::string shim_binary;
  Phase phase = Phase::kCreating;
  std::shared_ptr<ipc::AsyncClient> connection;
  std::unique_ptr<tv2::TaskAsyncClient> shim;
  std::unique_ptr<LogDrain> log;
  uint32_t pid = 0;
  std::string stdin, stdout, stderr;
  bool terminal = false;
  std::optional<ExitRecord> exit;  // the init process's exit, once known
  std::vector<Done<rt::WaitResponse>> waiters;
  bool monitoring = false;  // a Wait RPC is open on the shim
  bool cleaning = false;    // `shim delete` running after the shim died
};

struct TaskManager::Started {
  std::string binary;
  std::string socket;
  UniqueFd log_fd;
};

// containerd.v1.types.Status and berth.runtime.v1.Status share their numbers.
inline rt::Status ToStatus(int shim_status) {
  return rt::Status_IsValid(shim_status) ? static_cast<rt::Status>(shim_status) : rt::UNKNOWN;
}

// Call options for a shim RPC: the task's namespace and a deadline (0 = none).
inline ipc::CallOptions ShimOptions(const std::string& ns,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  ipc::CallOptions options;
  options.ns = ns;
  options.timeout = timeout;
  return options;
}

void SetTimestamp(int64_t unix_nanos, google::protobuf::Timestamp* out);
int64_t TimestampNanos(const google::protobuf::Timestamp& ts);

}  // namespace berth::runtime

#include <thread>

namespace berth::runtime {

template <typename T>
void TaskManager::Blocking(std::function<Result<T>()> work, std::function<void(Result<T>)> then) {
  {
    std::lock_guard lock(workers_mutex_);
    ++workers_;
  }
  std::thread([this, work = std::move(work), then = std::move(then), alive = alive_]() mutable {
    auto result = std::make_shared<Result<T>>(work());
    loop_.Post([alive, then = std::move(then), result] {
      if (*alive) then(std::move(*result));
    });
    std::lock_guard lock(workers_mutex_);
    if (--workers_ == 0) workers_done_.notify_all();
  }).detach();
}

}  // namespace berth::runtime
