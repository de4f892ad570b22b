#pragma once
// SpawnDetached: starts a child with posix_spawn (glibc: clone(CLONE_VM | CLONE_VFORK)), so the
// shim's page tables are never copied and the child execs at once; the shim spawns a runtime
// process for every container operation. The child gets exactly the requested fds (0-2, the
// extra fds as 3, 4, ...; everything else closed), default signal dispositions and an empty
// signal mask. The caller owns the pid: the Reaper reaps it.
//
// Errors: INVALID_ARGUMENT for an empty argv or a relative program path (the runtime is exec'd
// by absolute path, never looked up), the exec errno otherwise ("spawn /usr/sbin/runc: ...").

#include <sys/types.h>

#include "common/process.h"
#include "common/status.h"

namespace berth::shim {

// Uses argv, env, stdin_fd/stdout_fd/stderr_fd (kInherit/kDevNull/fd), extra_fds, cwd and
// new_session of `options`; parent_death_signal is not supported (must be 0).
Result<pid_t> SpawnDetached(const SpawnOptions& options);

}  // namespace berth::shim
