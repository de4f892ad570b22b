#include "bench/ipc/bench_client.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "bench/ipc/forward_request.h"
#include "containerd/services/ttrpc/events/v1/events.berth.h"
#include "ipc/client.h"
#include "ipc/event_loop.h"

namespace berth::bench {

namespace {

namespace events = containerd::services::events::ttrpc::v1;
using Clock = std::chrono::steady_clock;
constexpr std::chrono::seconds kCallTimeout{10};  // the Go peer's callTimeout

// The benchmark as a state machine on the loop thread: warm-up -> latency -> throughput -> done.
class Benchmark {
 public:
  Benchmark(ipc::EventLoop& loop, const BenchOptions& options)
      : loop_(loop), options_(options), events_(ipc::AsyncClient::Create(loop, options.socket)) {}

  void Start() { Sequential(options_.latency_calls / 10, /*measure=*/false); }
  const Status& status() const { return status_; }
  const BenchResult& result() const { return result_; }

 private:
  template <typename Done>
  void Forward(Done&& done) {
    ipc::CallOptions call_options;
    call_options.ns = kBenchNamespace;
    call_options.timeout = kCallTimeout;
    events_.Forward(MakeForwardRequest(kBenchNamespace, kBenchTopic, kBenchPayloadBytes),
                    std::move(call_options),
                    [done = std::forward<Done>(done)](Result<google::protobuf::Empty> reply) {
                      done(reply.status());
                    });
  }

  // `left` sequential calls; when measuring, each round trip is a latency sample.
  void Sequential(int64_t left, bool measure) {
    if (left == 0) {
      if (!measure) {
        samples_.reserve(static_cast<size_t>(options_.latency_calls));
        Sequential(options_.latency_calls, true);
      } else {
        Percentiles();
        Throughput();
      }
      return;
    }
    Clock::time_point start = Clock::now();
    Forward([this, left, measure, start](const Status& status) {
      if (!status.ok()) return Fail(measure ? "latency call" : "warm-up", status);
      if (measure) samples_.push_back(Clock::now() - start);
      Sequential(left - 1, measure);
    });
  }

  void Percentiles() {
    std::sort(samples_.begin(), samples_.end());
    auto pct = [this](double p) {
      auto index = static_cast<size_t>(p * static_cast<double>(samples_.size() - 1));
      return static_cast<double>(samples_[index].count()) / 1e3;
    };
    result_.p50_us = pct(0.50);
    result_.p99_us = pct(0.99);
  }

  void Throughput() {
    throughput_start_ = Clock::now();
    throughput_end_ = throughput_start_ + options_.duration;
    for (int64_t i = 0; i < options_.inflight; ++i) {
      ++active_;
      ThroughputCall();
    }
  }

  void ThroughputCall() {
    Forward([this](const Status& status) {
      if (!status.ok()) Fail("throughput call", status);
      if (status_.ok()) {
        ++completed_;
        if (Clock::now() < throughput_end_) return ThroughputCall();
      }
      if (--active_ == 0) {
        std::chrono::duration<double> elapsed = Clock::now() - throughput_start_;
        result_.rps = static_cast<double>(completed_) / elapsed.count();
        loop_.Stop();
      }
    });
  }

  void Fail(const char* what, const Status& status) {
    if (status_.ok()) status_ = Error(status.code(), "{}: {}", what, status.message());
    if (active_ == 0) loop_.Stop();
  }

  ipc::EventLoop& loop_;
  BenchOptions options_;
  events::EventsAsyncClient events_;
  std::vector<Clock::duration> samples_;
  Clock::time_point throughput_start_, throughput_end_;
  int64_t active_ = 0;
  int64_t completed_ = 0;
  Status status_;
  BenchResult result_;
};

}  // namespace

Result<BenchResult> RunBenchmark(const BenchOptions& options) {
  if (options.socket.empty() || options.inflight < 1 || options.latency_calls < 1) {
    return Status(Code::kInvalidArgument,
                  "--socket is required; --inflight and --latency-calls must be >= 1");
  }
  ipc::EventLoop loop;
  auto benchmark = std::make_unique<Benchmark>(loop, options);
  loop.Post([&benchmark] { benchmark->Start(); });
  loop.Run();
  if (!benchmark->status().ok()) return benchmark->status();
  return benchmark->result();
}

int RunBench(const Flags& flags) {
  BenchOptions options;
  options.socket = flags.Get("socket");
  auto calls = flags.GetInt("latency-calls", options.latency_calls);
  auto inflight = flags.GetInt("inflight", options.inflight);
  auto duration = flags.GetDuration("duration", options.duration);
  for (const Status* s : {&calls.status(), &inflight.status(), &duration.status()}) {
    if (!s->ok()) {
      std::fprintf(stderr, "berth-ipc-bench bench: %s\n", s->message().c_str());
      return 2;
    }
  }
  options.latency_calls = *calls;
  options.inflight = *inflight;
  options.duration = *duration;
  auto result = RunBenchmark(options);
  if (!result.ok()) {
    std::fprintf(stderr, "berth-ipc-bench bench: %s\n", result.status().ToString().c_str());
    return 1;
  }
  std::printf("{\"p50_us\":%.3f,\"p99_us\":%.3f,\"rps\":%.1f}\n", result->p50_us, result->p99_us,
              result->rps);
  return 0;
}

}  // namespace berth::bench
