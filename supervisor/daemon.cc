#include "supervisor/daemon.h"

#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "common/fs.h"
#include "common/logging.h"
#include "common/time.h"
#include "ipc/event_loop.h"
#include "ipc/server.h"
#include "supervisor/event_exchange.h"
#include "supervisor/metrics_http.h"
#include "supervisor/events_service.h"
#include "supervisor/plugin_registry.h"
#include "supervisor/service_manager.h"
#include "supervisor/supervisor_service.h"
#include "supervisor/system_metrics.h"

namespace berth::supervisor {

namespace {

std::string Platform() {
  utsname u{};
  ::uname(&u);
  std::string machine = u.machine;
  if (machine == "x86_64") machine = "amd64";
  if (machine == "aarch64") machine = "arm64";
  return "linux/" + machine;
}

supervisor::v1::Plugin OwnPlugin(const std::string& type, const std::string& id) {
  supervisor::v1::Plugin plugin;
  plugin.set_type(type);
  plugin.set_id(id);
  plugin.add_platforms(Platform());
  plugin.set_status("ok");
  plugin.set_service("berthd");
  return plugin;
}

}  // namespace

Result<Config> ResolveConfig(const DaemonFlags& flags) {
  BERTH_ASSIGN_OR_RETURN(Config config, LoadConfig(flags.config_path));
  if (!flags.root.empty()) config.root = flags.root;
  if (!flags.state.empty()) config.state = flags.state;
  if (!flags.log_level.empty()) config.log_level = flags.log_level;
  if (flags.mode == "systemd") config.services.spawn = false;
  if (flags.mode == "embedded") config.services.spawn = true;
  if (!flags.mode.empty() && flags.mode != "systemd" && flags.mode != "embedded") {
    return Error(Code::kInvalidArgument, "--mode must be embedded or systemd, not \"{}\"",
                 flags.mode);
  }
  if (config.root.front() != '/' || config.state.front() != '/') {
    return Status(Code::kInvalidArgument, "--root and --state must be absolute paths");
  }
  BERTH_RETURN_IF_ERROR(ParseLogLevel(config.log_level).status());
  while (config.root.size() > 1 && config.root.back() == '/') config.root.pop_back();
  while (config.state.size() > 1 && config.state.back() == '/') config.state.pop_back();
  return config;
}

struct Daemon::State {
  Config config;
  int64_t started_at = NowUnixNanos();
  ipc::EventLoop loop;
  std::unique_ptr<ipc::Server> server;
  std::unique_ptr<EventExchange> exchange;
  std::unique_ptr<EventsServer> events;
  std::unique_ptr<ContainerdEventsServer> containerd_events;
  PluginRegistry plugins;
  std::unique_ptr<ServiceManager> services;
  std::unique_ptr<SupervisorServer> supervisor;
  std::unique_ptr<SystemMetrics> metrics;
  std::unique_ptr<MetricsHttpServer> metrics_http;
  UniqueFd signal_fd;
  uv_poll_t* signal_poll = nullptr;
  bool stopping = false;

