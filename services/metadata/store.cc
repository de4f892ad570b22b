// MetadataStore: opening, hooks, namespaces.
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "berth/metadata/v1/events.pb.h"
#include "services/metadata/metadata.h"
#include "services/metadata/store_internal.h"
#include "services/metadata/validate.h"

namespace berth::metadata {

using namespace internal;

Status ValidateNamespace(const std::string& ns) { return ValidateIdentifier("namespace", ns); }

namespace internal {
Status EnsureNamespace(Txn& txn, const Dbs& dbs, const std::string& ns) {
  if (txn.Has(dbs.namespaces, ns)) return Status::Ok();
  v1::Namespace record;
  record.set_name(ns);
  return txn.Put(dbs.namespaces, ns, Encode(record));
}
}  // namespace internal

Result<std::unique_ptr<MetadataStore>> MetadataStore::Open(const std::string& dir, EventSink events,
                                                           Database::Options options) {
  BERTH_ASSIGN_OR_RETURN(auto db, Database::Open(dir, options));
  return std::unique_ptr<MetadataStore>(new MetadataStore(std::move(db), std::move(events)));
}

MetadataStore::~MetadataStore() = default;

void MetadataStore::Publish(const std::string& ns, const std::string& topic,
                            const google::protobuf::Message& event) const {
  if (events_) events_(ns, topic, event);
}

void MetadataStore::Referenced(std::vector<GcRef> refs) const {
  if (hooks_.on_reference && !refs.empty()) hooks_.on_reference(refs);
}

void MetadataStore::Released() const {
  if (hooks_.on_release) hooks_.on_release();
}

Result<v1::Namespace> MetadataStore::GetNamespace(const std::string& name) {
  BERTH_RETURN_IF_ERROR(ValidateNamespace(name));
  BERTH_ASSIGN_OR_RETURN(Txn txn, db_->Read());
  v1::Namespace ns;
  Status status = Load(txn, db_->dbs().namespaces, name, &ns, "namespace " + name);
  if (status.code() == Code::kNotFound) {
    return Error(Code::kNotFound, "namespace \"{}\" not found", name);
  }
  BERTH_RETURN_IF_ERROR(status);
  return ns;
}

Status MetadataStore::ListNamespaces(const Filter& filter, const Visit<v1::Namespace>& visit) {
  BERTH_ASSIGN_OR_RETURN(Txn txn, db_->Read());
  Status decode_error;
  BERTH_RETURN_IF_ERROR(
      txn.ScanPrefix(db_->dbs().namespaces, "", [&](std::string_view key, std::string_view value) {
        v1::Namespace ns;
        decode_error = Decode(value, &ns, "namespace " + std::string(key));
        if (!decode_error.ok()) return false;
        bool match = filter.Match([&](const FieldPath& path) -> std::optional<std::string_view> {
          if (path[0] == "name" && path.size() == 1) return ns.name();
          if (path[0] == "labels") return MapField(ns.labels(), path, 1);
          return std::nullopt;
        });
        if (match) visit(std::move(ns));
        return true;
      }));
  return decode_error;
}

void MetadataStore::CreateNamespace(v1::Namespace ns, Done<v1::Namespace> done) {
  Status valid = ValidateNamespace(ns.name());
  if (valid.ok()) valid = ValidateLabels("namespace labels", ns.labels());
  if (!valid.ok()) return done(valid);
  auto record = std::make_shared<v1::Namespace>(std::move(ns));
  const Dbs& dbs = db_->dbs();
  auto op = [record, &dbs](Txn& txn) -> Status {
    if (txn.Has(dbs.namespaces, record->name())) {
      return Error(Code::kAlreadyExists, "namespace \"{}\" already exists", record->name());
    }
    return txn.Put(dbs.namespaces, record->name(), Encode(*record));
  };
  WriteAndReturn<v1::Namespace>(*db_, op, record, std::move(done), [this](const v1::Namespace& n) {
    v1::NamespaceCreate event;
    event.set_name(n.name());
    *event.mutable_labels() = n.labels();
    Publish(n.name(), "/namespaces/create", event);
  });
}

void MetadataStore::UpdateNamespace(v1::Namespace ns, std::vector<std::string> paths,
                                    Done<v1::Namespace> done) {
  Status valid = ValidateNamespace(ns.name());
  if (valid.ok()) valid = ValidateLabels("namespace labels", ns.labels());
  if (!valid.ok()) return done(valid);
  if (paths.empty()) paths.push_back("labels");
  auto request = std::make_shared<v1::Namespace>(std::move(ns));
  auto result = std::make_shared<v1::Namespace>();
  const Dbs& dbs = db_->dbs();
  auto op = [request, result, paths, &dbs](Txn& txn) -> Status {
    const std::string& name = request->name();
    Status status = Load(txn, dbs.namespaces, name, result.get(), "namespace " + name);
    if (status.code() == Code::kNotFound) {
      return Error(Code::kNotFound, "namespace \"{}\" not found", name);
    }
    BERTH_RETURN_IF_ERROR(status);
    for (const auto& path : paths) {
      if (!ApplyMapPath(path, "labels", request->labels(), result->mutable_labels())) {
        return Error(Code::kInvalidArgument, "cannot update \"{}\" of namespace \"{}\"", path,
                     name);
      }
    }
    return txn.Put(dbs.namespaces, name, Encode(*result));
  };
  WriteAndReturn<v1::Namespace>(*db_, op, result, std::move(done), [this](const v1::Namespace& n) {
    v1::NamespaceUpdate event;
    event.set_name(n.name());
    *event.mutable_labels() = n.labels();
    Publish(n.name(), "/namespaces/update", event);
  });
}

void MetadataStore::DeleteNamespace(std::string name, StatusDone done) {
  Status valid = ValidateNamespace(name);
  if (!valid.ok()) return done(valid);
  const Dbs& dbs = db_->dbs();
  auto op = [name, &dbs](Txn& txn) -> Status {
    if (!txn.Has(dbs.namespaces, name)) {
      return Error(Code::kNotFound, "namespace \"{}\" not found", name);
    }
    std::string prefix = NamespacePrefix(name);
    std::vector<std::string> held;
    if (txn.HasPrefix(dbs.images, prefix)) held.push_back("images");
    if (txn.HasPrefix(dbs.containers, prefix)) held.push_back("containers");
    if (txn.HasPrefix(dbs.leases, prefix)) held.push_back("leases");
    if (!held.empty()) {
      return Error(Code::kFailedPrecondition,
                   "namespace \"{}\" must be empty, but it still has {}: delete them first", name,
                   fmt::join(held, ", "));
    }
    BERTH_RETURN_IF_ERROR(txn.Del(dbs.namespaces, name));
    return Status::Ok();
  };
  db_->Write(op, [this, name, done = std::move(done)](Status status) {
    if (status.ok()) {
      v1::NamespaceDelete event;
      event.set_name(name);
      Publish(name, "/namespaces/delete", event);
    }
    done(status);
  });
}

}  // namespace berth::metadata
