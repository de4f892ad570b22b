// The GC phase of berth-metadata-bench against real berth-content and berth-snapshot processes:
// the same image layout as the in-process phase (and as ctrpeer's for containerd), with every
// blob and snapshot really stored, then one collection that keeps everything and, once the
// image records are deleted, one that removes everything.
#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "bench/metadata/bench.h"
#include "berth/metadata/v1/gc.berth.h"
#include "berth/metadata/v1/images.berth.h"
#include "common/digest.h"
#include "ipc/client.h"
#include "services/content/proxy.h"
#include "services/snapshot/proxy.h"

namespace berth::bench {
namespace {

namespace v1 = ::berth::metadata::v1;

constexpr char kSnapshotter[] = "native";

// Calls fn(0..count-1) from `threads` threads; returns how many calls failed (the first
// failure is printed).
int ParallelFor(int count, int threads, const std::function<Status(int)>& fn) {
  std::atomic<int> next{0}, failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = next++; i < count; i = next++) {
        Status status = fn(i);
        if (!status.ok() && failures++ == 0) fmt::print(stderr, "  {}: {}\n", i, status.ToString());
      }
    });
  }
  for (auto& worker : workers) worker.join();
  return failures.load();
}

class RealStores {
 public:
  RealStores(const TempDir& dir)
      : content_client_(SocketOf(dir, "content")),
        snapshot_client_(SocketOf(dir, "snapshot")),
        metadata_client_(SocketOf(dir, "metadata")),
        blobs_(content_client_),
        snapshots_(snapshot_client_, kSnapshotter),
        images_(metadata_client_),
        gc_(metadata_client_) {}

  // Image i: index -> manifest -> config + 2 layers, the config naming snapshot s<i>-1 (whose
  // parent is s<i>-0); then the image record "gc/app-<i>".
  Status AddImage(int i) {
    std::string s0 = fmt::format("s{}-0", i), s1 = fmt::format("s{}-1", i);
    BERTH_RETURN_IF_ERROR(CommittedSnapshot(s0, ""));
    BERTH_RETURN_IF_ERROR(CommittedSnapshot(s1, s0));
    BERTH_ASSIGN_OR_RETURN(std::string l0, Put(fmt::format("layer 0 of image {}", i), {}));
    BERTH_ASSIGN_OR_RETURN(std::string l1, Put(fmt::format("layer 1 of image {}", i), {}));
    BERTH_ASSIGN_OR_RETURN(
        std::string config,
        Put(fmt::format(R"({{"image":{}}})", i),
            {{std::string("containerd.io/gc.ref.snapshot.") + kSnapshotter, s1}}));
    BERTH_ASSIGN_OR_RETURN(std::string manifest,
                           Put(fmt::format(R"({{"manifest":{}}})", i),
                               {{"containerd.io/gc.ref.content.config", config},
                                {"containerd.io/gc.ref.content.l.0", l0},
                                {"containerd.io/gc.ref.content.l.1", l1}}));
    std::string index_json = fmt::format(R"({{"index":{}}})", i);
    BERTH_ASSIGN_OR_RETURN(std::string index,
                           Put(index_json, {{"containerd.io/gc.ref.content.m.0", manifest}}));
    v1::CreateImageRequest create;
    create.mutable_image()->set_name(fmt::format("gc/app-{}", i));
    auto* target = create.mutable_image()->mutable_target();
    target->set_media_type("application/vnd.oci.image.index.v1+json");
    target->set_digest(index);
    target->set_size(static_cast<int64_t>(index_json.size()));
    auto created = images_.Create(create, Call());
    return created.ok() ? Status::Ok() : created.status();
  }

  Status DeleteImage(int i) {
    v1::DeleteImageRequest request;
    request.set_name(fmt::format("gc/app-{}", i));
    auto deleted = images_.Delete(request, Call());
    return deleted.ok() ? Status::Ok() : deleted.status();
  }

