#pragma once
// Test harness for berthd integration tests: a berthd process on a fresh temp root/state
// (/tmp/b-XXXXXX), configured through a real TOML file, with clients to its socket.
//
// Cleanup is RAII and covers failures: the harness makes the test process a child subreaper, so
// services orphaned by a killed berthd become its children; on destruction it SIGKILLs berthd
// and every service process it saw, reaps them, and removes the temp dir.

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "berth/supervisor/v1/supervisor.berth.h"
#include "common/process.h"
#include "common/status.h"
#include "common/temp_dir.h"
#include "ipc/client.h"

namespace berth::integration {

using namespace std::chrono_literals;

// $BERTH_BUILD_DIR/<relative>; empty when BERTH_BUILD_DIR is unset.
std::string BuildPath(const std::string& relative);
// The berth-testsvc binary built for these tests.
std::string TestServiceBinary();

// Gone, or a zombie (exited, not yet reaped).
bool ProcessGone(pid_t pid);
// Processes whose command line contains `needle` (e.g. a test's state dir).
std::vector<pid_t> ProcessesWith(const std::string& needle);

struct BerthdOptions {
  // name -> binary ("" lets berthd look for berth-<name> next to itself).
  std::vector<std::pair<std::string, std::string>> services;
  bool spawn = true;
  int64_t backoff_initial_ms = 50;
  int64_t backoff_max_ms = 1000;
  int64_t max_log_entries = 10000;
  // Appended to the config file, e.g. "[content]\ningest_expiry_hours = 1\n".
  std::string extra_toml;
  // "KEY=VALUE" entries added to the environment berthd inherits, e.g. NOTIFY_SOCKET.
  std::vector<std::string> extra_env;
};

class BerthdHarness {
 public:
  explicit BerthdHarness(BerthdOptions options = {});
  ~BerthdHarness();

  // Spawns berthd and waits until it answers Version.
  Status Start(std::chrono::milliseconds timeout = 10s);
  // `signal` (SIGTERM or SIGINT stop berthd), then waits for berthd to exit; returns how it
  // exited.
  Result<ExitStatus> Terminate(std::chrono::milliseconds timeout = 20s, int signal = SIGTERM);
  // SIGKILL and reap (services keep running).
  void Kill9();
  pid_t pid() const { return berthd_.pid(); }

  const std::string& root() const { return root_; }
  const std::string& state() const { return state_; }
  std::string socket() const { return state_ + "/berthd.sock"; }
  std::string ServiceSocket(const std::string& name) const { return state_ + "/" + name + ".sock"; }

  // A client of berthd.sock that rides out berthd restarts (connect timeout 5 s).
  ipc::Client& client() { return *client_; }
  supervisor::v1::SupervisorClient& supervisor() { return *supervisor_; }

  // Waits until Health reports "serving".
  Status WaitServing(std::chrono::milliseconds timeout = 10s);
  // Waits until `name` is running with a pid other than `not_pid`; remembers the pid for cleanup.
  Result<supervisor::v1::ServiceInfo> WaitRunning(const std::string& name,
                                                  std::chrono::milliseconds timeout = 10s,
                                                  pid_t not_pid = 0);
  Result<supervisor::v1::ServiceInfo> FindService(const std::string& name);
  // Kills `pid` at teardown if still alive.
  void Track(pid_t pid) { tracked_.insert(pid); }

  // Runs the built berthctl with --state <state> and `args`; its stdout, or the error (whose
  // message carries berthctl's stderr) when it exits non-zero.
  Result<std::string> Berthctl(const std::vector<std::string>& args);

 private:
  BerthdOptions options_;
  std::optional<TempDir> dir_;
  std::string root_, state_, config_;
  ChildProcess berthd_;
  std::unique_ptr<ipc::Client> client_;
  std::unique_ptr<supervisor::v1::SupervisorClient> supervisor_;
  std::set<pid_t> tracked_;
};

}  // namespace berth::integration
