#pragma once
// Garbage collection: mark from the metadata roots, then ask the content and snapshot services
// (GcStores) to delete what is unreachable.
//
// Graph (containerd's model): roots are images (-> target blob), containers (-> their snapshot),
// unexpired leases (-> their content and snapshot resources), and blobs or snapshots labelled
// containerd.io/gc.root. Edges: containerd.io/gc.ref.content[.x] and
// containerd.io/gc.ref.snapshot.<snapshotter>[/x] labels on any of these objects, and a
// snapshot's parent. A gc.flat lease keeps its resources (and snapshot parents) but not what
// their labels reference.
//
// One collection (Collect):
//   1. the guard starts recording new references (see GcGuard);
//   2. list every blob and every snapshot; if either store cannot be listed, stop: UNAVAILABLE,
//      nothing deleted (never delete on partial knowledge);
//   3. read the roots from one metadata snapshot and mark;
//   4. candidates = listed and unmarked; drop the run if a reference recorded since step 1
//      names a candidate (it will be re-run);
//   5. delete expired leases, then snapshots (children first), then blobs. Before each delete
//      the guard is asked again (a write that referenced a candidate since step 4 stops the
//      sweep; one that references the object being deleted is answered after that delete);
//      a store error other than NOT_FOUND / FAILED_PRECONDITION stops the sweep (report
//      incomplete, the scheduler retries with backoff).
// Objects created after the listing are never candidates. A client must hold a lease on what it
// writes until a record references it (add a blob's digest to the lease BEFORE committing it);
// that is what makes a pull safe against a concurrent collection.
//
// GcScheduler runs collections on its own thread: debounced after releases (deletes), on
// demand (Collect RPC, sync deletes), at startup, at the next lease expiry, and with backoff
// after a failure.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "berth/metadata/v1/gc.pb.h"
#include "services/metadata/gc_refs.h"
#include "services/metadata/gc_stores.h"

namespace berth::metadata {

class MetadataStore;

struct GcReport {
  std::vector<std::string> removed_content;
  std::vector<SnapshotInfo> removed_snapshots;
  std::vector<std::string> expired_leases;
  uint64_t marked = 0;
  int64_t duration_ns = 0;
  bool dry_run = false;
  bool complete = true;
  std::string error;
  std::optional<int64_t> next_expiry_ns;

  void ToProto(::berth::metadata::v1::CollectResponse* out) const;
};

// Keeps a collection from deleting what a write referenced while it ran. Thread-safe.
//
// A write that references a candidate aborts the sweep (no further Claim succeeds). When it
// references the very object whose delete is in flight, Touch also waits for that delete to
// finish: the write is answered only after it, so a client that then looks for the object (a
// pull that added a blob to its lease, then checks whether the blob exists) sees it gone and
// writes it again, instead of trusting a blob that is about to vanish.
class GcGuard {
 public:
  // GC thread: start recording references (before listing the stores).
  void Begin(bool content_namespaced, bool snapshots_namespaced);
  // GC thread: the candidates; false (and aborted) if a recorded reference names one.
  bool Arm(std::set<std::string> content_keys, std::set<std::string> snapshot_keys);
  // GC thread: may candidate `key` (ContentKey / SnapshotKey) be deleted now? False once
  // aborted. On true the delete is in flight until Finished().
  bool Claim(const std::string& key);
  void Finished();
  void End();
  // Writer thread, after a commit and before the reply: references a write added. Blocks while
  // the delete of one of them is in flight (one store call at most).
  void Touch(const std::vector<GcRef>& refs);

  std::string ContentKey(const std::string& ns, const std::string& digest) const;
  std::string SnapshotKey(const std::string& ns, const std::string& snapshotter,
                          const std::string& key) const;

 private:
  bool Hit(const GcRef& ref) const;

  mutable std::mutex mutex_;
  std::condition_variable finished_;
  bool active_ = false;
  bool armed_ = false;
  bool aborted_ = false;
  std::optional<std::string> in_flight_;  // key of the candidate being deleted
  bool content_ns_ = false;
  bool snapshots_ns_ = false;
  std::vector<GcRef> recorded_;
  std::set<std::string> content_;
  std::set<std::string> snapshots_;
};

// One collection (see above). Blocks. Errors: UNAVAILABLE when a store cannot be listed, the
// metadata read errors.
Result<GcReport> Collect(MetadataStore& store, GcStores& stores, GcGuard& guard, bool dry_run);

class GcScheduler {
 public:
  struct Options {
    std::chrono::milliseconds delay{100};           // debounce after a release
    std::chrono::milliseconds startup_delay{1000};  // first collection; < 0: none
    std::chrono::milliseconds retry_min{500};
    std::chrono::milliseconds retry_max{30000};
  };
  GcScheduler(MetadataStore& store, std::unique_ptr<GcStores> stores, Options options);
  GcScheduler(MetadataStore& store, std::unique_ptr<GcStores> stores)
      : GcScheduler(store, std::move(stores), Options()) {}
  ~GcScheduler();  // waits for a running collection, fails waiting callers with CANCELLED

  // Wires the store's GC hooks to this scheduler (release -> Trigger, reference -> guard).
  void Attach();
  // Something was released: collect after `delay` (coalescing triggers).
  void Trigger();
  // Runs a collection that starts after this call; `done` on the GC thread with its report.
  void Collect(bool dry_run, std::function<void(Result<GcReport>)> done);
  Result<GcReport> CollectSync(bool dry_run);

  GcGuard& guard() { return guard_; }
  GcStores& stores() { return *stores_; }
  uint64_t runs() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Waiter {
    bool dry_run;
    std::function<void(Result<GcReport>)> done;
  };
  void Loop();
  void ScheduleAt(Clock::time_point when);  // with mutex_ held

  MetadataStore& store_;
  std::unique_ptr<GcStores> stores_;
  Options options_;
  GcGuard guard_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Waiter> waiters_;
  std::optional<Clock::time_point> next_run_;
  std::chrono::milliseconds backoff_{0};
  uint64_t runs_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace berth::metadata
