#pragma once
// Child processes: spawning with exactly the fds the child needs, and an owner that kills and
// reaps the child unless released.
//
// Spawning is safe in a multi-threaded process: everything is prepared before fork(), and the
// child calls only async-signal-safe functions until execve(). The child starts with default
// signal dispositions and an empty signal mask, whatever the parent had.
//
// Reaping: a ChildProcess reaps its child with waitpid() on that pid. Do not let anything else
// reap it (SIGCHLD set to SIG_IGN, waitpid(-1) loops), or Wait() fails with ECHILD.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth {

// How a child ended.
struct ExitStatus {
  int code = 0;    // the exit code, when it exited
  int signal = 0;  // the signal that killed it, 0 when it exited

  static ExitStatus FromWaitStatus(int wait_status);
  bool success() const { return signal == 0 && code == 0; }
  // The shell's convention: the exit code, or 128 + the signal.
  int ShellCode() const { return signal != 0 ? 128 + signal : code; }
  // "exit code 3" or "killed by signal 9 (Killed)".
  std::string ToString() const;
  bool operator==(const ExitStatus&) const = default;
};

struct SpawnOptions {
  static constexpr int kInherit = -1;  // the child shares the parent's fd 0/1/2
  static constexpr int kDevNull = -2;  // the child gets /dev/null

  // argv[0] is the program: a path, or a bare name looked up in the parent's PATH.
  std::vector<std::string> argv{};
  // "KEY=VALUE" entries; nullopt means the parent's environment.
  std::optional<std::vector<std::string>> env{};
  // An fd of the parent to become the child's 0/1/2, or kInherit / kDevNull. Not taken over:
  // the caller still owns (and should close) its fds after Spawn.
  int stdin_fd = kInherit;
  int stdout_fd = kInherit;
  int stderr_fd = kInherit;
  // extra_fds[i] becomes fd 3 + i in the child. Every other fd is closed (close_range).
  std::vector<int> extra_fds{};
  // Start a new session (setsid): the child leaves the parent's process group and terminal.
  bool new_session = false;
  // Start a new process group (setpgid(0, 0)) led by the child, so kill(-pid, sig) reaches the
  // child and every descendant that stays in the group. Implied by new_session.
  bool new_process_group = false;
  // Signal sent to the child when the parent *thread* that spawned it exits (PR_SET_PDEATHSIG).
  // 0 = none. Spawn from a long-lived thread (the loop thread) when using this.
  int parent_death_signal = 0;
  // Working directory of the child; empty = the parent's.
  std::string cwd{};

  // Least privilege, applied in the child just before exec (in this order):
  // Capabilities the child may keep, as a mask of (1 << CAP_x): every other capability leaves
  // its bounding set (so a root child's permitted set after exec is at most this mask) and its
  // inheritable and ambient sets are cut to the mask. nullopt = keep every capability. Dropping
  // needs CAP_SETPCAP in the parent.
  std::optional<uint64_t> capabilities{};
  // PR_SET_NO_NEW_PRIVS: exec can never grant privileges (setuid bits, file capabilities).
  bool no_new_privs = false;
  // A Landlock ruleset (landlock_create_ruleset) the child restricts itself with; needs
  // no_new_privs. -1 = none. The caller keeps owning the fd.
  int landlock_ruleset_fd = -1;
};

// Owns a child process. Movable, not copyable; not thread-safe (one owner thread at a time).
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Unless released or already reaped: SIGKILL and reap (blocks until the child is gone).
  ~ChildProcess();

  // Errors: INVALID_ARGUMENT (empty argv, bad fd), NOT_FOUND (program not in PATH, or exec
  // failed with ENOENT), PERMISSION_DENIED, RESOURCE_EXHAUSTED, INTERNAL; the message names the
  // program and the step that failed ("exec /usr/bin/x: ...", "chdir /y: ...").
  static Result<ChildProcess> Spawn(const SpawnOptions& options);

  // The child's pid; -1 for an empty owner. Stays valid after Wait() for logging.
  pid_t pid() const { return pid_; }
  // A pidfd of the child (readable once it exited: poll it from an event loop), or -1 when the
  // kernel has none or the child was reaped. Owned by this object.
  int pidfd() const { return pidfd_.get(); }
  // The exit status once reaped.
  const std::optional<ExitStatus>& exit_status() const { return exit_; }

  // Blocks until the child exits and reaps it. Once reaped, returns the same status again.
  // FAILED_PRECONDITION for an empty or released owner.
  Result<ExitStatus> Wait();
  // Reaps the child if it exited; nullopt while it runs.
  Result<std::optional<ExitStatus>> TryWait();
  // Sends `sig`. NOT_FOUND once the child was reaped, FAILED_PRECONDITION for an empty owner.
  Status Kill(int sig);
  // Gives up ownership: the child is neither killed nor reaped by this object any more (someone
  // else must reap it). Returns its pid (-1 if there was none or it was reaped).
  pid_t Release();

 private:
  ChildProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  void Reaped(int wait_status);

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::optional<ExitStatus> exit_;
};

// Runs a command to completion and returns its stdout. `stdin_data` is fed to its stdin
// (empty: stdin is /dev/null). The child's stderr is captured too. The command runs in its own
// process group. Errors:
//   - the spawn errors above;
//   - DEADLINE_EXCEEDED when it is not done within `timeout` (its whole process group is then
//     SIGKILLed and the child reaped);
//   - UNKNOWN when it exits non-zero or by a signal: "<argv>: exit code 1: <stderr tail>".
// Output is held in memory: for commands with bounded output (runc state, tar --version...).
Result<std::string> RunCapture(const std::vector<std::string>& argv,
                               std::string_view stdin_data = {},
                               std::chrono::milliseconds timeout = std::chrono::seconds(60));
// Same, with env/cwd/extra fds from `options` (its stdin/stdout/stderr are replaced).
Result<std::string> RunCapture(SpawnOptions options, std::string_view stdin_data,
                               std::chrono::milliseconds timeout);

}  // namespace berth
