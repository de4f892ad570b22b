#include "supervisor/managed_service.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "common/time.h"
#include "supervisor/pid_file.h"

namespace berth::supervisor {

namespace hv = berth::health::v1;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {
constexpr milliseconds kStartPoll{20};
}  // namespace

const char* ServiceStateName(ServiceState state) {
  switch (state) {
    case ServiceState::kMissing:
      return "missing";
    case ServiceState::kStarting:
      return "starting";
    case ServiceState::kRunning:
      return "running";
    case ServiceState::kUnhealthy:
      return "unhealthy";
    case ServiceState::kBackoff:
      return "backoff";
    case ServiceState::kStopping:
      return "stopping";
    case ServiceState::kStopped:
      return "stopped";
    case ServiceState::kExternal:
      return "external";
  }
  return "unknown";
}

milliseconds RestartDelay(const RestartPolicy& policy, uint32_t failures) {
  // 2^20 times any sane initial delay is far beyond any sane cap, and still fits in int64.
  int64_t delay = policy.backoff_initial.count() << std::min<uint32_t>(failures, 20);
  return milliseconds(std::min<int64_t>(delay, policy.backoff_max.count()));
}

ManagedService::ManagedService(ipc::EventLoop& loop, ServiceSpec spec, RestartPolicy policy,
                               bool external, std::function<void()> on_change)
    : loop_(loop),
      spec_(std::move(spec)),
      policy_(policy),
      external_(external),
      on_change_(std::move(on_change)) {
  client_ = ipc::AsyncClient::Create(loop_, spec_.socket);
  health_ = std::make_unique<hv::HealthAsyncClient>(client_);
}

ManagedService::~ManagedService() {
  *alive_ = false;
  CancelTimers();
  Unwatch();
  if (child_) child_->Release();  // leave it running: the next berthd adopts it
  client_->Close();
}

bool ManagedService::up() const {
  if (external_) return state_ == ServiceState::kExternal && pid_ != 0;
  return state_ == ServiceState::kRunning;
}

void ManagedService::Changed() {
  if (on_change_) on_change_();
}

void ManagedService::After(milliseconds delay, ipc::EventLoop::TimerId* slot,
                           std::function<void()> fn) {
  loop_.Cancel(*slot);
  std::weak_ptr<bool> alive = alive_;
  *slot = loop_.After(static_cast<uint64_t>(delay.count()), [alive, slot, fn = std::move(fn)] {
    if (auto a = alive.lock(); !a || !*a) return;
    *slot = 0;
    fn();
  });
}

void ManagedService::CancelTimers() {
  for (auto* slot : {&restart_timer_, &health_timer_, &kill_timer_}) {
    loop_.Cancel(*slot);
    *slot = 0;
  }
}

void ManagedService::Start() {
  if (external_) {
    state_ = ServiceState::kExternal;
    CheckHealth();
    return;
  }
  if (::access(spec_.binary.c_str(), X_OK) != 0) {
    state_ = ServiceState::kMissing;
    last_error_ = fmt::format(
        "binary {} not found or not executable ({}): build or install it, "
        "or set services.binaries.{} in the config",
        spec_.binary, std::strerror(errno), spec_.name);
    spdlog::warn("service missing name={} binary={}", spec_.name, spec_.binary);
    Changed();
    return;
  }
  if (!Adopt()) Spawn();
}

// Takes over a process a previous berthd started, if the pid file names one that still runs.
bool ManagedService::Adopt() {
  Result<PidRecord> record = ReadPidFile(spec_.pid_file);
  if (!record.ok()) {
    if (record.status().code() != Code::kNotFound) {
      spdlog::warn("ignoring pid file: {}", record.status().message());
    }
    return false;
  }
  Result<UniqueFd> pidfd = OpenRecordedProcess(*record);
  if (!pidfd.ok()) {
    spdlog::info("service from pid file not running name={} pid={}: {}", spec_.name, record->pid,
                 pidfd.status().message());
    return false;
  }
  adopted_pidfd_ = std::move(*pidfd);
  pid_ = record->pid;
  started_at_nanos_ = StartTicksToUnixNanos(record->start_ticks);
  started_ = Clock::now() -
             std::chrono::nanoseconds(std::max<int64_t>(0, NowUnixNanos() - started_at_nanos_));
  generation_++;
  Watch(adopted_pidfd_.get());
  state_ = ServiceState::kStarting;
  start_deadline_ = Clock::now() + policy_.start_timeout;
  spdlog::info("adopted running service name={} pid={}", spec_.name, pid_);
  CheckHealth();
  Changed();
  return true;
}

void ManagedService::Spawn() {
  SpawnOptions options;
  options.argv = spec_.argv;
  options.stdin_fd = SpawnOptions::kDevNull;
  options.new_session = true;  // a Ctrl-C at berthd's terminal is berthd's to handle
  Result<UniqueFd> ruleset = ApplyPrivileges(spec_.privileges, options);
  Result<ChildProcess> child =
      ruleset.ok() ? ChildProcess::Spawn(options) : Result<ChildProcess>(ruleset.status());
  started_ = Clock::now();
  started_at_nanos_ = NowUnixNanos();
  generation_++;
  if (!child.ok()) {
    last_error_ = "cannot start: " + child.status().message();
    spdlog::error("service start failed name={}: {}", spec_.name, child.status().message());
    ScheduleRestart();
    return;
  }
  child_ = std::move(*child);
  pid_ = child_->pid();
  Result<PidRecord> record = RecordOf(pid_);
  Status written = record.ok() ? WritePidFile(spec_.pid_file, *record) : record.status();
  if (!written.ok()) spdlog::warn("cannot record pid of {}: {}", spec_.name, written.message());
  Watch(child_->pidfd());
  state_ = ServiceState::kStarting;
  start_deadline_ = Clock::now() + policy_.start_timeout;
  kill_reason_set_ = false;
  spdlog::info(
      "service started name={} pid={} capabilities={} no_new_privs={} landlock={}", spec_.name,
      pid_,
      spec_.privileges.restricted ? CapabilityNames(spec_.privileges.capabilities) : "unchanged",
      spec_.privileges.no_new_privs, options.landlock_ruleset_fd >= 0);
  CheckHealth();
  Changed();
}

void ManagedService::Watch(int pidfd) {
  watch_ = new uv_poll_t;
  uv_poll_init(loop_.uv(), watch_, pidfd);
  watch_->data = this;
  uv_poll_start(watch_, UV_READABLE, [](uv_poll_t* handle, int, int) {
    auto* self = static_cast<ManagedService*>(handle->data);
    self->Unwatch();
    self->Exited();
  });
}

void ManagedService::Unwatch() {
  if (watch_ == nullptr) return;
  uv_poll_stop(watch_);
  uv_close(reinterpret_cast<uv_handle_t*>(watch_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  watch_ = nullptr;
}

void ManagedService::Exited() {
  std::string how = "exit status unknown (started by a previous berthd)";
  if (child_) {
    Result<ExitStatus> status = child_->Wait();  // it has exited: this does not block
    how = status.ok() ? status->ToString() : status.status().message();
    child_.reset();
  }
  adopted_pidfd_.reset();
  spdlog::log(state_ == ServiceState::kStopping ? spdlog::level::info : spdlog::level::warn,
              "service exited name={} pid={}: {}", spec_.name, pid_, how);
  pid_ = 0;
  generation_++;
  loop_.Cancel(health_timer_);
  health_timer_ = 0;
  if (state_ == ServiceState::kStopping) {
    FinishStop();
    return;
  }
  if (!kill_reason_set_) last_error_ = "exited: " + how;
  kill_reason_set_ = false;
  ScheduleRestart();
}

void ManagedService::ScheduleRestart() {
  if (Clock::now() - started_ >= policy_.reset_after) failures_ = 0;
  int64_t delay = RestartDelay(policy_, failures_).count();
  failures_++;
  state_ = ServiceState::kBackoff;
  spdlog::info("service restart scheduled name={} delay_ms={}", spec_.name, delay);
  After(milliseconds(delay), &restart_timer_, [this] {
    restarts_++;
    Spawn();
  });
  Changed();
}

void ManagedService::CheckHealth() {
  if (health_in_flight_) return;
  health_in_flight_ = true;
  ipc::CallOptions options;
  options.timeout = state_ == ServiceState::kStarting ? milliseconds(1000) : milliseconds(2000);
  std::weak_ptr<bool> alive = alive_;
  uint64_t generation = generation_;
  health_->Check(hv::CheckRequest(), std::move(options),
                 [this, alive, generation](Result<hv::CheckResponse> result) {
                   if (auto a = alive.lock(); !a || !*a) return;
                   health_in_flight_ = false;
                   OnHealth(generation, result);
                 });
}

void ManagedService::OnHealth(uint64_t generation, const Result<hv::CheckResponse>& result) {
  auto poll_again = [this](milliseconds delay) {
    After(delay, &health_timer_, [this] { CheckHealth(); });
  };
  if (state_ == ServiceState::kExternal) {
    pid_t pid = result.ok() ? static_cast<pid_t>(result->pid()) : 0;
    last_error_ = result.ok() ? "" : "health check failed: " + result.status().message();
    if (pid != pid_) {
      // systemd restarted it: the socket answers with another process.
      if (pid != 0 && last_external_pid_ != 0 && pid != last_external_pid_) restarts_++;
      if (pid != 0) last_external_pid_ = pid;
      pid_ = pid;
      started_at_nanos_ = pid ? NowUnixNanos() : 0;
      Changed();
    }
    poll_again(policy_.health_interval);
    return;
  }
  if (generation != generation_) {
    if (state_ == ServiceState::kStarting) poll_again(kStartPoll);  // answer of a former process
    return;
  }
  if (state_ == ServiceState::kStarting) {
    if (result.ok()) {
      state_ = ServiceState::kRunning;
      spdlog::info("service up name={} pid={}", spec_.name, pid_);
      poll_again(policy_.health_interval);
      Changed();
    } else if (Clock::now() >= start_deadline_) {
      last_error_ =
          fmt::format("no answer to the health check on {} within {} ms: {}", spec_.socket,
                      policy_.start_timeout.count(), result.status().message());
      kill_reason_set_ = true;
      spdlog::error("service did not come up name={}: {}", spec_.name, last_error_);
      Signal(SIGKILL);
    } else {
      poll_again(kStartPoll);
    }
    return;
  }
  if (state_ != ServiceState::kRunning && state_ != ServiceState::kUnhealthy) return;
  ServiceState next = result.ok() ? ServiceState::kRunning : ServiceState::kUnhealthy;
  if (!result.ok()) last_error_ = "health check failed: " + result.status().message();
  if (next != state_) {
    spdlog::warn("service health name={} state={} {}", spec_.name, ServiceStateName(next),
                 result.ok() ? "" : result.status().message());
    state_ = next;
    Changed();
  }
  poll_again(policy_.health_interval);
}

void ManagedService::Signal(int sig) {
  int rc = 0;
  if (child_) {
    rc = child_->Kill(sig).ok() ? 0 : -1;
  } else if (adopted_pidfd_) {
    rc = static_cast<int>(::syscall(SYS_pidfd_send_signal, adopted_pidfd_.get(), sig, nullptr, 0));
  }
  if (rc != 0) spdlog::debug("signal {} to {} failed (already gone?)", sig, spec_.name);
}

void ManagedService::Stop(std::function<void()> done) {
  loop_.Cancel(restart_timer_);
  restart_timer_ = 0;
  loop_.Cancel(health_timer_);
  health_timer_ = 0;
  if (external_ || state_ == ServiceState::kMissing || pid_ == 0) {
    if (!external_ && state_ != ServiceState::kMissing) {
      state_ = ServiceState::kStopped;
      RemoveFiles();
    }
    done();
    return;
  }
  state_ = ServiceState::kStopping;
  stop_done_ = std::move(done);
  spdlog::info("stopping service name={} pid={}", spec_.name, pid_);
  Signal(SIGTERM);
  After(policy_.stop_timeout, &kill_timer_, [this] {
    spdlog::warn("service did not stop within {} ms, killing name={}", policy_.stop_timeout.count(),
                 spec_.name);
    Signal(SIGKILL);
  });
  Changed();
}

void ManagedService::FinishStop() {
  loop_.Cancel(kill_timer_);
  kill_timer_ = 0;
  RemoveFiles();
  state_ = ServiceState::kStopped;
  Changed();
  if (auto done = std::move(stop_done_)) done();
}

// The pid file, and the socket if the service did not remove it (it was killed).
void ManagedService::RemoveFiles() {
  ::unlink(spec_.pid_file.c_str());
  struct stat st {};
  if (::lstat(spec_.socket.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    ::unlink(spec_.socket.c_str());
  }
}

supervisor::v1::ServiceInfo ManagedService::Info() const {
  supervisor::v1::ServiceInfo info;
  info.set_name(spec_.name);
  info.set_pid(static_cast<uint32_t>(pid_));
  info.set_state(ServiceStateName(state_));
  info.set_restarts(restarts_);
  if (pid_ != 0 && started_at_nanos_ != 0) {
    info.mutable_started_at()->set_seconds(started_at_nanos_ / 1'000'000'000);
    info.mutable_started_at()->set_nanos(static_cast<int32_t>(started_at_nanos_ % 1'000'000'000));
  }
  info.set_socket(spec_.socket);
  info.set_last_error(last_error_);
  return info;
}

}  // namespace berth::supervisor
