#pragma once
// What berthctl's run, task start and task exec share: attaching a process to the terminal and
// waiting for its exit (see run.cc).

#include <atomic>
#include <string>

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
// Creates and starts the task of an existing container; in the foreground, wires stdio and
// returns the container's exit code. `started` turns true once the task runs (signals are then
// forwarded by the caller's SignalForwarder).
int StartTask(CliContext& context, const TaskStartOptions& options, std::atomic<bool>& started);

}  // namespace berth::cli

namespace berth::cli {
// Copies a task's log file (tasks created detached) to stdout; with `follow`, keeps reading
// until the task stopped. Returns the process exit code for the command.
int ShowLog(CliContext& context, const std::string& id, bool follow);
}  // namespace berth::cli
