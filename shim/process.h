#pragma once
// Process: what the shim knows about the container's init or one exec. Plain data owned by the
// TaskService (loop thread).
//
// Lifecycle: kCreated (init: `runtime create` done; exec: registered by Exec) -> kRunning
// (started) <-> kPaused (init only) -> kStopped (reaped). `starting` marks a runtime start/exec in
// flight; an exit reaped meanwhile is held in `held_exit` and handled once the start reported,
// so TaskStart/TaskExecStarted always precede TaskExit. The init's exit is also held while execs
// are still alive, so their TaskExit events come first.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "ipc/typed.h"
#include "shim/pty_relay.h"
#include "shim/stdio.h"

namespace berth::shim {

enum class ProcessState { kCreated, kRunning, kPaused, kStopped };

struct Process {
  std::string exec_id;  // empty for the init process
  StdioSpec stdio;
  std::string spec_json;  // exec only: the OCI Process JSON from Exec
  pid_t pid = 0;
  // Taken just before the runtime call that started it (create or exec): an exit of `pid` the
  // reaper kept from before then was another process's (Reaper::Watch).
  std::chrono::steady_clock::time_point started_after;
  ProcessState state = ProcessState::kCreated;
  bool starting = false;
  bool deleting = false;
  bool report_exit = true;       // publish TaskExit when it exits (false when its start failed)
  std::optional<int> held_exit;  // wait status reaped but not yet reported
  uint32_t exit_status = 0;
  int64_t exited_at_ns = 0;
  UniqueFd stdin_keeper;
  std::unique_ptr<PtyRelay> relay;
  std::vector<std::unique_ptr<LogCopier>> logs;  // rotated file:// output (stdio.h)
  std::vector<ipc::Reply<containerd::task::v2::WaitResponse>> waiters;

  bool is_init() const { return exec_id.empty(); }
  bool stopped() const { return state == ProcessState::kStopped; }
  // Started and not yet reported exited (or a start in flight).
  bool alive() const {
    return starting || state == ProcessState::kRunning || state == ProcessState::kPaused;
  }
};

}  // namespace berth::shim
