#pragma once
// The snapshotter interface: how Berth keeps the filesystems of image layers and containers.
// Modelled on containerd's core/snapshots/snapshotter.go; the same semantics, in C++.
//
// Glossary
//   key        the name of an active snapshot or a view, chosen by the caller (any non-empty
//              string up to kMaxKeySize bytes; never used as a path).
//   name       the name of a committed snapshot (same namespace as keys: a key and a name never
//              coincide). Image layers are committed under their chain id.
//   kind       active   a writable snapshot, made by Prepare(key, parent);
//              view     a read-only snapshot, made by View(key, parent);
//              committed an immutable snapshot, made by Commit(name, key) from an active one.
//   parent     the committed snapshot a snapshot sits on (empty for a base layer). Parents form
//              chains; the chain of a snapshot is its parent, its parent's parent, and so on.
//   mounts     how to assemble the snapshot's filesystem (see mount.h). Calling Mounts() on the
//              same snapshot twice gives the same mounts.
//
// Lifecycle
//   Prepare(key, parent) -> mount, write (e.g. Differ::Apply) -> Commit(name, key) -> the active
//   snapshot `key` is gone and committed `name` exists (an active snapshot never becomes
//   committed in place: Commit gives it a new name; its files do not move). Commit makes the
//   files durable first (syncfs), so a crash never leaves a committed snapshot with empty files.
//   View(key, parent) gives a read-only snapshot of a committed one; Remove(key) drops a view or
//   an active snapshot after use. A committed snapshot can be removed once it has no children.
//
// Errors (berth::Status codes), common to all methods:
//   INVALID_ARGUMENT    empty or oversized key, bad label, bad filter or field path, a parent
//                       that is not committed;
//   NOT_FOUND           no such key/name (or parent);
//   ALREADY_EXISTS      the key (or Commit's name) is taken;
//   FAILED_PRECONDITION Commit of a view or committed snapshot, Mounts of a committed one,
//                       Remove of a snapshot with children, or a snapshotter that could not
//                       initialise (the message says why);
//   UNAVAILABLE         (proxy) the snapshot service is unreachable;
//   INTERNAL / RESOURCE_EXHAUSTED  I/O failures, naming the path.
//
// Thread-safety: a Snapshotter is safe to use from many threads. Every method blocks (disk or
// IPC): never call one on an event loop thread.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "services/snapshot/mount.h"

namespace berth::snapshot {

using Labels = std::map<std::string, std::string>;

inline constexpr size_t kMaxKeySize = 4096;
// A label's key and value together.
inline constexpr size_t kMaxLabelSize = 4096;
// The snapshotter names of the two built-in plugins.
inline constexpr std::string_view kOverlayfs = "overlayfs";
inline constexpr std::string_view kNative = "native";

enum class Kind { kUnknown = 0, kView = 1, kActive = 2, kCommitted = 3 };

// "view", "active", "committed" ("unknown").
std::string_view KindName(Kind kind);
// Inverse of KindName; INVALID_ARGUMENT for anything else.
Result<Kind> ParseKind(std::string_view name);

struct Info {
  std::string name{};    // key (active, view) or name (committed)
  std::string parent{};  // committed parent, or empty
  Kind kind = Kind::kUnknown;
  int64_t created_at = 0;  // unix nanoseconds
  int64_t updated_at = 0;
  Labels labels{};
};

struct Usage {
  int64_t size = 0;    // bytes of disk (st_blocks * 512) of the snapshot's own files
  int64_t inodes = 0;  // hardlinked inodes counted once
};

// Called for each snapshot by Walk; a non-OK status stops the walk and is returned by it.
using WalkFn = std::function<Status(const Info&)>;

class Snapshotter {
 public:
  virtual ~Snapshotter() = default;

  // Info of a snapshot of any kind.
  virtual Result<Info> Stat(const std::string& key) = 0;

  // Changes labels (the only mutable field) of info.name. `fieldpaths`: "labels" replaces all
  // labels with info.labels; "labels.<key>" sets that key from info.labels or removes it when
  // info.labels has no (or an empty) value for it; empty means "labels". Other paths are
  // INVALID_ARGUMENT. Returns the updated Info.
  virtual Result<Info> Update(const Info& info, const std::vector<std::string>& fieldpaths) = 0;

  // Disk used by the snapshot's own files (not its parents'). Computed now for active snapshots
  // and views, recorded at commit time for committed ones.
  virtual Result<Usage> GetUsage(const std::string& key) = 0;

  // Mounts of an active snapshot or a view. FAILED_PRECONDITION for a committed one.
  virtual Result<std::vector<Mount>> Mounts(const std::string& key) = 0;

  // Creates active snapshot `key` on committed `parent` ("" for none) and returns its mounts.
  virtual Result<std::vector<Mount>> Prepare(const std::string& key, const std::string& parent,
                                             const Labels& labels = {}) = 0;

  // Creates view `key` of committed `parent` ("" for an empty one) and returns its mounts (always
  // read-only).
  virtual Result<std::vector<Mount>> View(const std::string& key, const std::string& parent,
                                          const Labels& labels = {}) = 0;

  // Syncs the files of active snapshot `key`, then records them as committed snapshot `name`
  // (with `labels`) and removes `key`. Errors: NOT_FOUND (key), ALREADY_EXISTS (name),
  // FAILED_PRECONDITION (key is not active).
  virtual Status Commit(const std::string& name, const std::string& key,
                        const Labels& labels = {}) = 0;

  // Removes a snapshot of any kind and its files. FAILED_PRECONDITION while it has children.
  virtual Status Remove(const std::string& key) = 0;

  // Calls `fn` for each snapshot matching any of `filters` (all when empty), in key order.
  // Filters use containerd's syntax over name, parent, kind and labels (see filters.h).
  virtual Status Walk(const WalkFn& fn, const std::vector<std::string>& filters = {}) = 0;

  // Removes directories that no snapshot refers to (left behind by a crash between steps) and
  // returns how many were removed.
  virtual Result<int64_t> Cleanup() = 0;
};

// Validation shared by the backends and the server.
Status ValidateKey(std::string_view key);
Status ValidateLabels(const Labels& labels);
// Applies an Update's field paths to `labels` (see Snapshotter::Update).
Status ApplyLabelUpdate(Labels& labels, const Labels& update,
                        const std::vector<std::string>& fieldpaths);

}  // namespace berth::snapshot
