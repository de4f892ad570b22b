#pragma once
// ManagedService: one service process berthd is responsible for (berth-content, ...).
//
// Lifecycle (embedded mode):
//   Start(): the binary is missing -> "missing" (stays so; last_error says what to do). A live
//     process recorded in the pid file (same pid AND start time) -> adopted: watched through a
//     pidfd, although a previous berthd started it. Otherwise spawned in its own session (no
//     PR_SET_PDEATHSIG: services outlive a berthd crash and are adopted by the next berthd),
//     with the capabilities, no_new_privs and write limits of its ServicePrivileges.
//   "starting" until its berth.health.v1.Health/Check answers (polled every 20 ms), then
//     "running". No answer within start_timeout: killed, and treated as a crash.
//   Crash (the pidfd turns readable): "backoff" for initial * 2^n (capped at max; n counts
//     consecutive crashes and resets once a process stayed up reset_after), then respawned and
//     `restarts` incremented. While running, health is polled every health_interval; a failed
//     check shows "unhealthy" with last_error (the process is left alone).
//   Stop(): SIGTERM, SIGKILL after stop_timeout, then the pid file and socket are removed.
// In external (systemd) mode nothing is spawned: the state is "external", pid and health come
// from polling the socket, and a new pid answering counts as a restart.
//
// Thread-safety: loop-thread object. Destroying it stops watching but leaves the process
// running (the clean path is Stop()).

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "berth/health/v1/health.berth.h"
#include "berth/supervisor/v1/supervisor.pb.h"
#include "common/process.h"
#include "common/unique_fd.h"
#include "ipc/event_loop.h"
#include "supervisor/privileges.h"

namespace berth::supervisor {

struct ServiceSpec {
  std::string name;               // "content"
  std::string binary;             // absolute path
  std::vector<std::string> argv;  // full command line, argv[0] = binary
  std::string socket;             // <state>/<name>.sock
  std::string pid_file;           // <state>/services/<name>.pid
  ServicePrivileges privileges;   // applied to the process before exec (privileges.h)
};

struct RestartPolicy {
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{10000};
  std::chrono::milliseconds reset_after{10000};
  std::chrono::milliseconds start_timeout{10000};
  std::chrono::milliseconds stop_timeout{10000};
  std::chrono::milliseconds health_interval{2000};
};

// How long berthd waits before respawning a service after a crash, where `failures` counts the
// crashes in a row before this one (0 for the first): backoff_initial * 2^failures, never more
// than backoff_max. With the defaults: 100 ms, 200, 400, ... 6.4 s, then 10 s for every further
// crash. The exponent is clamped, so a long crash loop cannot overflow the shift.
std::chrono::milliseconds RestartDelay(const RestartPolicy& policy, uint32_t failures);

enum class ServiceState {
  kMissing,
  kStarting,
  kRunning,
  kUnhealthy,
  kBackoff,
  kStopping,
  kStopped,
  kExternal
};
const char* ServiceStateName(ServiceState state);

class ManagedService {
 public:
  ManagedService(ipc::EventLoop& loop, ServiceSpec spec, RestartPolicy policy, bool external,
                 std::function<void()> on_change);
  ~ManagedService();
  ManagedService(const ManagedService&) = delete;
  ManagedService& operator=(const ManagedService&) = delete;

  void Start();
  // Stops the process (if any) and calls `done` once it is gone.
  void Stop(std::function<void()> done);

  const std::string& name() const { return spec_.name; }
  ServiceState state() const { return state_; }
  // Running and answering (embedded), or answering (external).
  bool up() const;
  pid_t pid() const { return pid_; }
  supervisor::v1::ServiceInfo Info() const;

 private:
  void Spawn();
  bool Adopt();
  void Watch(int pidfd);
  void Unwatch();
  void Exited();
  void ScheduleRestart();
  void CheckHealth();
  void OnHealth(uint64_t generation, const Result<health::v1::CheckResponse>& result);
  void Signal(int sig);
  void FinishStop();
  void RemoveFiles();
  void After(std::chrono::milliseconds delay, ipc::EventLoop::TimerId* slot,
             std::function<void()> fn);
  void CancelTimers();
  void Changed();

  ipc::EventLoop& loop_;
  ServiceSpec spec_;
  RestartPolicy policy_;
  bool external_;
  std::function<void()> on_change_;

  ServiceState state_ = ServiceState::kStopped;
  pid_t pid_ = 0;
  std::optional<ChildProcess> child_;  // when this berthd spawned it
  UniqueFd adopted_pidfd_;             // when adopted
  uv_poll_t* watch_ = nullptr;
  int64_t started_at_nanos_ = 0;
  std::chrono::steady_clock::time_point started_{};
  std::chrono::steady_clock::time_point start_deadline_{};
  uint32_t restarts_ = 0;
  pid_t last_external_pid_ = 0;  // systemd mode: the last pid that answered
  uint32_t failures_ = 0;        // consecutive crashes (backoff exponent)
  std::string last_error_;
  bool kill_reason_set_ = false;  // last_error_ already explains a kill we sent

  std::shared_ptr<ipc::AsyncClient> client_;
  std::unique_ptr<health::v1::HealthAsyncClient> health_;
  uint64_t generation_ = 0;  // bumps per process, so stale health answers are ignored
  bool health_in_flight_ = false;

  ipc::EventLoop::TimerId restart_timer_ = 0;
  ipc::EventLoop::TimerId health_timer_ = 0;
  ipc::EventLoop::TimerId kill_timer_ = 0;
  std::function<void()> stop_done_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace berth::supervisor
