#pragma once
// Pull internals: the blob pipeline (concurrent downloads of configs and layers into the content
// store, unpacking in order as layers land), shared by pull.cc and pull_layers.cc.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "client/pull.h"

namespace berth::client {

// One blob to download: a layer, or an image config.
struct LayerTask {
  Descriptor descriptor{};
  content::Labels labels{};
  size_t progress_id = 0;
  bool is_layer = true;
};

// What the layer pipeline needs.
struct LayerPipeline {
  Registry* registry = nullptr;
  const PullServices* services = nullptr;
  const PullOptions* options = nullptr;
  std::string lease{};
  Progress* progress = nullptr;

  // Configs and layers, downloaded in this order, max_concurrent at once.
  std::vector<LayerTask> tasks{};
  // The image to unpack (null when not unpacking): its manifest is set; the unpack worker reads
  // its config (tasks[unpack_config]) once that is committed, then unpacks its layers
  // (tasks[unpack_tasks[i]]) in order as they are committed.
  LocalImage* unpack_image = nullptr;
  size_t unpack_config = 0;
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
  // Blocks until tasks[i] is committed; false when the pipeline failed meanwhile.
  bool WaitFor(size_t i);
  void Fail(const Status& status);

  std::mutex mu_;
  std::condition_variable cv_;
  size_t next_ = 0;
  std::vector<int> done_;  // per task: 0 pending, 1 committed, -1 failed
  Status error_;
  std::atomic<bool> abort_{false};
};

}  // namespace berth::client
