#pragma once
// ServiceHost: what every Berth service process (berth-content, berth-snapshot, berth-metadata,
// berth-runtime) shares, so that each main.cc stays thin:
//   - the common command line: --root, --state, --socket, --berthd, --log-level;
//   - logging, one EventLoop, one ipc::Server on the service socket;
//   - the berth.health.v1.Health service (berthd waits for it before calling a service up);
//   - registration of the process's plugins with berthd (retried until berthd answers, and
//     again whenever berthd restarts, since berthd keeps its registry in memory);
//   - an EventPublisher to berthd;
//   - berth.metrics.v1.Metrics: the process's metrics registry, its IPC request counts and
//     process_* figures (services/host/metrics_service.h), which berthd aggregates;
//   - SIGTERM/SIGINT: stop serving, run shutdown hooks, exit 0; sd_notify(READY=1) when serving.
//
// Usage:
//   auto options = ParseServiceCommandLine("content", argc, argv);  // exits on --help / errors
//   ServiceHost host(*options);
//   MyBackend backend(...); MyServer server(backend, host);
//   server.RegisterWith(host.server());
//   host.AddPlugin("berth.content.v1", "content");
//   return host.Run();

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "berth/health/v1/health.berth.h"
#include "berth/supervisor/v1/supervisor.pb.h"
#include "common/metrics.h"
#include "common/status.h"
#include "ipc/event_loop.h"
#include "ipc/server.h"
#include "services/host/event_publisher.h"
#include "services/host/metrics_service.h"

namespace CLI {
class App;
}

namespace berth::service {

struct ServiceOptions {
  std::string name;           // "content"
  std::string root;           // persistent root (<root>/<name> is the service's own dir)
  std::string state;          // state dir (sockets)
  std::string socket;         // default <state>/<name>.sock
  std::string berthd_socket;  // default <state>/berthd.sock; "" or "none" = no berthd
  std::string log_level = "info";
};

// Parses the common flags. `extend` may add service-specific flags to the CLI11 app before
// parsing. On --help prints usage and exits 0; on a bad flag prints the error and exits 2.
ServiceOptions ParseServiceCommandLine(const std::string& name, int argc, char** argv,
                                       const std::function<void(CLI::App&)>& extend = {});

class ServiceHost {
 public:
  explicit ServiceHost(ServiceOptions options);
  ~ServiceHost();

  const ServiceOptions& options() const { return options_; }
  // <root>/<name>: the directory this service owns.
  std::string DataDir() const { return options_.root + "/" + options_.name; }
  ipc::EventLoop& loop() { return loop_; }
  ipc::Server& server() { return *server_; }
  // Publishes to berthd (a no-op publisher when there is no berthd).
  void Publish(const std::string& ns, const std::string& topic,
               const google::protobuf::Message& event);

  // Plugins this process provides, reported to berthd (`berthctl plugins ls`).
  void AddPlugin(const std::string& type, const std::string& id, const std::string& status = "ok",
                 const std::string& error = {});
  // This process's metrics: keep counters here, add collectors for values read on demand.
  metrics::Registry& metrics() { return metrics_; }
  // A source of metrics that needs IPC calls to answer (see MetricsService::AsyncCollector).
  void AddAsyncMetrics(MetricsService::AsyncCollector collector) {
    metrics_service_->AddAsyncCollector(std::move(collector));
  }

  // Runs on the loop thread when the process is asked to stop, before the loop ends.
  void OnShutdown(std::function<void()> hook);

  // Listens, serves until SIGTERM/SIGINT. Returns the process exit code.
  int Run();
  // Asks Run() to return (thread-safe).
  void Stop();

 private:
  class HealthService;
  void RegisterPlugins();

  ServiceOptions options_;
  ipc::EventLoop loop_;
  std::unique_ptr<ipc::Server> server_;
  std::unique_ptr<HealthService> health_;
  metrics::Registry metrics_;
  std::unique_ptr<MetricsService> metrics_service_;
  std::unique_ptr<EventPublisher> publisher_;
  std::shared_ptr<ipc::AsyncClient> berthd_;
  std::vector<berth::supervisor::v1::Plugin> plugins_;
  std::vector<std::function<void()>> shutdown_hooks_;
  std::vector<uv_signal_t*> signals_;
  uint64_t registered_generation_ = 0;
  bool stopping_ = false;
};

}  // namespace berth::service
