// The IPC phases of berth-metadata-bench.
#include <fmt/format.h>
#include <signal.h>

#include <future>
#include <random>
#include <thread>

#include "bench/metadata/bench.h"
#include "berth/metadata/v1/containers.berth.h"
#include "berth/metadata/v1/images.berth.h"
#include "ipc/client.h"
#include "services/metadata/test_util.h"

namespace berth::bench {
namespace {

namespace v1 = ::berth::metadata::v1;
using metadata::testing::FakeDigest;
using metadata::testing::MakeContainer;
using metadata::testing::MakeImage;

using Issue = std::function<void(int index, std::function<void(bool ok)> done)>;

// Runs `count` calls keeping `inflight` in flight; returns the calls per second.
double Pipeline(ipc::EventLoop& loop, int count, int inflight, const Issue& issue) {
  struct State {
    int next = 0, completed = 0, failures = 0;
    std::promise<void> finished;
  };
  auto state = std::make_shared<State>();
  std::function<void()> launch;
  launch = [&, state] {
    int index = state->next++;
    issue(index, [&, state](bool ok) {
      if (!ok) state->failures++;
      if (++state->completed == count) return state->finished.set_value();
      if (state->next < count) launch();
    });
  };
  Timer timer;
  loop.Post([&] {
    for (int i = 0; i < std::min(inflight, count); ++i) launch();
  });
  state->finished.get_future().wait();
  double seconds = timer.Seconds();
  if (state->failures > 0) fmt::print("  ({} calls failed)\n", state->failures);
  return count / seconds;
}

ipc::CallOptions Call() {
  ipc::CallOptions options;
  options.ns = "bench";
  options.timeout = std::chrono::seconds(120);
  return options;
}

void ContainerPhases(const Options& o, ipc::EventLoop& loop, std::shared_ptr<ipc::AsyncClient> ac,
                     ipc::Client& client) {
  v1::ContainersAsyncClient containers(ac);
  double create = Pipeline(loop, o.count, o.inflight, [&](int i, auto done) {
    v1::CreateContainerRequest request;
    *request.mutable_container() =
        MakeContainer(fmt::format("c{:06}", i), "overlayfs", fmt::format("c{:06}-rw", i));
    (*request.mutable_container()->mutable_labels())["group"] = std::to_string(i % 100);
    containers.Create(request, Call(), [done](auto r) { done(r.ok()); });
  });
  std::vector<int> order(o.count);
  for (int i = 0; i < o.count; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(42));
  double get = Pipeline(loop, o.count, o.inflight, [&](int i, auto done) {
    v1::GetContainerRequest request;
    request.set_id(fmt::format("c{:06}", order[i]));
    containers.Get(request, Call(), [done](auto r) { done(r.ok()); });
  });
  auto list = [&](const std::string& filter) {
    v1::ListContainersRequest request;
    if (!filter.empty()) request.add_filters(filter);
    Timer timer;
    size_t n = 0;
    auto stream = v1::ContainersClient(client).ListStream(request, Call());
    while (true) {
      auto message = stream.Recv();
      if (!message.ok() || !message->has_value()) break;
      n += (*message)->containers_size();
    }
    return std::make_pair(n, timer.Seconds() * 1000);
  };
  auto all = list("");
  auto some = list("labels.group==7");
  fmt::print(
      "containers  create {:>9.0f}/s   get {:>9.0f}/s   list all {} in {:.0f} ms   "
      "list filtered {} in {:.0f} ms\n",
      create, get, all.first, all.second, some.first, some.second);
  PrintResult("containers.create_per_s", create);
  PrintResult("containers.get_per_s", get);
  PrintResult("containers.list_all_ms", all.second);
  PrintResult("containers.list_filtered_ms", some.second);
}

void ImagePhases(const Options& o, ipc::EventLoop& loop, std::shared_ptr<ipc::AsyncClient> ac,
                 ipc::Client& client) {
  v1::ImagesAsyncClient images(ac);
  double create = Pipeline(loop, o.count, o.inflight, [&](int i, auto done) {
    v1::CreateImageRequest request;
    *request.mutable_image() =
        MakeImage(fmt::format("registry.example.com/team/app-{}:v{}", i / 10, i % 10),
                  FakeDigest(uint64_t(i) + 1));
    images.Create(request, Call(), [done](auto r) { done(r.ok()); });
  });
  double get = Pipeline(loop, o.count, o.inflight, [&](int i, auto done) {
    v1::GetImageRequest request;
    int j = (i * 7919) % o.count;
    request.set_name(fmt::format("registry.example.com/team/app-{}:v{}", j / 10, j % 10));
    images.Get(request, Call(), [done](auto r) { done(r.ok()); });
  });
  Timer timer;
  size_t n = 0;
  auto stream = v1::ImagesClient(client).ListStream(v1::ListImagesRequest(), Call());
  while (true) {
    auto message = stream.Recv();
    if (!message.ok() || !message->has_value()) break;
    n += (*message)->images_size();
  }
  double listed = timer.Seconds() * 1000;
  fmt::print("images      create {:>9.0f}/s   get {:>9.0f}/s   list all {} in {:.0f} ms\n", create,
             get, n, listed);
  PrintResult("images.create_per_s", create);
  PrintResult("images.get_per_s", get);
  PrintResult("images.list_all_ms", listed);
}

}  // namespace

int RunIpcPhases(const Options& o) {
  auto dir = TempDir::Create("b-bench");
  if (!dir.ok()) return 1;
  auto child = StartService(o, "metadata", *dir, {"--content-socket", "none"});
  if (!child.ok()) {
    fmt::print(stderr, "{}\n", child.status().ToString());
    return 1;
  }
  ipc::EventLoop loop;
  loop.StartThread();
  auto ac = ipc::AsyncClient::Create(loop, SocketOf(*dir, "metadata"));
  ipc::Client client(SocketOf(*dir, "metadata"));
  ContainerPhases(o, loop, ac, client);
  ImagePhases(o, loop, ac, client);
  ac->Close();
  (void)child->Kill(SIGTERM);
  (void)child->Wait();
  return 0;
}

}  // namespace berth::bench
