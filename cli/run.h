#pragma once
// What berthctl's run, task start and task exec share: attaching a process to the terminal and
// waiting for its exit (see run.cc).

#include <mutex>
#include <string>
#include <vector>

#include "berth/runtime/v1/tasks.pb.h"
#include "cli/context.h"

namespace berth::cli {

// Waits for a process to exit, riding out restarts of berth-runtime (UNAVAILABLE: retry).
Result<berth::runtime::v1::WaitResponse> WaitExit(CliContext& context, const std::string& id,
                                                  const std::string& exec_id = {});

// Forwards a signal to a container process: SIGWINCH becomes ResizePty (with a terminal),
// anything else Kill.
void ForwardSignal(CliContext& context, const std::string& id, const std::string& exec_id,
                   int signo, bool terminal);

struct TaskStartOptions {
  std::string id;
  bool terminal = false;
  bool interactive = false;
  bool detach = false;  // output to the task's log file; returns after Start
  bool rm = false;      // delete task, container and snapshot after the exit
};
// Where the start of a process stands, for the thread that forwards signals. The process may
// run (and print) before the Start call returns, so a signal that arrives while Start is in
// flight is held and forwarded once it returned: ending berthctl then would leave the
// container running unwatched (and not removed with --rm).
class StartGate {
 public:
  enum class Action {
    kNotStarted,  // nothing runs yet: the caller decides (berthctl run exits)
    kHeld,        // Start is in flight: forwarded by the starting thread once it returns
    kForward,     // the process runs: forward it now
  };
  // From the signal thread.
  Action OnSignal(int signo) {
    std::lock_guard lock(mutex_);
    if (phase_ == Phase::kIdle) return Action::kNotStarted;
    if (phase_ == Phase::kStarting) {
      held_.push_back(signo);
      return Action::kHeld;
    }
    return Action::kForward;
  }
  // Just before the Start call.
  void Starting() {
    std::lock_guard lock(mutex_);
    phase_ = Phase::kStarting;
  }
  // Start succeeded: returns the signals held meanwhile, in order, for the caller to forward.
  std::vector<int> Started() {
    std::lock_guard lock(mutex_);
    phase_ = Phase::kStarted;
    return std::move(held_);
  }
  // Start failed: nothing runs, held signals are moot.
  void Failed() {
    std::lock_guard lock(mutex_);
    phase_ = Phase::kIdle;
    held_.clear();
  }

 private:
  enum class Phase { kIdle, kStarting, kStarted };
  std::mutex mutex_;
  Phase phase_ = Phase::kIdle;
  std::vector<int> held_;
};

// Creates and starts the task of an existing container; in the foreground, wires stdio and
// returns the container's exit code. `gate` tells the caller's SignalForwarder whether to
// forward (see StartGate); StartTask forwards the signals held during Start itself.
int StartTask(CliContext& context, const TaskStartOptions& options, StartGate& gate);

}  // namespace berth::cli

namespace berth::cli {
// Copies a task's log file (tasks created detached) to stdout; with `follow`, keeps reading
// until the task stopped. Returns the process exit code for the command.
int ShowLog(CliContext& context, const std::string& id, bool follow);
}  // namespace berth::cli
