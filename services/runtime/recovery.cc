// TaskManager::Recover: reload every task after berth-runtime (re)starts.
#include <dirent.h>
#include <fcntl.h>

#include <spdlog/spdlog.h>

#include "common/fs.h"
#include "services/runtime/shim_process.h"
#include "services/runtime/task_internal.h"

namespace berth::runtime {
struct TaskManager::Found {
  std::string ns;
  std::string id;
  BundlePaths paths;
  bool has_bundle = true;
  Result<std::string> socket = Status(Code::kNotFound, "no address");
  std::string binary;
  std::string runtime;  // empty for bundles written before the name was kept
  std::optional<ExitRecord> exit;
  UniqueFd log_fd;
};

namespace {

using Found = TaskManager::Found;

std::vector<std::string> SubDirs(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != ".." && e->d_type == DT_DIR) names.push_back(name);
  }
  ::closedir(d);
  return names;
}

std::vector<Found> Scan(const RuntimeConfig& config) {
  std::vector<Found> found;
  for (const auto& ns : SubDirs(config.state_dir)) {
    for (const auto& id : SubDirs(config.state_dir + "/" + ns)) {
      Found f;
      f.ns = ns;
      f.id = id;
      f.paths = PathsFor(config.state_dir, config.root_dir, ns, id);
      f.socket = ReadShimSocket(f.paths);
      auto binary = ReadFile(f.paths.ShimBinary());
      if (binary.ok()) f.binary = *binary;
      auto runtime = ReadFile(f.paths.RuntimeName());
      if (runtime.ok()) f.runtime = *runtime;
      f.exit = ReadExit(f.paths);
      f.log_fd.reset(::open(f.paths.LogFifo().c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
      found.push_back(std::move(f));
    }
  }
  // Work dirs without a bundle (the state dir was wiped, e.g. by a reboot): tasks that ended,
  // kept while their exit status is known; anything else is debris.
  for (const auto& ns : SubDirs(config.root_dir)) {
    for (const auto& id : SubDirs(config.root_dir + "/" + ns)) {
      BundlePaths paths = PathsFor(config.state_dir, config.root_dir, ns, id);
      if (::access(paths.bundle.c_str(), F_OK) == 0) continue;
      Found f;
      f.ns = ns;
      f.id = id;
      f.paths = paths;
      f.has_bundle = false;
      f.exit = ReadExit(paths);
      if (f.exit) {
        found.push_back(std::move(f));
      } else {
        (void)RemoveAll(paths.work);
      }
    }
  }
  return found;
}

}  // namespace

void TaskManager::Recover(std::function<void()> done) {
  loop_.Dispatch([this, done = std::move(done)] {
    ready_ = false;
    Blocking<std::shared_ptr<std::vector<Found>>>(
        [config = config_]() -> Result<std::shared_ptr<std::vector<Found>>> {
          return std::make_shared<std::vector<Found>>(Scan(config));
        },
        [this, done](Result<std::shared_ptr<std::vector<Found>>> found) {
          auto remaining = std::make_shared<size_t>((*found)->size() + 1);
          auto finish = [this, remaining, done] {
            if (--*remaining != 0) return;
            ready_ = true;
            spdlog::info("recovered {} tasks", tasks_.size());
            auto deferred = std::move(deferred_);
            deferred_.clear();
            for (auto& fn : deferred) fn();
            if (done) done();
          };
          for (auto& f : **found) RecoverTask(std::move(f), finish);
          finish();
        });
  });
}

void TaskManager::RecoverTask(Found found, std::function<void()> finish) {
  auto task = std::make_shared<Task>();
  task->ns = found.ns;
  task->id = found.id;
  task->paths = found.paths;
  task->shim_binary = found.binary;
  task->runtime =
      !found.runtime.empty() ? found.runtime : found.binary.substr(found.binary.rfind('/') + 1);
  task->exit = found.exit;
  if (task->exit) task->pid = task->exit->pid;
  std::string key = task->ns + "/" + task->id;
  if (!found.has_bundle) {
    task->phase = Task::Phase::kDead;
    tasks_[key] = task;
    return finish();
  }
  if (!found.socket.ok()) {
    // The shim never started (berth-runtime died during Create): nothing to report.
    spdlog::info("removing the bundle of unstarted task id={} ns={}", task->id, task->ns);
    ShimContext context{task->ns, task->id, config_.address, config_.events_address,
                        config_.publish_binary};
    Blocking<bool>(
        [task, context]() -> Result<bool> {
          if (!task->shim_binary.empty()) (void)DeleteShim(task->shim_binary, context, task->paths);
          BERTH_RETURN_IF_ERROR(RemoveBundle(task->paths));
          return true;
        },
        [finish](Result<bool>) { finish(); });
    return;
  }
  task->phase = Task::Phase::kLive;
  tasks_[key] = task;
  Attach(task, *found.socket, found.log_fd.release());
  tv2::ConnectRequest request;
  request.set_id(task->id);
  task->shim->Connect(request, ShimOptions(task->ns, std::chrono::seconds(2)),
                      [this, task, finish](Result<tv2::ConnectResponse> response) {
                        if (response.ok()) {
                          task->pid = response->task_pid();
                          Monitor(task);
                        } else {
                          spdlog::info("shim of id={} ns={} does not answer: {}", task->id,
                                       task->ns, response.status().message());
                          ShimDied(task);
                        }
                        finish();
                      });
}

}  // namespace berth::runtime
