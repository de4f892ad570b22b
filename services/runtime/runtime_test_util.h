#pragma once
// Helpers for berth-runtime tests: a busybox rootfs, blocking calls into the TaskManager, and a
// guard that leaves no shim, runc container or mount behind.

#include <sys/types.h>

#include <future>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::runtime::testing {

// Makes <dir> a minimal root filesystem: /bin/busybox (static) plus applet links, /etc/passwd,
// /etc/group, and empty /proc /dev /sys /tmp /run.
Status MakeBusyboxRootfs(const std::string& dir);

// Calls `fn(done)` and waits for `done`'s result.
template <typename T, typename Fn>
Result<T> Await(Fn&& fn) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  fn([promise](Result<T> result) { promise->set_value(std::move(result)); });
  if (future.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    return Status(Code::kDeadlineExceeded, "no answer within 60 s");
  }
  return future.get();
}

// Pids of processes whose command line contains `needle` (e.g. a test's unique socket path).
std::vector<pid_t> ProcessesMatching(const std::string& needle);
// Mount points under `prefix`.
std::vector<std::string> MountsUnder(const std::string& prefix);

// On destruction: SIGKILLs the processes matching `needle`, force-deletes the runc containers
// under `runc_root` (every namespace dir) and lazily unmounts what is left under `state`.
class LeftoverGuard {
 public:
  LeftoverGuard(std::string needle, std::string runc_root, std::string state)
      : needle_(std::move(needle)), runc_root_(std::move(runc_root)), state_(std::move(state)) {}
  ~LeftoverGuard();

 private:
  std::string needle_, runc_root_, state_;
};

// Removes the (empty) cgroup directories at and below `parent` (e.g. "/berth-test-x") in every
// cgroup hierarchy mounted under /sys/fs/cgroup. Tests give their containers a cgroup parent of
// their own, so that two tests running at once never share (and freeze) one cgroup.
void RemoveCgroupTree(const std::string& parent);

// Runc containers (ids) under a runc root (all namespace subdirectories).
std::vector<std::string> RuncContainers(const std::string& runc_root);

}  // namespace berth::runtime::testing
