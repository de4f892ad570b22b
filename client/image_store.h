#pragma once
// What the image flows (pull, import) need from berth-metadata: image records and leases.
//
// Leases protect what a flow writes until the image record that references it exists: the flow
// creates a lease, adds each blob ("content", digest), in-flight write ("ingests", ref) and
// snapshot ("snapshots/<snapshotter>", key) to it, writes the image, then deletes the lease.
// A lease also expires (label containerd.io/gc.expire), so a killed flow does not pin its
// content forever.
//
// Errors: as berth-metadata answers them (NOT_FOUND, ALREADY_EXISTS, INVALID_ARGUMENT,
// UNAVAILABLE when the service is unreachable).
// Thread-safety: implementations are safe to use from many threads.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/oci.h"
#include "common/status.h"
#include "ipc/client.h"

namespace berth::client {

// GC reference labels (containerd's names).
inline constexpr char kGcRefContent[] = "containerd.io/gc.ref.content";
inline constexpr char kGcRefSnapshot[] = "containerd.io/gc.ref.snapshot";
inline constexpr char kGcExpire[] = "containerd.io/gc.expire";
inline constexpr char kUncompressedLabel[] = "containerd.io/uncompressed";
inline constexpr char kDistributionSource[] = "containerd.io/distribution.source";

struct ImageRecord {
  std::string name{};
  Descriptor target{};
  std::map<std::string, std::string> labels{};
  int64_t created_at = 0;  // unix nanoseconds
  int64_t updated_at = 0;
};

class ImageStore {
 public:
  virtual ~ImageStore() = default;

  // nullopt when there is no such image.
  virtual Result<std::optional<ImageRecord>> Get(const std::string& name) = 0;
  // Images matching any of `filters` (containerd syntax), all when empty.
  virtual Result<std::vector<ImageRecord>> List(const std::vector<std::string>& filters = {}) = 0;
  // Creates the image, or replaces the target and labels of an existing one.
  virtual Status Put(const ImageRecord& image) = 0;
  // NOT_FOUND when absent.
  virtual Status Delete(const std::string& name) = 0;

  // A new lease that expires after `expire` (0: never) with id `id` (empty: a unique one);
  // returns its id.
  virtual Result<std::string> CreateLease(std::chrono::seconds expire, std::string id = "") = 0;
  // type: "content" (id = digest), "ingests" (id = ref), "snapshots/<snapshotter>" (id = key).
  virtual Status AddLeaseResource(const std::string& lease, const std::string& type,
                                  const std::string& id) = 0;
  virtual Status DeleteLease(const std::string& lease) = 0;
};

// Over IPC to berth-metadata, in namespace `ns`. `client` must outlive the store.
std::unique_ptr<ImageStore> NewMetadataImageStore(ipc::Client& client, std::string ns,
                                                  std::chrono::milliseconds timeout);
// In memory (tests); leases are recorded (LeaseResources) but protect nothing.
class MemoryImageStore;
std::unique_ptr<MemoryImageStore> NewMemoryImageStore();

class MemoryImageStore : public ImageStore {
 public:
  // The resources of a lease (type, id); empty for an unknown or deleted lease.
  virtual std::vector<std::pair<std::string, std::string>> LeaseResources(
      const std::string& lease) = 0;
  // Leases that exist now.
  virtual std::vector<std::string> Leases() = 0;
};

}  // namespace berth::client
