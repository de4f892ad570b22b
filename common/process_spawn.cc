// ChildProcess::Spawn: fork + exec with exactly the requested fds.
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "common/process.h"

namespace berth {
namespace {

// What the child reports through the error pipe when a step before exec fails.
struct ChildError {
  int step;
  int err;
};
enum Step {
  kSetsid,
  kSetpgid,
  kPdeathsig,
  kDup,
  kChdir,
  kCapabilities,
  kNoNewPrivs,
  kLandlock,
  kExec
};

// Everything the child needs, prepared before fork so the child only makes system calls.
struct Plan {
  const char* path;
  std::vector<char*> argv;
  std::vector<char*> envp;   // empty: environ
  std::vector<int> sources;  // child fd i <- sources[i]; -1 = leave fd i as it is
  std::vector<int> scratch;  // same size as sources
  int error_fd;
  bool new_session;
  bool new_process_group;
  int death_signal;
  pid_t parent;
  const char* cwd;  // nullptr: keep
  bool drop_capabilities;
  uint64_t capabilities;  // kept when drop_capabilities
  int last_capability;    // /proc/sys/kernel/cap_last_cap
  bool no_new_privs;
  int landlock_ruleset_fd;
};

// Cuts the bounding, ambient and inheritable sets to `keep` (raw system calls only).
bool DropCapabilities(uint64_t keep, int last) {
  for (int cap = 0; cap <= last; ++cap) {
    if ((keep >> cap) & 1) continue;
    if (::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
        ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      return false;
    }
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return false;
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  for (int i = 0; i < 2; ++i) {
    uint32_t mask = static_cast<uint32_t>(keep >> (32 * i));
    data[i].inheritable &= mask;
    data[i].permitted &= mask;
    data[i].effective &= mask;
  }
  return ::syscall(SYS_capset, &header, data) == 0;
}

[[noreturn]] void ChildFail(int error_fd, Step step) {
  ChildError e{step, errno};
  ssize_t ignored = ::write(error_fd, &e, sizeof(e));
  (void)ignored;
  ::_exit(127);
}

// Runs in the child between fork and exec: async-signal-safe calls only, no allocation.
[[noreturn]] void ChildMain(Plan& p) {
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  }
  int n = static_cast<int>(p.sources.size());
  // Move the error pipe above the target range so the dup2s below cannot clobber it.
  int error_fd = ::fcntl(p.error_fd, F_DUPFD_CLOEXEC, n);
  if (error_fd < 0) ChildFail(p.error_fd, kDup);
  if (p.new_session && ::setsid() < 0) ChildFail(error_fd, kSetsid);
  if (p.new_process_group && !p.new_session && ::setpgid(0, 0) != 0) {
    ChildFail(error_fd, kSetpgid);
  }
  if (p.death_signal != 0) {
    if (::prctl(PR_SET_PDEATHSIG, p.death_signal) != 0) ChildFail(error_fd, kPdeathsig);
    if (::getppid() != p.parent) ::_exit(127);  // the parent is already gone
  }
  // Copy every source above the target range first, then dup2 down (dup2 clears CLOEXEC).
  for (int i = 0; i < n; ++i) {
    if (p.sources[i] < 0) continue;
    p.scratch[i] = ::fcntl(p.sources[i], F_DUPFD_CLOEXEC, n);
    if (p.scratch[i] < 0) ChildFail(error_fd, kDup);
  }
  for (int i = 0; i < n; ++i) {
    if (p.sources[i] >= 0) {
      if (::dup2(p.scratch[i], i) < 0) ChildFail(error_fd, kDup);
    } else {
      ::fcntl(i, F_SETFD, 0);  // inherited 0/1/2 stay open across exec
    }
  }
  // Everything from n up closes at exec (the error pipe must live until then).
  if (::close_range(n, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = n; fd < 65536; ++fd) {
      if (fd != error_fd) ::close(fd);
    }
  }
  if (p.cwd != nullptr && ::chdir(p.cwd) != 0) ChildFail(error_fd, kChdir);
  if (p.drop_capabilities && !DropCapabilities(p.capabilities, p.last_capability)) {
    ChildFail(error_fd, kCapabilities);
  }
  if (p.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    ChildFail(error_fd, kNoNewPrivs);
  }
  if (p.landlock_ruleset_fd >= 0 &&
      ::syscall(SYS_landlock_restrict_self, p.landlock_ruleset_fd, 0) != 0) {
    ChildFail(error_fd, kLandlock);
  }
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(p.path, p.argv.data(), p.envp.empty() ? environ : p.envp.data());
  ChildFail(error_fd, kExec);
}

Result<std::string> FindProgram(const std::string& name) {
  if (name.empty()) return Error(Code::kInvalidArgument, "spawn: empty program name");
  if (name.find('/') != std::string::npos) return name;
  const char* env_path = ::getenv("PATH");
  std::string_view path =
      env_path ? env_path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  while (true) {
    size_t colon = path.find(':');
    std::string dir(path.substr(0, colon));
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  return Error(Code::kNotFound, "spawn {}: executable not found in PATH", name);
}

// The highest capability number this kernel knows.
int LastCapability() {
  static const int last = [] {
    int value = CAP_LAST_CAP;
    if (FILE* f = std::fopen("/proc/sys/kernel/cap_last_cap", "re")) {
      if (std::fscanf(f, "%d", &value) != 1) value = CAP_LAST_CAP;
      std::fclose(f);
    }
    return value;
  }();
  return last;
}

Status CheckFd(int fd, bool std_stream) {
  if (fd >= 0 || (std_stream && (fd == SpawnOptions::kInherit || fd == SpawnOptions::kDevNull))) {
    return Status::Ok();
  }
  return Error(Code::kInvalidArgument, "spawn: invalid fd {}", fd);
}

}  // namespace

Result<ChildProcess> ChildProcess::Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return Error(Code::kInvalidArgument, "spawn: empty argv");
  BERTH_ASSIGN_OR_RETURN(std::string path, FindProgram(options.argv[0]));
  for (int fd : {options.stdin_fd, options.stdout_fd, options.stderr_fd}) {
    BERTH_RETURN_IF_ERROR(CheckFd(fd, true));
  }
  for (int fd : options.extra_fds) BERTH_RETURN_IF_ERROR(CheckFd(fd, false));

