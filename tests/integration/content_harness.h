#pragma once
// ContentServiceHarness: a real berth-content process on a fresh temp root/state (/tmp/b-XXXXXX),
// started without berthd (--berthd none), with a client and a Proxy to its socket. The test
// plays the supervisor: it can kill -9 the process and start it again on the same root.
// Cleanup is RAII: the process is SIGKILLed and reaped, the temp dir removed, even on failure.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/digest.h"
#include "common/process.h"
#include "common/temp_dir.h"
#include "ipc/client.h"
#include "ipc/event_loop.h"
#include "ipc/server.h"
#include "services/content/content_test_util.h"
#include "services/content/proxy.h"

namespace berth::integration {

using namespace std::chrono_literals;
// Pseudo-random bytes, the same for the same seed.
using content::testing::RandomBytes;

// $BERTH_BUILD_DIR/<relative>; "" when BERTH_BUILD_DIR is unset.
std::string ContentBuildPath(const std::string& relative);

// Watches a blobs/ dir from its own thread until stopped: every file that ever shows up there
// must be complete (named `expected`, `size` bytes). Records the first violation.
class BlobsWatcher {
 public:
  BlobsWatcher(std::string blobs, Digest expected, uint64_t size);
  ~BlobsWatcher() { Stop(); }
  void Stop();
  // "" when every file seen was complete. Read after Stop().
  std::string violation() const { return violation_; }
  uint64_t scans() const { return scans_; }

 private:
  void Run();

  std::string blobs_;
  Digest expected_;
  uint64_t size_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> scans_{0};
  std::string violation_;
  std::thread thread_;
};

class ContentServiceHarness {
 public:
  ContentServiceHarness();
  ~ContentServiceHarness();

  // Spawns berth-content (extra flags appended) and waits until it answers.
  Status Start(std::vector<std::string> extra_flags = {}, std::chrono::milliseconds timeout = 10s);
  // SIGKILL and reap.
  Status Kill9();
  // SIGTERM and wait; returns how it exited.
  Result<ExitStatus> Terminate(std::chrono::milliseconds timeout = 10s);
  pid_t pid() const { return process_.pid(); }

  const std::string& root() const { return root_; }
  const std::string& state() const { return state_; }
  std::string socket() const { return state_ + "/content.sock"; }
  std::string blobs() const { return root_ + "/content/blobs"; }
  // A Proxy over a client that rides out restarts (connect timeout 10 s).
  content::Proxy& proxy() { return *proxy_; }
  ipc::Client& client() { return *client_; }

 private:
  TempDir dir_;
  std::string root_;
  std::string state_;
  ChildProcess process_;
  std::unique_ptr<ipc::Client> client_;
  std::unique_ptr<content::Proxy> proxy_;
};

// Stands in for berth-metadata where berth-content asks it which ingests leases hold: a Leases
// service on `socket` (its own loop thread) whose ListLeasedIngests answers `leased()`; every
// other method is UNIMPLEMENTED. Counts the questions.
class FakeLeasedIngests {
 public:
  explicit FakeLeasedIngests(std::string socket);
  ~FakeLeasedIngests();
  Status Listen();  // serves from now on
  void SetLeased(std::set<std::string> refs);
  uint64_t asked() const { return asked_; }

 private:
  class Service;
  std::string socket_;
  std::unique_ptr<ipc::EventLoop> loop_;
  std::unique_ptr<ipc::Server> server_;
  std::unique_ptr<Service> service_;
  std::mutex mutex_;
  std::set<std::string> leased_;
  std::atomic<uint64_t> asked_{0};
};

}  // namespace berth::integration
