#pragma once
// Harness for berth-metadata integration tests: service processes (berth-metadata, and for GC
// tests berth-content and berth-snapshot) in a fresh /tmp/b-XXXXXX root/state, started without
// berthd (or with a test's own events exchange), each killed and reaped on destruction.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/process.h"
#include "common/status.h"
#include "common/temp_dir.h"

namespace berth::integration {

// $BERTH_BUILD_DIR/<relative>; FAILED_PRECONDITION when unset or missing.
Result<std::string> BuiltBinary(const std::string& relative);

class ServiceProcess {
 public:
  // `name` is the service name (socket <state>/<name>.sock); `args` follow the common flags.
  ServiceProcess(std::string binary, std::string name, std::string root, std::string state,
                 std::vector<std::string> args);
  ~ServiceProcess();  // SIGKILL and reap when running

  // Spawns and waits until its Health service answers. Output goes to <state>/<name>.log.
  Status Start(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  void Kill9();
  Status Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  bool running() const { return child_.pid() > 0 && !child_.exit_status().has_value(); }
  pid_t pid() const { return child_.pid(); }
  std::string socket() const { return state_ + "/" + name_ + ".sock"; }
  std::string log_path() const { return state_ + "/" + name_ + ".log"; }
  // The last lines of its log (for failure messages).
  std::string LogTail() const;

 private:
  std::string binary_, name_, root_, state_;
  std::vector<std::string> args_;
  ChildProcess child_;
};

// Runs the built berthctl with --state `state` and `args`: its stdout, or the error (whose
// message carries berthctl's stderr) when it exits non-zero.
Result<std::string> RunBerthctl(const std::string& state, std::vector<std::string> args);

// Berthctl's output on success, both streams kept apart.
struct BerthctlOutput {
  std::string out;
  std::string err;
};

// As RunBerthctl, and its stderr too when it succeeds (through the file <state>/berthctl.err,
// overwritten on each call).
Result<BerthctlOutput> RunBerthctlBoth(const std::string& state, std::vector<std::string> args);

// A temp dir with root/ and state/ (the state path is short enough for sockets).
struct ServiceDirs {
  static Result<ServiceDirs> Create();
  std::optional<TempDir> dir;
  std::string root;
  std::string state;
};

}  // namespace berth::integration