  Status Setup();
  Status WatchSignals();
  void Shutdown();
};

Daemon::Daemon(Config config) : s_(std::make_unique<State>()) { s_->config = std::move(config); }

Daemon::~Daemon() {
  // Handlers and servers go before the loop (declared first in State, destroyed last).
  if (s_->signal_poll != nullptr) {
    uv_poll_stop(s_->signal_poll);
    uv_close(reinterpret_cast<uv_handle_t*>(s_->signal_poll),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  }
  s_->metrics_http.reset();
  s_->server.reset();
  s_->metrics.reset();
  s_->supervisor.reset();
  s_->services.reset();
  s_->events.reset();
  s_->containerd_events.reset();
  s_->exchange.reset();
}

Status Daemon::State::Setup() {
  BERTH_RETURN_IF_ERROR(MakeDirs(config.root, 0711));
  BERTH_RETURN_IF_ERROR(MakeDirs(config.state, 0711));
  BERTH_ASSIGN_OR_RETURN(std::string self_dir, SelfExeDir());
  EventExchange::Options events_options;
  events_options.dir = config.root + "/events";
  events_options.max_entries = static_cast<uint64_t>(config.events.max_log_entries);
  // A subscriber cannot usefully lag more than the log holds.
  events_options.max_subscriber_lag = std::min<uint64_t>(4096, events_options.max_entries);
  events_options.on_publish = [this](const berth::events::v1::Event& event) {
    if (metrics) metrics->CountEvent(event);
  };
  BERTH_ASSIGN_OR_RETURN(exchange, EventExchange::Open(loop, events_options));

  plugins.AddOwn(OwnPlugin("berth.supervisor.v1", "supervisor"));
  plugins.AddOwn(OwnPlugin("berth.events.v1", "exchange"));
  std::string socket = config.state + "/berthd.sock";
  ManagerOptions manager;
  manager.config = config;
  manager.self_dir = self_dir;
  manager.berthd_socket = socket;
  manager.policy.backoff_initial = std::chrono::milliseconds(config.restart_backoff_initial_ms);
  manager.policy.backoff_max = std::chrono::milliseconds(config.restart_backoff_max_ms);
  services = std::make_unique<ServiceManager>(loop, std::move(manager));

  server = std::make_unique<ipc::Server>(loop);
  supervisor = std::make_unique<SupervisorServer>(*services, plugins, started_at);
  supervisor->SetPaths(config.root, config.state);
  supervisor->RegisterWith(*server);
  events = std::make_unique<EventsServer>(*exchange);
  events->RegisterWith(*server);
  containerd_events = std::make_unique<ContainerdEventsServer>(*exchange);
  containerd_events->RegisterWith(*server);
  metrics = std::make_unique<SystemMetrics>(loop, *server, *services);
  metrics->RegisterWith(*server);
  if (!config.metrics.address.empty()) {
    auto http = MetricsHttpServer::Listen(loop, config.metrics.address, [this](auto reply) {
      metrics->Collect([reply](berth::metrics::Families families) {
        reply(berth::metrics::RenderText(families));
      });
    });
    if (!http.ok()) return http.status();
    metrics_http = std::move(*http);
    spdlog::info("serving metrics address={} port={}", config.metrics.address,
                 metrics_http->port());
  }
  Status listening = server->Listen(socket);
  if (listening.code() == Code::kAlreadyExists) {
    return Error(Code::kAlreadyExists,
                 "another berthd is serving {}: stop it first, or use "
                 "another --state",
                 socket);
  }
  return listening.Annotate("serve " + socket);
}

// SIGTERM/SIGINT arrive through a signalfd: they stay blocked for the whole life of the process
// (threads started later inherit the mask), so a second signal during the final teardown can
// never kill berthd with the default action. Children get an empty mask (common/process.h).
Status Daemon::State::WatchSignals() {
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (int rc = ::pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0) {
    return ErrnoStatus(rc, "block SIGTERM/SIGINT");
  }
  signal_fd.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signal_fd) return ErrnoStatus(errno, "signalfd");
  signal_poll = new uv_poll_t;
  uv_poll_init(loop.uv(), signal_poll, signal_fd.get());
  signal_poll->data = this;
  uv_poll_start(signal_poll, UV_READABLE, [](uv_poll_t* handle, int, int) {
    auto* self = static_cast<State*>(handle->data);
    signalfd_siginfo info{};
    while (::read(self->signal_fd.get(), &info, sizeof(info)) == sizeof(info)) {
      spdlog::info("received signal {}", strsignal(static_cast<int>(info.ssi_signo)));
      self->Shutdown();
    }
  });
  return Status::Ok();
}

// Stops the services (reverse order), commits pending events, removes the socket, ends Run().
void Daemon::State::Shutdown() {
  if (stopping) return;
  stopping = true;
  spdlog::info("stopping");
  sd_notify(0, "STOPPING=1");
  supervisor->SetStopping();
  services->StopAll([this] {
    exchange->Drain([this] {
      metrics_http.reset();
      server->Close();
      uv_poll_stop(signal_poll);
      uv_close(reinterpret_cast<uv_handle_t*>(signal_poll),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      signal_poll = nullptr;
      spdlog::info("stopped");
      loop.Stop();
    });
  });
}

int Daemon::Run() {
  State& s = *s_;
  // Before anything starts a thread (the threadpool), so that every thread blocks them.
  Status setup = s.WatchSignals();
  if (setup.ok()) setup = s.Setup();
  if (!setup.ok()) {
    spdlog::error("cannot start: {}", setup.message());
    return 1;
  }
  spdlog::info("serving socket={}/berthd.sock root={} mode={}", s.config.state, s.config.root,
               s.config.services.spawn ? "embedded" : "systemd");
  s.services->Start([&s] {
    spdlog::info("all services up");
    s.supervisor->SetReady();
    sd_notify(0, "READY=1");
  });
  s.loop.Run();
  return 0;
}

}  // namespace berth::supervisor
