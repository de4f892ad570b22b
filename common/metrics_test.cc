#include "common/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace berth::metrics {
namespace {

TEST(MetricsTest, CounterAndGaugeRenderWithHelpTypeAndLabels) {
  Registry registry;
  registry.GetCounter("berth_x_total", "Things done.", {{"kind", "a"}}).Add(3);
  registry.GetCounter("berth_x_total", "Things done.", {{"kind", "b\"q"}}).Add();
  registry.GetGauge("berth_level", "A level.").Set(-2);
  std::string text = RenderText(registry.Collect());
  EXPECT_EQ(text,
            "# HELP berth_level A level.\n# TYPE berth_level gauge\nberth_level -2\n"
            "# HELP berth_x_total Things done.\n# TYPE berth_x_total counter\n"
            "berth_x_total{kind=\"a\"} 3\nberth_x_total{kind=\"b\\\"q\"} 1\n");
}

TEST(MetricsTest, SameNameAndLabelsIsTheSameMetric) {
  Registry registry;
  Counter& a = registry.GetCounter("c_total", "h", {{"k", "v"}});
  Counter& b = registry.GetCounter("c_total", "h", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &registry.GetCounter("c_total", "h", {{"k", "w"}}));
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry registry;
  Histogram& h = registry.GetHistogram("d_seconds", "Latency.", {0.1, 1}, {{"m", "x"}});
  h.Observe(0.05);
  h.Observe(0.1);  // a bound is inclusive ("le")
  h.Observe(0.5);
  h.Observe(7);
  std::string text = RenderText(registry.Collect());
  EXPECT_NE(text.find("d_seconds_bucket{m=\"x\",le=\"0.1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("d_seconds_bucket{m=\"x\",le=\"1\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("d_seconds_bucket{m=\"x\",le=\"+Inf\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("d_seconds_sum{m=\"x\"} 7.65\n"), std::string::npos) << text;
  EXPECT_NE(text.find("d_seconds_count{m=\"x\"} 4\n"), std::string::npos) << text;
}

TEST(MetricsTest, CollectorsMergeIntoFamiliesOfTheSameName) {
  Registry registry;
  registry.GetGauge("g", "help", {{"a", "1"}}).Set(1);
  registry.AddCollector([](Families& out) {
    out.push_back({"g", "help", Type::kGauge, {Sample{{{"a", "2"}}, 2, {}, 0, 0}}});
  });
  Families families = registry.Collect();
  ASSERT_EQ(families.size(), 1u);
  EXPECT_EQ(families[0].samples.size(), 2u);
  AddLabel(families, "berth_service", "content");
  EXPECT_EQ(RenderText(families),
            "# HELP g help\n# TYPE g gauge\ng{berth_service=\"content\",a=\"1\"} 1\n"
            "g{berth_service=\"content\",a=\"2\"} 2\n");
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  Registry registry;
  Counter& c = registry.GetCounter("n_total", "h");
  Histogram& h = registry.GetHistogram("h_seconds", "h", LatencyBuckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.Add();
        h.Observe(0.001);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(h.Snapshot({}).count, 40000u);
}

TEST(MetricsTest, ProcessFamiliesDescribeThisProcess) {
  Families families = ProcessFamilies();
  std::string text = RenderText(families);
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos);
  for (const Family& f : families) {
    ASSERT_EQ(f.samples.size(), 1u) << f.name;
    if (f.name == "process_resident_memory_bytes" || f.name == "process_open_fds" ||
        f.name == "process_start_time_seconds") {
      EXPECT_GT(f.samples[0].value, 0) << f.name;
    }
  }
  EXPECT_EQ(families.size(), 6u);
}

}  // namespace
}  // namespace berth::metrics
