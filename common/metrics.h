#pragma once
// Metrics: counters, gauges and histograms a process keeps, and the Prometheus text format they
// are served in.
//
// Every Berth process has one Registry (ServiceHost owns a service's; berthd owns its own). Code
// that counts asks the registry once for its metric and keeps the reference (metrics live as
// long as the registry); values that are cheaper to read when asked (disk use, cgroup files,
// /proc) come from collectors, functions run at each Collect(). A scrape turns the registry into
// Families, a plain value type that crosses the wire (berth.metrics.v1.Metrics, see
// services/host/metrics_service.h), is merged across processes by berthd and rendered with
// RenderText().
//
// Naming follows Prometheus: snake_case, base units (seconds, bytes), counters end in _total.
//
// Thread-safety: Counter, Gauge and Histogram are lock-free and may be updated from any thread;
// Registry methods may be called from any thread (collectors run on the caller's thread).

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace berth::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class Type { kCounter, kGauge, kHistogram };

// One time series (counter, gauge) or one histogram.
struct Sample {
  Labels labels;
  double value = 0;  // counter and gauge
  // Histogram: (upper bound, cumulative count) for every finite bound, ascending; the +Inf
  // bucket is `count`.
  std::vector<std::pair<double, uint64_t>> buckets;
  double sum = 0;
  uint64_t count = 0;
};

struct Family {
  std::string name;
  std::string help;
  Type type = Type::kGauge;
  std::vector<Sample> samples;
};
using Families = std::vector<Family>;

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Histogram {
 public:
  // `bounds`: finite upper bounds, ascending.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // The current state as a Sample with `labels`.
  Sample Snapshot(Labels labels) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative; last = +Inf
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

// Bucket bounds in seconds for request latencies: 100 µs to 10 s.
const std::vector<double>& LatencyBuckets();

class Registry {
 public:
  using Collector = std::function<void(Families& out)>;

  // The metric with this name and labels, created on first use. A name keeps the type and help
  // of its first use.
  Counter& GetCounter(const std::string& name, const std::string& help, Labels labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help, Labels labels = {});
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          const std::vector<double>& bounds, Labels labels = {});
  // Runs at every Collect(), appending families (or samples of existing names).
  void AddCollector(Collector collector);

  // Every metric and the collectors' output, one Family per name.
  Families Collect() const;

 private:
  struct Entry {
    std::string name;
    std::string help;
    Type type;
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  Entry& Find(const std::string& name, const std::string& help, Type type, Labels labels,
              const std::vector<double>* bounds);

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, Labels>, std::unique_ptr<Entry>> entries_;
  std::vector<Collector> collectors_;
};

// Appends `from` to `into`, merging the samples of families with the same name.
void Merge(Families& into, Families from);
// Puts label name=value first on every sample (e.g. berth_service="content").
void AddLabel(Families& families, const std::string& name, const std::string& value);
// The Prometheus text exposition format (version 0.0.4), families sorted by name.
std::string RenderText(const Families& families);
// The content type of RenderText's output.
inline constexpr const char kTextContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// The standard process_* families of the calling process (CPU seconds, resident and virtual
// memory, open and max fds, start time), read from /proc/self.
Families ProcessFamilies();

}  // namespace berth::metrics
