#include "services/snapshot/testing/test_util.h"

#include <fcntl.h>

#include <cstdlib>

#include "common/fs.h"

namespace berth::snapshot::testing {

ServerThread::ServerThread(std::string socket_path,
                           std::map<std::string, Snapshotter*> snapshotters, Differ* differ)
    : path_(std::move(socket_path)) {
  loop_ = std::make_unique<ipc::EventLoop>();
  loop_->StartThread();
  std::promise<Status> listening;
  loop_->Post([&] {
    server_ = std::make_unique<ipc::Server>(*loop_);
    snapshots_ = std::make_unique<SnapshotServer>(*loop_, "overlayfs");
    for (auto& [name, snapshotter] : snapshotters) snapshots_->Add(name, snapshotter);
    snapshots_->RegisterWith(*server_);
    if (differ) {
      diff_ = std::make_unique<DiffServer>(*loop_, differ);
      diff_->RegisterWith(*server_);
    }
    listening.set_value(server_->Listen(path_));
  });
  status_ = listening.get_future().get();
}

ServerThread::~ServerThread() {
  std::promise<void> closed;
  loop_->Post([&] {
    server_.reset();
    snapshots_.reset();
    diff_.reset();
    closed.set_value();
  });
  closed.get_future().wait();
  loop_.reset();
}

int64_t PeakRss() {
  auto status = ReadFile("/proc/self/status");
  if (!status.ok()) return -1;
  size_t pos = status->find("VmHWM:");
  if (pos == std::string::npos) return -1;
  return std::strtoll(status->c_str() + pos + 6, nullptr, 10) * 1024;
}

void ResetPeakRss() {
  UniqueFd fd(::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC));
  if (fd) (void)WriteAll(fd.get(), "5", "clear_refs");
}

}  // namespace berth::snapshot::testing