  UniqueFd devnull;
  Plan plan{};
  plan.path = path.c_str();
  for (const auto& arg : options.argv) plan.argv.push_back(const_cast<char*>(arg.c_str()));
  plan.argv.push_back(nullptr);
  if (options.env) {
    for (const auto& kv : *options.env) plan.envp.push_back(const_cast<char*>(kv.c_str()));
    plan.envp.push_back(nullptr);
  }
  for (int fd : {options.stdin_fd, options.stdout_fd, options.stderr_fd}) {
    if (fd == SpawnOptions::kDevNull && !devnull) {
      devnull.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
      if (!devnull) return ErrnoStatus(errno, "open /dev/null");
    }
    plan.sources.push_back(fd == SpawnOptions::kDevNull ? devnull.get() : fd);
  }
  plan.sources.insert(plan.sources.end(), options.extra_fds.begin(), options.extra_fds.end());
  plan.scratch.resize(plan.sources.size(), -1);
  plan.new_session = options.new_session;
  plan.new_process_group = options.new_process_group;
  plan.death_signal = options.parent_death_signal;
  plan.parent = ::getpid();
  plan.cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  plan.drop_capabilities = options.capabilities.has_value();
  plan.capabilities = options.capabilities.value_or(~uint64_t{0});
  plan.last_capability = LastCapability();
  plan.no_new_privs = options.no_new_privs;
  plan.landlock_ruleset_fd = options.landlock_ruleset_fd;

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "spawn " + path + ": pipe");
  UniqueFd error_read(pipe_fds[0]), error_write(pipe_fds[1]);
  plan.error_fd = error_write.get();

  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = ::fork();
  if (pid == 0) ChildMain(plan);
  int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return ErrnoStatus(fork_errno, "spawn " + path + ": fork");
  error_write.reset();

  ChildError child_error{};
  ssize_t n;
  do {
    n = ::read(error_read.get(), &child_error, sizeof(child_error));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(child_error))) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string what;
    switch (child_error.step) {
      case kSetsid:
        what = "setsid for " + path;
        break;
      case kSetpgid:
        what = "setpgid for " + path;
        break;
      case kPdeathsig:
        what = "prctl(PR_SET_PDEATHSIG) for " + path;
        break;
      case kDup:
        what = "dup2 for " + path;
        break;
      case kChdir:
        what = "chdir " + options.cwd;
        break;
      case kCapabilities:
        what = "dropping capabilities for " + path;
        break;
      case kNoNewPrivs:
        what = "prctl(PR_SET_NO_NEW_PRIVS) for " + path;
        break;
      case kLandlock:
        what = "landlock_restrict_self for " + path;
        break;
      default:
        what = "exec " + path;
        break;
    }
    return ErrnoStatus(child_error.err, what);
  }
  // A raw syscall: glibc 2.36's <sys/pidfd.h> lacks extern "C". -1 on kernels before 5.3.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  return ChildProcess(pid, std::move(pidfd));
}

}  // namespace berth
