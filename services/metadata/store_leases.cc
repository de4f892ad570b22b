// MetadataStore: leases and their resources.
#include "services/metadata/metadata.h"
#include "services/metadata/store_internal.h"
#include "services/metadata/validate.h"

namespace berth::metadata {

using namespace internal;

namespace {

Status ValidateLease(const v1::Lease& lease) {
  BERTH_RETURN_IF_ERROR(ValidateIdentifier("lease id", lease.id()));
  BERTH_RETURN_IF_ERROR(ValidateLabels("lease labels", lease.labels()));
  auto expire = lease.labels().find(std::string(kLabelGcExpire));
  if (expire != lease.labels().end()) {
    auto parsed = ParseExpiry(expire->second);
    if (!parsed.ok()) return parsed.status().Annotate(std::string(kLabelGcExpire));
  }
  return Status::Ok();
}

Status ValidateResource(const v1::Resource& resource) {
  const std::string& type = resource.type();
  if (resource.id().empty()) return Status(Code::kInvalidArgument, "resource id must be set");
  if (resource.id().find('\0') != std::string::npos) {
    return Status(Code::kInvalidArgument, "resource id contains NUL");
  }
  if (type == kResourceContent) return ValidateDigest("content resource", resource.id());
  if (type == kResourceIngests) return Status::Ok();
  if (type.starts_with(kResourceSnapshotsPrefix)) {
    return ValidateIdentifier("snapshotter", type.substr(kResourceSnapshotsPrefix.size()));
  }
  return Error(Code::kInvalidArgument,
               "unsupported lease resource type \"{}\": use content, snapshots/<snapshotter> or "
               "ingests",
               type);
}

// Deletes every resource record of a lease.
Status DeleteResources(Txn& txn, const Dbs& dbs, const std::string& ns, const std::string& id) {
  std::vector<std::string> keys;
  BERTH_RETURN_IF_ERROR(txn.ScanPrefix(dbs.lease_resources, LeaseResourcePrefix(ns, id),
                                       [&](std::string_view key, std::string_view) {
                                         keys.emplace_back(key);
                                         return true;
                                       }));
  for (const auto& key : keys) (void)txn.Del(dbs.lease_resources, key);
  return Status::Ok();
}

}  // namespace

Status MetadataStore::ListLeases(const std::string& ns, const Filter& filter,
                                 const Visit<v1::Lease>& visit) {
  BERTH_RETURN_IF_ERROR(ValidateNamespace(ns));
  BERTH_ASSIGN_OR_RETURN(Txn txn, db_->Read());
  Status decode_error;
  BERTH_RETURN_IF_ERROR(txn.ScanPrefix(
      db_->dbs().leases, NamespacePrefix(ns), [&](std::string_view, std::string_view value) {
        v1::Lease lease;
        decode_error = Decode(value, &lease, "a lease");
        if (!decode_error.ok()) return false;
        bool match = filter.Match([&](const FieldPath& path) -> std::optional<std::string_view> {
          if (path.size() == 1 && path[0] == "id") return lease.id();
          if (path[0] == "labels") return MapField(lease.labels(), path, 1);
          return std::nullopt;
        });
        if (match) visit(std::move(lease));
        return true;
      }));
  return decode_error;
}

Result<v1::Lease> MetadataStore::GetLease(const std::string& ns, const std::string& id) {
  BERTH_RETURN_IF_ERROR(ValidateNamespace(ns));
  BERTH_RETURN_IF_ERROR(ValidateIdentifier("lease id", id));
  BERTH_ASSIGN_OR_RETURN(Txn txn, db_->Read());
  v1::Lease lease;
  Status status = Load(txn, db_->dbs().leases, ObjectKey(ns, id), &lease, "lease " + id);
  if (status.code() == Code::kNotFound) return internal::ObjectNotFound("lease", ns, id);
  BERTH_RETURN_IF_ERROR(status);
  return lease;
}

void MetadataStore::CreateLease(std::string ns, v1::Lease lease, Done<v1::Lease> done) {
  Status valid = ValidateNamespace(ns);
  if (valid.ok()) valid = ValidateLease(lease);
  if (!valid.ok()) return done(valid);
  SetTime(lease.mutable_created_at(), NowUnixNanos());
  auto record = std::make_shared<v1::Lease>(std::move(lease));
  auto key = ObjectKey(ns, record->id());
  const Dbs& dbs = db_->dbs();
  auto op = [record, key, ns, &dbs](Txn& txn) -> Status {
    if (txn.Has(dbs.leases, key)) {
      return Error(Code::kAlreadyExists, "lease \"{}\" already exists in namespace \"{}\"",
                   record->id(), ns);
    }
    BERTH_RETURN_IF_ERROR(EnsureNamespace(txn, dbs, ns));
    return txn.Put(dbs.leases, key, Encode(*record));
  };
  WriteAndReturn<v1::Lease>(*db_, op, record, std::move(done));
}

void MetadataStore::DeleteLease(std::string ns, std::string id, StatusDone done) {
  Status valid = ValidateNamespace(ns);
  if (valid.ok()) valid = ValidateIdentifier("lease id", id);
  if (!valid.ok()) return done(valid);
  const Dbs& dbs = db_->dbs();
  auto op = [ns, id, &dbs](Txn& txn) -> Status {
    std::string key = ObjectKey(ns, id);
    if (!txn.Has(dbs.leases, key)) return internal::ObjectNotFound("lease", ns, id);
    BERTH_RETURN_IF_ERROR(DeleteResources(txn, dbs, ns, id));
    return txn.Del(dbs.leases, key);
  };
  db_->Write(op, [this, done = std::move(done)](Status status) {
    if (status.ok()) Released();
    done(status);
  });
}

void MetadataStore::AddLeaseResource(std::string ns, std::string id, v1::Resource resource,
                                     StatusDone done) {
  Status valid = ValidateNamespace(ns);
  if (valid.ok()) valid = ValidateIdentifier("lease id", id);
  if (valid.ok()) valid = ValidateResource(resource);
  if (!valid.ok()) return done(valid);
  const Dbs& dbs = db_->dbs();
  auto bytes = Encode(resource);
  auto key = LeaseResourceKey(ns, id, resource.type(), resource.id());
  auto op = [ns, id, key, bytes, &dbs](Txn& txn) -> Status {
    if (!txn.Has(dbs.leases, ObjectKey(ns, id))) return internal::ObjectNotFound("lease", ns, id);
    return txn.Put(dbs.lease_resources, key, bytes);
  };
  std::vector<GcRef> refs;
  if (resource.type() == kResourceContent) {
    refs.push_back(GcRef::Content(ns, resource.id()));
  } else if (resource.type().starts_with(kResourceSnapshotsPrefix)) {
    refs.push_back(GcRef::Snapshot(ns, resource.type().substr(kResourceSnapshotsPrefix.size()),
                                   resource.id()));
  }
  db_->Write(op, [this, refs = std::move(refs), done = std::move(done)](Status status) {
    if (status.ok()) Referenced(refs);
    done(status);
  });
}

void MetadataStore::DeleteLeaseResource(std::string ns, std::string id, v1::Resource resource,
                                        StatusDone done) {
  Status valid = ValidateNamespace(ns);
  if (valid.ok()) valid = ValidateIdentifier("lease id", id);
  if (valid.ok()) valid = ValidateResource(resource);
  if (!valid.ok()) return done(valid);
  const Dbs& dbs = db_->dbs();
  auto key = LeaseResourceKey(ns, id, resource.type(), resource.id());
  auto op = [ns, id, key, &dbs](Txn& txn) -> Status {
    if (!txn.Has(dbs.leases, ObjectKey(ns, id))) return internal::ObjectNotFound("lease", ns, id);
    Status status = txn.Del(dbs.lease_resources, key);
    return status.code() == Code::kNotFound ? Status::Ok() : status;
  };
  db_->Write(op, [this, done = std::move(done)](Status status) {
    if (status.ok()) Released();
    done(status);
  });
}

Result<std::vector<v1::Resource>> MetadataStore::ListLeaseResources(const std::string& ns,
                                                                    const std::string& id) {
  BERTH_RETURN_IF_ERROR(ValidateNamespace(ns));
  BERTH_RETURN_IF_ERROR(ValidateIdentifier("lease id", id));
  BERTH_ASSIGN_OR_RETURN(Txn txn, db_->Read());
  if (!txn.Has(db_->dbs().leases, ObjectKey(ns, id)))
    return internal::ObjectNotFound("lease", ns, id);
  std::vector<v1::Resource> resources;
  Status decode_error;
  BERTH_RETURN_IF_ERROR(txn.ScanPrefix(db_->dbs().lease_resources, LeaseResourcePrefix(ns, id),
                                       [&](std::string_view, std::string_view value) {
                                         resources.emplace_back();
                                         decode_error =
                                             Decode(value, &resources.back(), "lease resource");
                                         return decode_error.ok();
                                       }));
  BERTH_RETURN_IF_ERROR(decode_error);
  return resources;
}

}  // namespace berth::metadata
