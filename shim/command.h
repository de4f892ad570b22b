#pragma once
// RunCommand: runs a short-lived child (a runc invocation) without blocking the loop. The child
// is reaped by the Reaper; its output (stdout and stderr together, when captured) is read as it
// comes so a chatty child never blocks on a full pipe.
//
// Loop-thread only. `done` runs exactly once, on the loop thread, after the child exited (or at
// once when it could not be spawned).

#include <functional>
#include <string>

#include "common/process.h"
#include "common/status.h"
#include "shim/reaper.h"

namespace berth::shim {

struct CommandResult {
  int wait_status = 0;
  std::string output;  // captured stdout+stderr (empty unless capture was asked)
  bool success() const;
  // "exit status 1" / "signal 9"
  std::string Describe() const;
};

struct CommandOptions {
  SpawnOptions spawn;           // argv (absolute program path), env, cwd, stdio (stdio
                                // ignored where captured); started with SpawnDetached
  bool capture = false;         // replace the child's stdout and stderr by a pipe we read
  std::string stdin_data;       // fed on stdin when not empty (at most 64 KiB)
  size_t max_output = 1 << 20;  // captured bytes kept; the rest is drained and dropped
};

using CommandDone = std::function<void(Result<CommandResult>)>;

// Errors given to `done`: the errors of SpawnDetached (shim/spawn.h); INVALID_ARGUMENT for
// stdin_data over 64 KiB.
void RunCommand(uv_loop_t* loop, Reaper& reaper, CommandOptions options, CommandDone done);

}  // namespace berth::shim
