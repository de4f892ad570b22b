// `berth-shim start`: bind, write the address file, spawn the daemon, print the address.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/fs.h"
#include "common/process.h"
#include "ipc/unix_socket.h"
#include "shim/bundle_files.h"
#include "shim/subcommands.h"

namespace berth::shim {
namespace {

// Two independent FNV-1a 64-bit hashes: 128 bits, enough to keep socket names apart.
std::string Hash128(std::string_view text) {
  uint64_t a = 0xcbf29ce484222325ULL, b = 0x6c62272e07bb0142ULL;
  for (unsigned char c : text) {
    a = (a ^ c) * 0x100000001b3ULL;
    b = (b ^ (c + 0x9e)) * 0x100000001b3ULL;
    b ^= b >> 29;
  }
  return fmt::format("{:016x}{:016x}", a, b);
}

std::string SelfExe() {
  char path[4096];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "/proc/self/exe";
  return std::string(path, static_cast<size_t>(n));
}

// containerd may write the runtime options on stdin; read them so it never sees EPIPE. A caller
// whose stdin never ends (a terminal, a pipe nobody closes) must not keep `start` from returning,
// so each wait for more input is bounded.
void DrainStdin() {
  constexpr int kWaitMs = 1000;
  if (::isatty(STDIN_FILENO)) return;
  char buf[4096];
  while (true) {
    pollfd p{STDIN_FILENO, POLLIN, 0};
    int ready = ::poll(&p, 1, kWaitMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0 || (p.revents & POLLNVAL)) return;
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
  }
}

// As containerd does for its shims: one point above containerd's own OOM score.
void AdjustOomScore(pid_t child) {
  auto parent = ReadFile(fmt::format("/proc/{}/oom_score_adj", ::getppid()));
  if (!parent.ok()) return;
  int score = std::atoi(parent->c_str()) + 1;
  if (score > 1000) score = 1000;
  UniqueFd fd(::open(fmt::format("/proc/{}/oom_score_adj", child).c_str(), O_WRONLY | O_CLOEXEC));
  if (fd) (void)WriteAll(fd.get(), std::to_string(score), "oom_score_adj");
}

int Fail(const Status& status) {
  std::fprintf(stderr, "berth-shim start: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

std::string DefaultSocketPath(const std::string& address, const std::string& ns,
                              const std::string& id) {
  return "/run/containerd/s/" + Hash128(address + "/" + ns + "/" + id);
}

std::string BundleDir(const ShimFlags& flags) {
  if (!flags.bundle.empty()) return flags.bundle;
  char cwd[4096];
  return ::getcwd(cwd, sizeof(cwd)) ? std::string(cwd) : std::string(".");
}

int RunStart(const ShimFlags& flags) {
  if (flags.id.empty() || flags.ns.empty()) {
    return Fail(Error(Code::kInvalidArgument, "start needs -id and -namespace"));
  }
  DrainStdin();
  std::string bundle = BundleDir(flags);
  std::string socket =
      flags.socket.empty() ? DefaultSocketPath(flags.address, flags.ns, flags.id) : flags.socket;
  std::string address = "unix://" + socket;
  std::string address_file = bundle + "/" + kAddressFile;
  auto listener = ipc::ListenUnix(socket);
  if (!listener.ok()) {
    auto existing = ReadFile(address_file);
    if (listener.status().code() == Code::kAlreadyExists && existing.ok() && *existing == address) {
      std::fputs(address.c_str(), stdout);  // already running for this bundle
      return 0;
    }
    return Fail(listener.status());
  }
  if (Status s = WriteFileNoSync(address_file, address, 0644); !s.ok()) {
    ::unlink(socket.c_str());
    return Fail(s);
  }
  SpawnOptions options;
  options.argv = {SelfExe(),
                  "-namespace",
                  flags.ns,
                  "-id",
                  flags.id,
                  "-address",
                  flags.address,
                  "-publish-binary",
                  flags.publish_binary,
                  "-bundle",
                  bundle,
                  "-socket",
                  socket};
  if (flags.debug) options.argv.push_back("-debug");
  options.argv.push_back("serve");
  options.stdin_fd = options.stdout_fd = options.stderr_fd = SpawnOptions::kDevNull;
  options.extra_fds = {listener->get()};
  // Not setsid here: the daemon leaves this process group for its own session a moment later
  // (serve.cc), so the container's first runtime calls are not slowed by a new scheduler
  // autogroup.
  options.new_session = false;
  options.cwd = bundle;
  auto daemon = ChildProcess::Spawn(options);
  if (!daemon.ok()) {
    ::unlink(socket.c_str());
    ::unlink(address_file.c_str());
    return Fail(daemon.status());
  }
  pid_t pid = daemon->Release();
  AdjustOomScore(pid);
  std::fputs(address.c_str(), stdout);
  return 0;
}

}  // namespace berth::shim
