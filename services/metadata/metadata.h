#pragma once
// MetadataStore: berth-metadata's contract. It owns every name and every reference in Berth:
// namespaces, images, containers, leases (with their resources), and the roots of garbage
// collection. Content and snapshot services are plain stores; the GC (gc.h) asks them to delete
// what no record here reaches.
//
// Glossary
//   namespace  a name space for every other object; objects of different namespaces never
//              see each other. A namespace record is created implicitly by the first object
//              created in it, explicitly by CreateNamespace, and deleted only when empty.
//   image      name -> target descriptor (media type, digest, size, annotations) + labels.
//   container  id -> image, runtime (name, options), OCI spec (stored as given), snapshotter +
//              snapshot key, labels, extensions.
//   lease      id + labels; holds resources ("content" digests, "snapshots/<snapshotter>" keys,
//              "ingests" refs) so GC keeps them (ingests: berth-content's expiry, which asks
//              LeasedIngests); expires with label containerd.io/gc.expire.
//
// Threading: reads (Get*, List*) run on the calling thread in a read transaction (any thread,
// concurrently). Writes (Create*, Update*, Delete*, Add/DeleteLeaseResource) validate on the
// calling thread, then queue to the database writer (database.h: batched, durable); their
// `done` runs on the writer thread once the change is committed (or refused), after the event
// was queued for publishing. `done` must not block on another write.
//
// Errors (codes as in containerd): INVALID_ARGUMENT (bad name/id/labels/digest/filter/field
// path), NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION (namespace not empty, image target
// mismatch), DATA_LOSS (a record that does not parse), I/O errors from LMDB.
//
// Times: created_at is set on create, updated_at on create and every update; values sent in
// requests for them are ignored.

#include <google/protobuf/message.h>

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "berth/metadata/v1/containers.pb.h"
#include "berth/metadata/v1/images.pb.h"
#include "berth/metadata/v1/leases.pb.h"
#include "berth/metadata/v1/namespaces.pb.h"
#include "services/metadata/database.h"
#include "services/metadata/filters.h"
#include "services/metadata/gc_refs.h"

namespace berth::metadata {

namespace v1 = ::berth::metadata::v1;

// Publishes an event (berthd's exchange); thread-safe, never blocks.
using EventSink = std::function<void(const std::string& ns, const std::string& topic,
                                     const google::protobuf::Message& event)>;

struct GcHooks {
  // After a commit that added references (image target, container snapshot, lease resource,
  // gc.ref labels): the GC guard records them (gc.h). Writer thread.
  std::function<void(const std::vector<GcRef>&)> on_reference;
  // After a commit that dropped references (a delete, a label or target change): GC should
  // run soon. Writer thread.
  std::function<void()> on_release;
};

class MetadataStore {
 public:
  template <typename T>
  using Done = std::function<void(Result<T>)>;
  using StatusDone = std::function<void(Status)>;
  template <typename T>
  using Visit = std::function<void(T&&)>;

  // Opens (creating) the database in `dir` (<root>/metadata).
  static Result<std::unique_ptr<MetadataStore>> Open(const std::string& dir, EventSink events,
                                                     Database::Options options = {});
  ~MetadataStore();

  // Finishes queued writes and stops the writer (before destroying what the GC hooks use).
  void Close() { db_->Shutdown(); }
  // Call before the first write.
  void SetGcHooks(GcHooks hooks) { hooks_ = std::move(hooks); }
  Database& database() { return *db_; }

  // ---- namespaces ----
  Result<v1::Namespace> GetNamespace(const std::string& name);
  Status ListNamespaces(const Filter& filter, const Visit<v1::Namespace>& visit);
  void CreateNamespace(v1::Namespace ns, Done<v1::Namespace> done);
  // paths: "labels" or "labels.<key>"; empty = replace labels.
  void UpdateNamespace(v1::Namespace ns, std::vector<std::string> paths, Done<v1::Namespace> done);
  // FAILED_PRECONDITION while it holds images, containers or leases.
  void DeleteNamespace(std::string name, StatusDone done);

  // ---- images (namespace `ns`) ----
  Result<v1::Image> GetImage(const std::string& ns, const std::string& name);
  Status ListImages(const std::string& ns, const Filter& filter, const Visit<v1::Image>& visit);
  void CreateImage(std::string ns, v1::Image image, Done<v1::Image> done);
  // paths: labels, labels.<key>, target, annotations, annotations.<key>; empty = labels+target.
  void UpdateImage(std::string ns, v1::Image image, std::vector<std::string> paths,
                   Done<v1::Image> done);
  // `expected_digest` non-empty: FAILED_PRECONDITION unless the target digest is that.
  void DeleteImage(std::string ns, std::string name, std::string expected_digest, StatusDone done);

  // ---- containers ----
  Result<v1::Container> GetContainer(const std::string& ns, const std::string& id);
  Status ListContainers(const std::string& ns, const Filter& filter,
                        const Visit<v1::Container>& visit);
  void CreateContainer(std::string ns, v1::Container container, Done<v1::Container> done);
  // paths: labels, labels.<key>, spec, extensions, extensions.<key>, image, snapshotkey;
  // empty = all of them, and then snapshotter and runtime.name must be unchanged.
  void UpdateContainer(std::string ns, v1::Container container, std::vector<std::string> paths,
                       Done<v1::Container> done);
  void DeleteContainer(std::string ns, std::string id, StatusDone done);

  // ---- leases ----
  Status ListLeases(const std::string& ns, const Filter& filter, const Visit<v1::Lease>& visit);
  Result<v1::Lease> GetLease(const std::string& ns, const std::string& id);
  // INVALID_ARGUMENT when containerd.io/gc.expire is not RFC 3339.
  void CreateLease(std::string ns, v1::Lease lease, Done<v1::Lease> done);
  void DeleteLease(std::string ns, std::string id, StatusDone done);
  // NOT_FOUND when the lease does not exist; INVALID_ARGUMENT for an unknown resource type or a
  // bad digest. Adding a resource twice is OK; deleting one the lease lacks is OK.
  void AddLeaseResource(std::string ns, std::string id, v1::Resource resource, StatusDone done);
  void DeleteLeaseResource(std::string ns, std::string id, v1::Resource resource, StatusDone done);
  Result<std::vector<v1::Resource>> ListLeaseResources(const std::string& ns,
                                                       const std::string& id);

  // ---- garbage collection ----
  // Every root of a collection at time `now_ns`, across all namespaces, from one snapshot.
  Result<GcRoots> ScanGcRoots(int64_t now_ns);
  // The ids of every "ingests" resource of a lease unexpired at `now_ns`, in every namespace
  // (berth-content keeps these ingests however long they stay idle).
  Result<std::set<std::string>> LeasedIngests(int64_t now_ns);
  // Deletes the leases (and their resources) that are still expired at `now_ns`. Blocks; not
  // from the writer thread. Returns the "<ns>/<id>" of those deleted.
  Result<std::vector<std::string>> DeleteExpiredLeases(
      const std::vector<std::pair<std::string, std::string>>& leases, int64_t now_ns);

 private:
  MetadataStore(std::unique_ptr<Database> db, EventSink events)
      : db_(std::move(db)), events_(std::move(events)) {}

  void Publish(const std::string& ns, const std::string& topic,
               const google::protobuf::Message& event) const;
  void Referenced(std::vector<GcRef> refs) const;
  void Released() const;

  std::unique_ptr<Database> db_;
  EventSink events_;
  GcHooks hooks_;
};

// Shared by the store's files: validation of the namespace named by a request.
Status ValidateNamespace(const std::string& ns);

}  // namespace berth::metadata
