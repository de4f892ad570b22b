#include "services/host/metrics_service.h"

#include <memory>
#include <mutex>

namespace berth::service {

namespace mv1 = berth::metrics::v1;

void FamiliesToProto(const metrics::Families& families, mv1::CollectResponse* out) {
  for (const metrics::Family& f : families) {
    mv1::MetricFamily* family = out->add_families();
    family->set_name(f.name);
    family->set_help(f.help);
    family->set_type(f.type == metrics::Type::kCounter     ? mv1::MetricFamily::COUNTER
                     : f.type == metrics::Type::kHistogram ? mv1::MetricFamily::HISTOGRAM
                                                           : mv1::MetricFamily::GAUGE);
    for (const metrics::Sample& s : f.samples) {
      mv1::Sample* sample = family->add_samples();
      for (const auto& [name, value] : s.labels) {
        mv1::Label* label = sample->add_labels();
        label->set_name(name);
        label->set_value(value);
      }
      sample->set_value(s.value);
      for (const auto& [bound, count] : s.buckets) {
        mv1::Bucket* bucket = sample->add_buckets();
        bucket->set_upper_bound(bound);
        bucket->set_cumulative_count(count);
      }
      sample->set_sum(s.sum);
      sample->set_count(s.count);
    }
  }
}

metrics::Families FamiliesFromProto(const mv1::CollectResponse& response) {
  metrics::Families out;
  for (const mv1::MetricFamily& family : response.families()) {
    metrics::Family f;
    f.name = family.name();
    f.help = family.help();
    f.type = family.type() == mv1::MetricFamily::COUNTER     ? metrics::Type::kCounter
             : family.type() == mv1::MetricFamily::HISTOGRAM ? metrics::Type::kHistogram
                                                             : metrics::Type::kGauge;
    for (const mv1::Sample& sample : family.samples()) {
      metrics::Sample s;
      for (const mv1::Label& label : sample.labels()) {
        s.labels.emplace_back(label.name(), label.value());
      }
      s.value = sample.value();
      for (const mv1::Bucket& bucket : sample.buckets()) {
        s.buckets.emplace_back(bucket.upper_bound(), bucket.cumulative_count());
      }
      s.sum = sample.sum();
      s.count = sample.count();
      f.samples.push_back(std::move(s));
    }
    metrics::Merge(out, {std::move(f)});
  }
  return out;
}

MetricsService::MetricsService(metrics::Registry& registry, ipc::Server& server)
    : registry_(registry), server_(server) {}

void MetricsService::AddAsyncCollector(AsyncCollector collector) {
  async_.push_back(std::move(collector));
}

void MetricsService::CollectAll(std::function<void(metrics::Families)> done) {
  struct Gather {
    std::mutex mutex;
    metrics::Families families;
    size_t pending;
    std::function<void(metrics::Families)> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->families = registry_.Collect();
  server_.CollectMetrics(gather->families);
  metrics::Merge(gather->families, metrics::ProcessFamilies());
  gather->pending = async_.size() + 1;  // +1: this function's own share, released below
  gather->done = std::move(done);
  auto arrive = [gather](metrics::Families more) {
    std::unique_lock lock(gather->mutex);
    metrics::Merge(gather->families, std::move(more));
    if (--gather->pending != 0) return;
    lock.unlock();
    gather->done(std::move(gather->families));
  };
  for (const AsyncCollector& collector : async_) collector(arrive);
  arrive({});
}

void MetricsService::Collect(const mv1::CollectRequest&, ipc::Reply<mv1::CollectResponse> reply) {
  CollectAll([reply](metrics::Families families) {
    mv1::CollectResponse response;
    FamiliesToProto(families, &response);
    reply.Ok(response);
  });
}

}  // namespace berth::service
