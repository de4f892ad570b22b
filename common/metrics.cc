#include "common/metrics.h"

#include <algorithm>

namespace berth::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::Observe(double value) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Sample Histogram::Snapshot(Labels labels) const {
  Sample s;
  s.labels = std::move(labels);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    s.buckets.emplace_back(bounds_[i], cumulative);
  }
  // Read apart from the buckets, so count may trail or lead them by an observation in flight;
  // the +Inf bucket must never be below a finite one.
  s.count =
      std::max(cumulative + counts_[bounds_.size()].load(std::memory_order_relaxed), cumulative);
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                               0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                               1,      2.5,     5,      10};
  return kBuckets;
}

Registry::Entry& Registry::Find(const std::string& name, const std::string& help, Type type,
                                Labels labels, const std::vector<double>* bounds) {
  std::lock_guard lock(mutex_);
  auto key = std::make_pair(name, labels);
  auto it = entries_.find(key);
  if (it != entries_.end()) return *it->second;
  auto entry = std::make_unique<Entry>();
  entry->name = name;
  entry->help = help;
  entry->type = type;
  entry->labels = std::move(labels);
  if (type == Type::kCounter) entry->counter = std::make_unique<Counter>();
  if (type == Type::kGauge) entry->gauge = std::make_unique<Gauge>();
  if (type == Type::kHistogram) entry->histogram = std::make_unique<Histogram>(*bounds);
  Entry& ref = *entry;
  entries_.emplace(std::move(key), std::move(entry));
  return ref;
}

Counter& Registry::GetCounter(const std::string& name, const std::string& help, Labels labels) {
  return *Find(name, help, Type::kCounter, std::move(labels), nullptr).counter;
}

Gauge& Registry::GetGauge(const std::string& name, const std::string& help, Labels labels) {
  return *Find(name, help, Type::kGauge, std::move(labels), nullptr).gauge;
}

Histogram& Registry::GetHistogram(const std::string& name, const std::string& help,
                                  const std::vector<double>& bounds, Labels labels) {
  return *Find(name, help, Type::kHistogram, std::move(labels), &bounds).histogram;
}

void Registry::AddCollector(Collector collector) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collector));
}

Families Registry::Collect() const {
  Families out;
  std::vector<Collector> collectors;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, e] : entries_) {
      Family f{e->name, e->help, e->type, {}};
      Sample s;
      if (e->counter) s.value = static_cast<double>(e->counter->value());
      if (e->gauge) s.value = static_cast<double>(e->gauge->value());
      if (e->histogram) s = e->histogram->Snapshot({});
      s.labels = e->labels;
      f.samples.push_back(std::move(s));
      Merge(out, {std::move(f)});
    }
    collectors = collectors_;
  }
  // Outside the lock: a collector may read other metrics of this registry.
  for (const auto& collect : collectors) {
    Families more;
    collect(more);
    Merge(out, std::move(more));
  }
  return out;
}

void Merge(Families& into, Families from) {
  for (Family& f : from) {
    auto it = std::find_if(into.begin(), into.end(),
                           [&](const Family& existing) { return existing.name == f.name; });
    if (it == into.end()) {
      into.push_back(std::move(f));
      continue;
    }
    for (Sample& s : f.samples) it->samples.push_back(std::move(s));
  }
}

void AddLabel(Families& families, const std::string& name, const std::string& value) {
  for (Family& f : families) {
    for (Sample& s : f.samples) s.labels.insert(s.labels.begin(), {name, value});
  }
}

}  // namespace berth::metrics
