#pragma once
// Pull internals: the layer pipeline (concurrent downloads into the content store, unpacking in
// order as layers land), shared by pull.cc and pull_layers.cc.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "client/pull.h"

namespace berth::client {

struct LayerTask {
  Descriptor descriptor{};
  content::Labels labels{};
  size_t progress_id = 0;
};

// What the layer pipeline needs.
struct LayerPipeline {
  Registry* registry = nullptr;
  const PullServices* services = nullptr;
  const PullOptions* options = nullptr;
  std::string lease{};
  Progress* progress = nullptr;

  std::vector<LayerTask> tasks{};
  // The image to unpack: its layers are tasks[unpack_tasks[i]] (empty when not unpacking).
  const LocalImage* unpack_image = nullptr;
  std::vector<size_t> unpack_tasks{};

  std::atomic<uint64_t> fetched{0};
  std::atomic<uint64_t> layers_fetched{0};
  std::atomic<uint64_t> layers_unpacked{0};

  // Runs the downloads and the unpacking; returns the first error.
  Status Run();

 private:
  Status FetchLayer(LayerTask& task);
  Status FetchOnce(LayerTask& task, bool* retry);
  void FetchWorker();
  void UnpackWorker();
  void Fail(const Status& status);

  std::mutex mu_;
  std::condition_variable cv_;
  size_t next_ = 0;
  std::vector<int> done_;  // per task: 0 pending, 1 committed, -1 failed
  Status error_;
  std::atomic<bool> abort_{false};
};

}  // namespace berth::client
