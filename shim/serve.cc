// `berth-shim serve`: the long-lived daemon beside one container.
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/logging.h"
#include "ipc/server.h"
#include "shim/event_forwarder.h"
#include "shim/subcommands.h"
#include "shim/task_service.h"

namespace berth::shim {
namespace {

constexpr int kListenFd = 3;
constexpr uint64_t kFlushPollMs = 10;
constexpr int kFlushPolls = 300;  // up to 3 s for the last events after Shutdown
constexpr uint64_t kDetachDelayMs = 1000;

// Stderr goes to the bundle's "log" FIFO that containerd copies into its own log; without a
// reader (containerd restarting) lines are dropped rather than blocking the shim.
void RedirectStderr(const std::string& bundle) {
  int fd = ::open((bundle + "/log").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;
  ::dup2(fd, STDERR_FILENO);
  ::close(fd);
}

// Small and steady: one arena (one thread), freed memory returned to the kernel early.
void TuneMalloc() {
  ::mallopt(M_ARENA_MAX, 1);
  ::mallopt(M_TRIM_THRESHOLD, 64 * 1024);
  ::mallopt(M_MMAP_THRESHOLD, 64 * 1024);
}

std::string TtrpcAddress() {
  const char* env = std::getenv("TTRPC_ADDRESS");
  std::string address = env ? env : "";
  constexpr std::string_view kScheme = "unix://";
  if (address.compare(0, kScheme.size(), kScheme) == 0) address.erase(0, kScheme.size());
  return address;
}

// The daemon detaches into a session of its own (no controlling terminal, out of the caller's
// process group), but only after its first second: with the scheduler's autogroups a new
// session is a new group whose first run queues behind all other work, which would add tens of
// milliseconds to the create/start of every container on a busy host. containerd's own shim
// never leaves containerd's session; until it calls setsid the daemon sits in `start`'s
// process group (its own, set by containerd), with stdio on /dev/null and the bundle's log.
void DetachLater(ipc::EventLoop& loop) {
  loop.After(kDetachDelayMs, [] {
    if (::getsid(0) != ::getpid() && ::setsid() < 0) {
      spdlog::warn("setsid: {}", std::strerror(errno));
    }
  });
}

// After Shutdown: stop serving, give queued events a moment to leave, then end the loop.
void DrainAndStop(ipc::EventLoop& loop, EventForwarder* sink, int polls_left) {
  if (sink == nullptr || sink->queued() == 0 || polls_left <= 0) {
    loop.Stop();
    return;
  }
  loop.After(kFlushPollMs, [&loop, sink, polls_left] { DrainAndStop(loop, sink, polls_left - 1); });
}

}  // namespace

int RunServe(const ShimFlags& flags) {
  TuneMalloc();
  ::signal(SIGPIPE, SIG_IGN);
  std::string bundle = BundleDir(flags);
  RedirectStderr(bundle);
  if (Status s = InitLogging("berth-shim", flags.debug ? "debug" : "info"); !s.ok()) return 1;
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    spdlog::error("cannot become a child subreaper: {}", std::strerror(errno));
    return 1;
  }
  if (::fcntl(kListenFd, F_SETFD, FD_CLOEXEC) != 0) {
    spdlog::error("serve: fd {} is not the listening socket", kListenFd);
    return 1;
  }
  ipc::EventLoop loop;
  auto reaper = Reaper::Create(loop.uv());
  if (!reaper.ok()) {
    spdlog::error("reaper: {}", reaper.status().ToString());
    return 1;
  }
  std::unique_ptr<EventForwarder> sink;
  if (std::string events = TtrpcAddress(); !events.empty()) {
    sink = std::make_unique<EventForwarder>(loop, events, flags.ns);
  }
  ipc::Server server(loop);
  TaskServiceOptions options;
  options.ns = flags.ns;
  options.id = flags.id;
  TaskService service(loop, **reaper, sink.get(), options, [&] {
    server.Close();
    if (!flags.socket.empty()) ::unlink(flags.socket.c_str());
    DrainAndStop(loop, sink.get(), kFlushPolls);
  });
  // As containerd's shims (ttrpc UnixSocketRequireSameUser): same effective uid and gid.
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  server.SetPeerPolicy(
      [uid, gid](const ipc::PeerCredentials& peer) { return peer.uid == uid && peer.gid == gid; });
  service.RegisterWith(server);
  if (Status s = server.ServeFd(UniqueFd(kListenFd)); !s.ok()) {
    spdlog::error("serve: {}", s.ToString());
    return 1;
  }
  DetachLater(loop);
  spdlog::debug("serving id={} ns={} socket={}", flags.id, flags.ns, flags.socket);
  loop.Run();
  return 0;
}

}  // namespace berth::shim
