#pragma once
// Helpers for the interoperability tests: locating the binaries under test, running a peer
// process in the background with its output in a file, a private containerd, and the event
// every test forwards.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/process.h"
#include "common/status.h"
#include "common/temp_dir.h"
#include "containerd/services/ttrpc/events/v1/events.pb.h"

namespace berth::interop {

inline constexpr char kEventsService[] = "containerd.services.events.ttrpc.v1.Events";
inline constexpr char kTaskOomTypeUrl[] = "containerd.events.TaskOOM";

// $BERTH_BUILD_DIR/<relative>, or FAILED_PRECONDITION naming what to build when it is missing.
Result<std::string> BuiltBinary(const std::string& relative, const std::string& how_to_build);
// The Go ttrpc peer (tests/go/build-peer.sh, built by the berth_ttrpc_peer target).
Result<std::string> GoPeer();
// tests/interop/berth-interop-events-server.
Result<std::string> EventsServer();
// $BERTH_SOURCE_DIR/<relative>.
std::string SourcePath(const std::string& relative);

// A ForwardRequest as containerd's shims send it: envelope stamped now, event =
// Any{containerd.events.TaskOOM, TaskOOM{container_id}}.
containerd::services::events::ttrpc::v1::ForwardRequest MakeForward(
    const std::string& ns, const std::string& topic, const std::string& container_id);

// A child process whose stdout and stderr go to files in `dir`. Killed (SIGKILL) and reaped
// when destroyed unless stopped before.
class BackgroundProcess {
 public:
  static Result<BackgroundProcess> Start(const std::vector<std::string>& argv,
                                         const std::string& dir, const std::string& name);
  BackgroundProcess(BackgroundProcess&&) = default;
  BackgroundProcess& operator=(BackgroundProcess&&) = default;

  std::string Stdout() const;
  std::string Stderr() const;
  // Waits until stdout contains `needle`; DEADLINE_EXCEEDED (with both outputs) otherwise, or
  // UNAVAILABLE when the process exits first.
  Status WaitForOutput(const std::string& needle, std::chrono::milliseconds timeout);
  // True while the process runs.
  bool Running();
  // SIGTERM, then waits up to `timeout` (SIGKILL after it) and returns how it ended.
  Result<ExitStatus> Stop(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  BackgroundProcess() = default;
  ChildProcess child_;
  std::string stdout_path_;
  std::string stderr_path_;
};

// A private containerd 1.6 (tests/fixtures/containerd.sh) in its own directory; stopped, with
// everything it created removed, when destroyed.
class Containerd {
 public:
  static Result<Containerd> Start(const std::string& dir);
  Containerd(Containerd&& other) noexcept;
  Containerd& operator=(Containerd&&) = delete;
  ~Containerd();

  const std::string& grpc_socket() const { return socket_; }
  std::string ttrpc_socket() const { return socket_ + ".ttrpc"; }
  // The tail of containerd's log, for failure messages.
  std::string LogTail() const;

 private:
  Containerd(std::string dir, std::string socket)
      : dir_(std::move(dir)), socket_(std::move(socket)) {}
  std::string dir_;
  std::string socket_;
};

}  // namespace berth::interop
