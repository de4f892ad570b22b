#pragma once
// GcStores: what garbage collection needs from the content and snapshot services, and nothing
// more. Implementations: FakeGcStores (gc_stores_fake.h, in memory, for tests and benchmarks)
// and IpcGcStores (gc_stores_ipc.h, over the services' sockets).
//
// Every method blocks and is called from the GC thread only (one call at a time).
// Errors: UNAVAILABLE when the service cannot be reached (the GC then deletes nothing and
// retries later); NOT_FOUND from a delete when the object is already gone;
// FAILED_PRECONDITION from RemoveSnapshot when the snapshot still has children or is in use.

#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::metadata {

using Labels = std::map<std::string, std::string>;

struct ContentInfo {
  std::string ns;      // the namespace the blob was listed in; "" for a global store
  std::string digest;  // "sha256:..."
  Labels labels;
};

struct SnapshotInfo {
  std::string ns;  // "" for a global store
  std::string snapshotter;
  std::string key;
  std::string parent;  // key of the parent in the same snapshotter, "" for none
  Labels labels;
};

class GcStores {
 public:
  virtual ~GcStores() = default;

  // Whether objects are kept per namespace. When true, a reference from namespace N reaches
  // only objects listed with ns == N; when false, `ns` is ignored and references from every
  // namespace reach the one global object.
  virtual bool content_namespaced() const { return false; }
  virtual bool snapshots_namespaced() const { return false; }

  // Every committed blob with its labels (ingests in flight are not listed: they are the
  // content service's to manage).
  virtual Result<std::vector<ContentInfo>> ListContent() = 0;
  virtual Status DeleteContent(const ContentInfo& blob) = 0;
  // Every snapshot of every snapshotter, with its parent and labels.
  virtual Result<std::vector<SnapshotInfo>> ListSnapshots() = 0;
  // The GC removes children before their parents.
  virtual Status RemoveSnapshot(const SnapshotInfo& snapshot) = 0;
};

}  // namespace berth::metadata