  Result<v1::CollectResponse> Collect() { return gc_.Collect(v1::CollectRequest(), Call()); }

 private:
  static ipc::CallOptions Call() {
    ipc::CallOptions options;
    options.ns = "bench";
    options.timeout = std::chrono::minutes(30);
    return options;
  }
  Result<std::string> Put(const std::string& data, const content::Labels& labels) {
    Hasher hasher;
    hasher.Update(data);
    Digest digest = hasher.Finish();
    BERTH_RETURN_IF_ERROR(content::WriteBlob(blobs_, "bench-" + digest.hex, data, digest, labels));
    return digest.ToString();
  }
  Status CommittedSnapshot(const std::string& name, const std::string& parent) {
    BERTH_RETURN_IF_ERROR(snapshots_.Prepare(name + "-extract", parent, {}).status());
    return snapshots_.Commit(name, name + "-extract", {});
  }

  ipc::Client content_client_, snapshot_client_, metadata_client_;
  content::Proxy blobs_;
  snapshot::SnapshotterProxy snapshots_;
  v1::ImagesClient images_;
  v1::GCClient gc_;
};

void Stop(ChildProcess& child) {
  (void)child.Kill(SIGTERM);
  (void)child.Wait();
}

int Measure(const Options& o, RealStores& stores) {
  Timer setup;
  if (ParallelFor(o.gc_images, 8, [&](int i) { return stores.AddImage(i); }) > 0) return 1;
  fmt::print("gc setup    {} images, {} blobs, {} snapshots in {:.0f} s\n", o.gc_images,
             o.gc_images * 5, o.gc_images * 2, setup.Seconds());
  Timer keep_timer;
  auto kept = stores.Collect();
  double keep_ms = keep_timer.Seconds() * 1000;
  if (!kept.ok()) return fmt::print(stderr, "gc: {}\n", kept.status().ToString()), 1;
  if (ParallelFor(o.gc_images, 8, [&](int i) { return stores.DeleteImage(i); }) > 0) return 1;
  Timer sweep_timer;
  auto swept = stores.Collect();
  double sweep_ms = sweep_timer.Seconds() * 1000;
  if (!swept.ok()) return fmt::print(stderr, "gc: {}\n", swept.status().ToString()), 1;
  fmt::print(
      "gc          {} images ({} blobs, {} snapshots): keep-all {:.0f} ms (marked {}), "
      "delete-all {:.0f} ms (removed {} blobs, {} snapshots, complete={})\n",
      o.gc_images, o.gc_images * 5, o.gc_images * 2, keep_ms, kept->marked(), sweep_ms,
      swept->removed_content_size(), swept->removed_snapshots_size(), swept->complete());
  PrintResult("gc.keep_all_ms", keep_ms);
  PrintResult("gc.delete_all_ms", sweep_ms);
  return 0;
}

}  // namespace

int RunGcRealPhase(const Options& o) {
  auto dir = TempDir::Create("b-bench");
  if (!dir.ok()) return 1;
  // No collection unless asked: the debounce after deletes is an hour.
  std::vector<std::pair<std::string, std::vector<std::string>>> services = {
      {"content", {}},
      {"snapshot", {}},
      {"metadata", {"--gc-delay-ms", "3600000", "--snapshotters", kSnapshotter}}};
  std::vector<ChildProcess> children;
  for (const auto& [name, args] : services) {
    auto child = StartService(o, name, *dir, args);
    if (!child.ok()) {
      fmt::print(stderr, "{}\n", child.status().ToString());
      for (auto& c : children) Stop(c);
      return 1;
    }
    children.push_back(std::move(*child));
  }
  int code;
  {
    RealStores stores(*dir);
    // A collection now (stores empty) replaces the one berth-metadata schedules at startup, which
    // would otherwise run in the middle of the setup.
    code = stores.Collect().ok() ? Measure(o, stores) : 1;
  }
  for (auto it = children.rbegin(); it != children.rend(); ++it) Stop(*it);
  return code;
}

}  // namespace berth::bench
