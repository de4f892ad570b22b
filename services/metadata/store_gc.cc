// MetadataStore: what garbage collection reads and deletes.
#include <spdlog/spdlog.h>

#include <functional>
#include <set>
#include <unordered_map>

#include "services/metadata/metadata.h"
#include "services/metadata/store_internal.h"

namespace berth::metadata {

using namespace internal;

namespace {

std::string NamespaceOf(std::string_view key) { return std::string(key.substr(0, key.find('\0'))); }

// Whether a lease has expired at `now_ns`; its expiry in *expiry when it has one. An
// unparsable expiry (written before validation existed) is ignored, as containerd does.
bool Expired(const v1::Lease& lease, int64_t now_ns, std::optional<int64_t>* expiry) {
  auto it = lease.labels().find(std::string(kLabelGcExpire));
  if (it == lease.labels().end()) return false;
  auto at = ParseExpiry(it->second);
  if (!at.ok()) return false;
  *expiry = *at;
  return *at <= now_ns;
}

struct LeaseState {
  bool live = false;
  bool flat = false;
};

Status ScanImages(const Txn& txn, const Dbs& dbs, GcRoots* roots) {
  Status error;
  BERTH_RETURN_IF_ERROR(
      txn.ScanPrefix(dbs.images, "", [&](std::string_view key, std::string_view value) {
        v1::Image image;
        if (!(error = Decode(value, &image, "an image")).ok()) return false;
        std::string ns = NamespaceOf(key);
        roots->refs.push_back(GcRef::Content(ns, image.target().digest()));
        AppendLabelRefs(ns, image.labels(), &roots->refs);
        return true;
      }));
  return error;
}

Status ScanContainers(const Txn& txn, const Dbs& dbs, GcRoots* roots) {
  Status error;
  BERTH_RETURN_IF_ERROR(
      txn.ScanPrefix(dbs.containers, "", [&](std::string_view key, std::string_view value) {
        v1::Container c;
        if (!(error = Decode(value, &c, "a container")).ok()) return false;
        std::string ns = NamespaceOf(key);
        if (!c.snapshotter().empty() && !c.snapshot_key().empty()) {
          roots->refs.push_back(GcRef::Snapshot(ns, c.snapshotter(), c.snapshot_key()));
        }
        AppendLabelRefs(ns, c.labels(), &roots->refs);
        return true;
      }));
  return error;
}

// Calls visit(ns, resource, flat) for every resource of every lease unexpired at `now_ns`.
// Expired leases and the earliest expiry go to *roots when it is given.
using LiveResourceVisit =
    std::function<void(const std::string& ns, const v1::Resource& resource, bool flat)>;
Status ScanLiveLeaseResources(const Txn& txn, const Dbs& dbs, int64_t now_ns, GcRoots* roots,
                              const LiveResourceVisit& visit) {
  std::unordered_map<std::string, LeaseState> leases;  // key: ObjectKey(ns, id) + '\0'
  Status error;
  BERTH_RETURN_IF_ERROR(
      txn.ScanPrefix(dbs.leases, "", [&](std::string_view key, std::string_view value) {
        v1::Lease lease;
        if (!(error = Decode(value, &lease, "a lease")).ok()) return false;
        std::optional<int64_t> expiry;
        LeaseState state;
        if (Expired(lease, now_ns, &expiry)) {
          if (roots) roots->expired_leases.emplace_back(NamespaceOf(key), lease.id());
        } else {
          state.live = true;
          state.flat = lease.labels().contains(std::string(kLabelGcFlat));
          if (roots && expiry && (!roots->next_expiry_ns || *expiry < *roots->next_expiry_ns)) {
            roots->next_expiry_ns = expiry;
          }
        }
        leases[std::string(key) + '\0'] = state;
        return true;
      }));
  BERTH_RETURN_IF_ERROR(error);
  BERTH_RETURN_IF_ERROR(
      txn.ScanPrefix(dbs.lease_resources, "", [&](std::string_view key, std::string_view value) {
        size_t first = key.find('\0');
        size_t second = first == std::string_view::npos ? first : key.find('\0', first + 1);
        if (second == std::string_view::npos) return true;
        auto lease = leases.find(std::string(key.substr(0, second + 1)));
        if (lease == leases.end() || !lease->second.live) return true;
        v1::Resource resource;
        if (!(error = Decode(value, &resource, "a lease resource")).ok()) return false;
        visit(std::string(key.substr(0, first)), resource, lease->second.flat);
        return true;
      }));
  return error;
}

Status ScanLeases(const Txn& txn, const Dbs& dbs, int64_t now_ns, GcRoots* roots) {
  return ScanLiveLeaseResources(
      txn, dbs, now_ns, roots,
      [roots](const std::string& ns, const v1::Resource& resource, bool flat) {
        if (resource.type() == kResourceContent) {
          roots->refs.push_back(GcRef::Content(ns, resource.id(), flat));
        } else if (resource.type().starts_with(kResourceSnapshotsPrefix)) {
          roots->refs.push_back(GcRef::Snapshot(
              ns, resource.type().substr(kResourceSnapshotsPrefix.size()), resource.id(), flat));
        }
      });
}

}  // namespace

Result<GcRoots> MetadataStore::ScanGcRoots(int64_t now_ns) {
  BERTH_ASSIGN_OR_RETURN(Txn txn, db_->Read());
  GcRoots roots;
  BERTH_RETURN_IF_ERROR(ScanImages(txn, db_->dbs(), &roots));
  BERTH_RETURN_IF_ERROR(ScanContainers(txn, db_->dbs(), &roots));
  BERTH_RETURN_IF_ERROR(ScanLeases(txn, db_->dbs(), now_ns, &roots));
  return roots;
}

Result<std::set<std::string>> MetadataStore::LeasedIngests(int64_t now_ns) {
  BERTH_ASSIGN_OR_RETURN(Txn txn, db_->Read());
  std::set<std::string> refs;
  BERTH_RETURN_IF_ERROR(ScanLiveLeaseResources(
      txn, db_->dbs(), now_ns, nullptr, [&refs](const std::string&, const v1::Resource& r, bool) {
        if (r.type() == kResourceIngests) refs.insert(r.id());
      }));
  return refs;
}

Result<std::vector<std::string>> MetadataStore::DeleteExpiredLeases(
    const std::vector<std::pair<std::string, std::string>>& leases, int64_t now_ns) {
  auto deleted = std::make_shared<std::vector<std::string>>();
  const Dbs& dbs = db_->dbs();
  Status status = db_->WriteSync([&leases, deleted, now_ns, &dbs](Txn& txn) -> Status {
    deleted->clear();
    for (const auto& [ns, id] : leases) {
      std::string key = ObjectKey(ns, id);
      v1::Lease lease;
      if (!Load(txn, dbs.leases, key, &lease, "lease " + id).ok()) continue;
      std::optional<int64_t> expiry;
      if (!Expired(lease, now_ns, &expiry)) continue;
      std::vector<std::string> keys;
      BERTH_RETURN_IF_ERROR(txn.ScanPrefix(dbs.lease_resources, LeaseResourcePrefix(ns, id),
                                           [&](std::string_view k, std::string_view) {
                                             keys.emplace_back(k);
                                             return true;
                                           }));
      for (const auto& k : keys) (void)txn.Del(dbs.lease_resources, k);
      (void)txn.Del(dbs.leases, key);
      deleted->push_back(ns + "/" + id);
    }
    return Status::Ok();
  });
  BERTH_RETURN_IF_ERROR(status);
  return *deleted;
}

}  // namespace berth::metadata
