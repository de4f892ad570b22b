#include "supervisor/system_metrics.h"

#include <spdlog/spdlog.h>

#include <mutex>

#include "berth/events/v1/events.pb.h"
#include "berth/metrics/v1/metrics.berth.h"

namespace berth::supervisor {

namespace mv1 = berth::metrics::v1;

namespace {

constexpr size_t kMaxTopics = 64;  // distinct topic labels; more count as "other"
constexpr auto kScrapeTimeout = std::chrono::seconds(5);

class SystemMetricsService : public mv1::MetricsService {
 public:
  explicit SystemMetricsService(SystemMetrics& metrics) : metrics_(metrics) {}
  void Collect(const mv1::CollectRequest&, ipc::Reply<mv1::CollectResponse> reply) override {
    metrics_.Collect([reply](metrics::Families families) {
      mv1::CollectResponse response;
      service::FamiliesToProto(families, &response);
      reply.Ok(response);
    });
  }

 private:
  SystemMetrics& metrics_;
};

bool Scrapable(const supervisor::v1::ServiceInfo& info) {
  return info.pid() != 0 &&
         (info.state() == "running" || info.state() == "unhealthy" || info.state() == "external");
}

}  // namespace

SystemMetrics::SystemMetrics(ipc::EventLoop& loop, ipc::Server& server,
                             const ServiceManager& services)
    : loop_(loop), services_(services), own_(registry_, server) {
  registry_.AddCollector([this](metrics::Families& out) { CollectOwn(out); });
}

SystemMetrics::~SystemMetrics() {
  for (auto& [socket, client] : clients_) client->Close();
}

void SystemMetrics::RegisterWith(ipc::Server& server) {
  // Owned by the server's handlers for as long as they exist.
  auto service = std::make_shared<SystemMetricsService>(*this);
  server.Register(mv1::MetricsService::kServiceName, "Collect",
                  [service](std::shared_ptr<ipc::ServerCall> call) {
                    mv1::CollectRequest request;
                    if (!request.ParseFromString(call->request())) {
                      call->Finish(Status(Code::kInvalidArgument, "malformed CollectRequest"));
                      return;
                    }
                    service->Collect(request, ipc::Reply<mv1::CollectResponse>(call));
                  });
}

void SystemMetrics::CountEvent(const events::v1::Event& event) {
  // Topics are chosen by publishers: bound the label's values.
  std::string topic = event.topic();
  if (!topics_.contains(topic)) {
    if (topics_.size() >= kMaxTopics) {
      topic = "other";
    } else {
      topics_.insert(topic);
    }
  }
  registry_
      .GetCounter("berth_events_total", "Events published to berthd, by topic.", {{"topic", topic}})
      .Add();
}

void SystemMetrics::CollectOwn(metrics::Families& out) const {
  metrics::Family up{"berth_service_up",
                     "1 when the service answers its health check.",
                     metrics::Type::kGauge,
                     {}};
  metrics::Family restarts{"berth_service_restarts_total",
                           "Times berthd restarted the service after it died (embedded mode) or "
                           "saw it come back with a new pid (systemd mode).",
                           metrics::Type::kCounter,
                           {}};
  for (const auto& info : services_.List()) {
    metrics::Labels labels = {{"service", info.name()}};
    up.samples.push_back({labels, Scrapable(info) && info.state() != "unhealthy" ? 1.0 : 0.0});
    restarts.samples.push_back({labels, static_cast<double>(info.restarts())});
  }
  out.push_back(std::move(up));
  out.push_back(std::move(restarts));
}

void SystemMetrics::Collect(std::function<void(metrics::Families)> done) {
  auto services = services_.List();
  struct Gather {
    metrics::Families families;
    size_t pending = 1;
    std::function<void(metrics::Families)> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->done = std::move(done);
  auto arrive = [gather](metrics::Families more) {
    metrics::Merge(gather->families, std::move(more));
    if (--gather->pending == 0) gather->done(std::move(gather->families));
  };
  own_.CollectAll([&](metrics::Families own) {
    metrics::AddLabel(own, "berth_service", "berthd");
    metrics::Merge(gather->families, std::move(own));
  });
  for (const auto& info : services) {
    if (!Scrapable(info)) continue;
    gather->pending++;
    ScrapeService(info, arrive);
  }
  arrive({});
}

void SystemMetrics::ScrapeService(const supervisor::v1::ServiceInfo& info,
                                  std::function<void(metrics::Families)> done) {
  auto& client = clients_[info.socket()];
  if (!client) client = ipc::AsyncClient::Create(loop_, info.socket());
  auto metrics_client = std::make_shared<mv1::MetricsAsyncClient>(client);
  ipc::CallOptions options;
  options.timeout = kScrapeTimeout;
  metrics_client->Collect(
      mv1::CollectRequest(), std::move(options),
      [this, name = info.name(), metrics_client, done](Result<mv1::CollectResponse> response) {
        if (!response.ok()) {
          spdlog::warn("metrics of service {} unavailable: {}", name, response.status().message());
          registry_
              .GetCounter("berth_scrape_errors_total",
                          "Service metrics scrapes that failed, by service.", {{"service", name}})
              .Add();
          return done({});
        }
        metrics::Families families = service::FamiliesFromProto(*response);
        metrics::AddLabel(families, "berth_service", name);
        done(std::move(families));
      });
}

}  // namespace berth::supervisor
