#pragma once
// SystemMetrics: berthd's view of the metrics of the whole system, served as
// berth.metrics.v1.Metrics on berthd.sock (`berthctl metrics`) and, when [metrics] address is
// set, as Prometheus text over HTTP (supervisor/metrics_http.h). One Collect gathers:
//   - berthd's own samples: IPC requests on berthd.sock, process_*, events by topic
//     (berth_events_total), and per service berth_service_up / berth_service_restarts_total;
//   - every configured service that is up, scraped over its socket (Metrics.Collect, 5 s
//     deadline); a service that does not answer only counts in berth_scrape_errors_total.
// Every sample carries berth_service="<name>" ("berthd" for berthd's own).
//
// Thread-safety: loop-thread object.

#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/metrics.h"
#include "ipc/client.h"
#include "ipc/event_loop.h"
#include "ipc/server.h"
#include "services/host/metrics_service.h"
#include "supervisor/service_manager.h"

namespace berth::events::v1 {
class Event;
}

namespace berth::supervisor {

class SystemMetrics {
 public:
  // `services` and `server` must outlive this object.
  SystemMetrics(ipc::EventLoop& loop, ipc::Server& server, const ServiceManager& services);
  ~SystemMetrics();

  // Serves berth.metrics.v1.Metrics on `server`.
  void RegisterWith(ipc::Server& server);
  // Counts an event (EventExchange::Options::on_publish).
  void CountEvent(const events::v1::Event& event);
  // Gathers everything; `done` runs on the loop thread.
  void Collect(std::function<void(metrics::Families)> done);

 private:
  void ScrapeService(const supervisor::v1::ServiceInfo& info,
                     std::function<void(metrics::Families)> done);
  void CollectOwn(metrics::Families& out) const;

  ipc::EventLoop& loop_;
  const ServiceManager& services_;
  metrics::Registry registry_;
  service::MetricsService own_;
  std::map<std::string, std::shared_ptr<ipc::AsyncClient>> clients_;  // by socket
  std::set<std::string> topics_;  // topics counted under their own label
};

}  // namespace berth::supervisor
