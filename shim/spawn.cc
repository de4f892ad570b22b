#include "shim/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

extern char** environ;

namespace berth::shim {
namespace {

// RAII for the posix_spawn attribute objects.
struct SpawnPlan {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnPlan() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnPlan() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

int SourceFor(int fd, int stdio_index, int devnull) {
  if (fd == SpawnOptions::kDevNull) return devnull;
  if (fd == SpawnOptions::kInherit) return stdio_index;
  return fd;
}

}  // namespace

Result<pid_t> SpawnDetached(const SpawnOptions& options) {
  if (options.argv.empty() || options.argv[0].empty() || options.argv[0][0] != '/') {
    return Error(Code::kInvalidArgument, "spawn: program must be an absolute path");
  }
  if (options.parent_death_signal != 0) {
    return Error(Code::kInvalidArgument, "spawn: parent death signals are not supported");
  }
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) return ErrnoStatus(errno, "open /dev/null");
  std::vector<int> sources{SourceFor(options.stdin_fd, 0, devnull.get()),
                           SourceFor(options.stdout_fd, 1, devnull.get()),
                           SourceFor(options.stderr_fd, 2, devnull.get())};
  sources.insert(sources.end(), options.extra_fds.begin(), options.extra_fds.end());
  int n = static_cast<int>(sources.size());
  // Copy every source above all of them first, then down into place: no dup2 can clobber a
  // source that a later one still needs.
  int scratch = std::max(n, *std::max_element(sources.begin(), sources.end()) + 1);
  SpawnPlan plan;
  for (int i = 0; i < n; ++i) {
    posix_spawn_file_actions_adddup2(&plan.actions, sources[i], scratch + i);
  }
  for (int i = 0; i < n; ++i) posix_spawn_file_actions_adddup2(&plan.actions, scratch + i, i);
  posix_spawn_file_actions_addclosefrom_np(&plan.actions, n);
  if (!options.cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&plan.actions, options.cwd.c_str());
  }
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&plan.attr, &all);
  posix_spawnattr_setsigmask(&plan.attr, &none);
  short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  if (options.new_session) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&plan.attr, flags);

  std::vector<char*> argv;
  for (const auto& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (options.env) {
    for (const auto& kv : *options.env) envp.push_back(const_cast<char*>(kv.c_str()));
    envp.push_back(nullptr);
  }
  pid_t pid = 0;
  int err = ::posix_spawn(&pid, argv[0], &plan.actions, &plan.attr, argv.data(),
                          options.env ? envp.data() : environ);
  if (err != 0) return ErrnoStatus(err, "spawn " + options.argv[0]);
  return pid;
}

}  // namespace berth::shim
