#include "services/host/service_host.h"

#include <sys/utsname.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "berth/supervisor/v1/supervisor.berth.h"
#include "common/fs.h"
#include "common/logging.h"

namespace berth::service {

namespace supervisor = berth::supervisor::v1;
namespace health = berth::health::v1;

namespace {
// How often a service re-checks that berthd still knows its plugins (berthd restarts lose them).
constexpr uint64_t kRegistrationCheckMillis = 1000;

std::string Platform() {
  utsname u{};
  ::uname(&u);
  std::string machine = u.machine;
  if (machine == "x86_64") machine = "amd64";
  if (machine == "aarch64") machine = "arm64";
  return "linux/" + machine;
}
}  // namespace

ServiceOptions ParseServiceCommandLine(const std::string& name, int argc, char** argv,
                                       const std::function<void(CLI::App&)>& extend) {
  ServiceOptions options;
  options.name = name;
  options.root = "/var/lib/berth";
  options.state = "/run/berth";
  CLI::App app("berth-" + name + ": the Berth " + name + " service", "berth-" + name);
  app.add_option("--root", options.root, "persistent data root")->capture_default_str();
  app.add_option("--state", options.state, "state dir (sockets)")->capture_default_str();
  app.add_option("--socket", options.socket, "socket to serve (default <state>/" + name + ".sock)");
  app.add_option("--berthd", options.berthd_socket,
                 "berthd socket for events and plugin registration (default <state>/berthd.sock, "
                 "'none' to run alone)");
  app.add_option("--log-level", options.log_level, "trace|debug|info|warn|error")
      ->capture_default_str();
  if (extend) extend(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  if (options.socket.empty()) options.socket = options.state + "/" + name + ".sock";
  if (options.berthd_socket.empty()) options.berthd_socket = options.state + "/berthd.sock";
  return options;
}

class ServiceHost::HealthService : public health::HealthService {
 public:
  explicit HealthService(std::string name) : name_(std::move(name)) {}
  void Check(const health::CheckRequest&, ipc::Reply<health::CheckResponse> reply) override {
    health::CheckResponse response;
    response.set_status("serving");
    response.set_service(name_);
    response.set_pid(static_cast<uint32_t>(::getpid()));
    reply.Ok(response);
  }

 private:
  std::string name_;
};

ServiceHost::ServiceHost(ServiceOptions options) : options_(std::move(options)) {
  Status logging = InitLogging("berth-" + options_.name, options_.log_level);
  if (!logging.ok()) {
    fmt::print(stderr, "berth-{}: {}\n", options_.name, logging.message());
    std::exit(2);
  }
  server_ = std::make_unique<ipc::Server>(loop_);
  health_ = std::make_unique<HealthService>(options_.name);
  health_->RegisterWith(*server_);
  metrics_service_ = std::make_unique<MetricsService>(metrics_, *server_);
  metrics_service_->RegisterWith(*server_);
  bool has_berthd = !options_.berthd_socket.empty() && options_.berthd_socket != "none";
  if (has_berthd) {
    publisher_ = std::make_unique<EventPublisher>(loop_, options_.berthd_socket);
    berthd_ = ipc::AsyncClient::Create(loop_, options_.berthd_socket);
  }
}

ServiceHost::~ServiceHost() = default;

void ServiceHost::Publish(const std::string& ns, const std::string& topic,
                          const google::protobuf::Message& event) {
  if (publisher_) publisher_->Publish(ns, topic, event);
}

void ServiceHost::AddPlugin(const std::string& type, const std::string& id,
                            const std::string& status, const std::string& error) {
  supervisor::Plugin plugin;
  plugin.set_type(type);
  plugin.set_id(id);
  plugin.add_platforms(Platform());
  plugin.set_status(status);
  plugin.set_error(error);
  plugin.set_service(options_.name);
  plugins_.push_back(std::move(plugin));
}

void ServiceHost::OnShutdown(std::function<void()> hook) {
  shutdown_hooks_.push_back(std::move(hook));
}

// Registers the plugins, then keeps checking that berthd still has them: berthd's registry is in
// memory, so after a berthd restart its `plugins ls` would be missing this service until the
// next registration. A check is one small RPC a second.
void ServiceHost::RegisterPlugins() {
  if (!berthd_ || stopping_) return;
  supervisor::RegisterPluginsRequest request;
  request.set_service(options_.name);
  for (auto& plugin : plugins_) *request.add_plugins() = plugin;
  auto client = std::make_shared<supervisor::SupervisorAsyncClient>(berthd_);
  ipc::CallOptions call;
  call.timeout = std::chrono::seconds(2);
  client->RegisterPlugins(
      request, std::move(call), [this, client](Result<google::protobuf::Empty> result) {
        if (!result.ok()) {
          spdlog::debug("plugin registration with berthd pending: {}", result.status().message());
        }
        loop_.After(kRegistrationCheckMillis, [this] { RegisterPlugins(); });
      });
}

int ServiceHost::Run() {
  Status listening = server_->Listen(options_.socket);
  if (!listening.ok()) {
    spdlog::error("cannot serve {}: {}", options_.socket, listening.message());
    return 1;
  }
  for (int signum : {SIGTERM, SIGINT}) {
    auto* handle = new uv_signal_t;
    uv_signal_init(loop_.uv(), handle);
    handle->data = this;
    uv_signal_start(
        handle, [](uv_signal_t* h, int) { static_cast<ServiceHost*>(h->data)->Stop(); }, signum);
    signals_.push_back(handle);
  }
  ::signal(SIGPIPE, SIG_IGN);
  RegisterPlugins();
  spdlog::info("serving socket={} root={}", options_.socket, options_.root);
  sd_notify(0, "READY=1");
  loop_.Run();
  return 0;
}

void ServiceHost::Stop() {
  loop_.Dispatch([this] {
    if (stopping_) return;
    stopping_ = true;
    spdlog::info("stopping");
    for (auto& hook : shutdown_hooks_) hook();
    server_->Close();
    for (auto* handle : signals_) {
      uv_close(reinterpret_cast<uv_handle_t*>(handle),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_signal_t*>(h); });
    }
    signals_.clear();
    if (publisher_) publisher_->Flush(std::chrono::milliseconds(0));
    loop_.Stop();
  });
}

}  // namespace berth::service
