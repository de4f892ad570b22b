// The GC phase of berth-metadata-bench.
#include <fmt/format.h>

#include <future>

#include "bench/metadata/bench.h"
#include "common/temp_dir.h"
#include "services/metadata/gc.h"
#include "services/metadata/gc_stores_fake.h"
#include "services/metadata/test_util.h"

namespace berth::bench {

using metadata::testing::FakeDigest;

namespace {

// Image i: index, manifest, config, 2 layers (blob ids 10i..10i+4), snapshots s<i>-0 <- s<i>-1.
void AddImageObjects(metadata::FakeGcStores& stores, uint64_t i) {
  uint64_t b = i * 10 + 1;
  stores.AddContent({"", FakeDigest(b), {{"containerd.io/gc.ref.content.m.0", FakeDigest(b + 1)}}});
  stores.AddContent({"",
                     FakeDigest(b + 1),
                     {{"containerd.io/gc.ref.content.config", FakeDigest(b + 2)},
                      {"containerd.io/gc.ref.content.l.0", FakeDigest(b + 3)},
                      {"containerd.io/gc.ref.content.l.1", FakeDigest(b + 4)}}});
  stores.AddContent({"",
                     FakeDigest(b + 2),
                     {{"containerd.io/gc.ref.snapshot.overlayfs", fmt::format("s{}-1", i)}}});
  stores.AddContent({"", FakeDigest(b + 3), {}});
  stores.AddContent({"", FakeDigest(b + 4), {}});
  stores.AddSnapshot({"", "overlayfs", fmt::format("s{}-0", i), "", {}});
  stores.AddSnapshot({"", "overlayfs", fmt::format("s{}-1", i), fmt::format("s{}-0", i), {}});
}

}  // namespace

int RunGcPhase(const Options& o) {
  auto dir = TempDir::Create("b-bench");
  if (!dir.ok()) return 1;
  auto store = metadata::MetadataStore::Open(dir->Join("metadata"), nullptr);
  if (!store.ok()) return 1;
  auto fake = std::make_unique<metadata::FakeGcStores>();
  auto* stores = fake.get();
  metadata::GcScheduler::Options gc_options;
  gc_options.startup_delay = std::chrono::milliseconds(-1);
  gc_options.delay = std::chrono::hours(1);
  metadata::GcScheduler gc(**store, std::move(fake), gc_options);
  gc.Attach();
  std::vector<std::future<Status>> pending;
  for (int i = 0; i < o.gc_images; ++i) {
    AddImageObjects(*stores, uint64_t(i));
    auto promise = std::make_shared<std::promise<Status>>();
    pending.push_back(promise->get_future());
    (*store)->CreateImage(
        "bench",
        metadata::testing::MakeImage(fmt::format("app-{}", i), FakeDigest(uint64_t(i) * 10 + 1)),
        [promise](Result<metadata::v1::Image> r) {
          promise->set_value(r.ok() ? Status::Ok() : r.status());
        });
  }
  for (auto& f : pending) (void)f.get();
  Timer mark;
  auto kept = gc.CollectSync(false);
  double mark_ms = mark.Seconds() * 1000;
  pending.clear();
  for (int i = 0; i < o.gc_images; ++i) {
    auto promise = std::make_shared<std::promise<Status>>();
    pending.push_back(promise->get_future());
    (*store)->DeleteImage("bench", fmt::format("app-{}", i), "",
                          [promise](Status s) { promise->set_value(s); });
  }
  for (auto& f : pending) (void)f.get();
  Timer sweep;
  auto swept = gc.CollectSync(false);
  double sweep_ms = sweep.Seconds() * 1000;
  if (!kept.ok() || !swept.ok()) {
    fmt::print(stderr, "gc failed\n");
    return 1;
  }
  fmt::print(
      "gc in-proc  {} images ({} blobs, {} snapshots): keep-all {:.0f} ms (marked {}), "
      "delete-all {:.0f} ms (removed {} blobs, {} snapshots)\n",
      o.gc_images, o.gc_images * 5, o.gc_images * 2, mark_ms, kept->marked, sweep_ms,
      swept->removed_content.size(), swept->removed_snapshots.size());
  PrintResult("gc.inproc.keep_all_ms", mark_ms);
  PrintResult("gc.inproc.delete_all_ms", sweep_ms);
  (*store)->Close();
  return 0;
}

}  // namespace berth::bench
