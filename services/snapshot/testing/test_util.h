#pragma once
// Small helpers shared by the snapshot service's tests.

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>

#include "common/status.h"
#include "ipc/event_loop.h"
#include "ipc/server.h"
#include "services/snapshot/snapshot_server.h"

#define SNAP_ASSERT_OK(expr)                                   \
  do {                                                         \
    ::berth::Status snap_status_ = (expr);                     \
    ASSERT_TRUE(snap_status_.ok()) << snap_status_.ToString(); \
  } while (0)

#define SNAP_EXPECT_OK(expr)                                   \
  do {                                                         \
    ::berth::Status snap_status_ = (expr);                     \
    EXPECT_TRUE(snap_status_.ok()) << snap_status_.ToString(); \
  } while (0)

// ASSERT_OK_AND_ASSIGN(auto x, Foo());
#define SNAP_ASSIGN_OR_FAIL(lhs, expr) \
  SNAP_ASSIGN_OR_FAIL_IMPL(BERTH_CONCAT(snap_result_, __LINE__), lhs, expr)
#define SNAP_ASSIGN_OR_FAIL_IMPL(tmp, lhs, expr)    \
  auto tmp = (expr);                                \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString(); \
  lhs = std::move(tmp).value()

namespace berth::snapshot::testing {

// A SnapshotServer and a DiffServer listening on `socket_path`, on a private loop thread.
class ServerThread {
 public:
  // `differ` may be null (no Diff service).
  ServerThread(std::string socket_path, std::map<std::string, Snapshotter*> snapshotters,
               Differ* differ);
  ~ServerThread();
  const Status& status() const { return status_; }

 private:
  std::string path_;
  std::unique_ptr<ipc::EventLoop> loop_;
  std::unique_ptr<ipc::Server> server_;
  std::unique_ptr<SnapshotServer> snapshots_;
  std::unique_ptr<DiffServer> diff_;
  Status status_;
};

// Peak resident memory (VmHWM) of this process in bytes, and a reset of that peak.
int64_t PeakRss();
void ResetPeakRss();

}  // namespace berth::snapshot::testing
