#pragma once
// ContentServiceHarness: a real berth-content process on a fresh temp root/state (/tmp/b-XXXXXX),
// started without berthd (--berthd none), with a client and a Proxy to its socket. The test
// plays the supervisor: it can kill -9 the process and start it again on the same root.
// Cleanup is RAII: the process is SIGKILLed and reaped, the temp dir removed, even on failure.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/process.h"
#include "common/temp_dir.h"
#include "ipc/client.h"
#include "services/content/proxy.h"

namespace berth::integration {

using namespace std::chrono_literals;

// $BERTH_BUILD_DIR/<relative>; "" when BERTH_BUILD_DIR is unset.
std::string ContentBuildPath(const std::string& relative);

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

}  // namespace berth::integration
