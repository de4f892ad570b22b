// MetadataStore: containers.
#include "berth/metadata/v1/events.pb.h"
#include "services/metadata/metadata.h"
#include "services/metadata/store_internal.h"
#include "services/metadata/validate.h"

namespace berth::metadata {

using namespace internal;

namespace {

Status ValidateContainer(const v1::Container& c) {
  BERTH_RETURN_IF_ERROR(ValidateIdentifier("container id", c.id()));
  BERTH_RETURN_IF_ERROR(ValidateLabels("container labels", c.labels()));
  for (const auto& [key, value] : c.extensions()) {
    if (key.empty()) {
      return Status(Code::kInvalidArgument, "container extension keys must not be empty");
    }
  }
  if (c.runtime().name().empty()) {
    return Status(Code::kInvalidArgument, "container runtime.name must be set");
  }
  if (!c.has_spec()) return Status(Code::kInvalidArgument, "container spec must be set");
  if (!c.snapshot_key().empty() && c.snapshotter().empty()) {
    return Status(Code::kInvalidArgument,
                  "container snapshotter must be set when snapshot_key is set");
  }
  if (!c.snapshotter().empty()) {
    BERTH_RETURN_IF_ERROR(ValidateIdentifier("container snapshotter", c.snapshotter()));
  }
  return Status::Ok();
}

std::vector<GcRef> ContainerRefs(const std::string& ns, const v1::Container& c) {
  std::vector<GcRef> refs;
  if (!c.snapshotter().empty() && !c.snapshot_key().empty()) {
    refs.push_back(GcRef::Snapshot(ns, c.snapshotter(), c.snapshot_key()));
  }
  AppendLabelRefs(ns, c.labels(), &refs);
  return refs;
}

Status ApplyContainerPaths(const v1::Container& request, std::vector<std::string> paths,
                           v1::Container* stored) {
  if (paths.empty()) {
    if (stored->snapshotter() != request.snapshotter()) {
      return Status(Code::kInvalidArgument, "container snapshotter is immutable");
    }
    if (stored->runtime().name() != request.runtime().name()) {
      return Status(Code::kInvalidArgument, "container runtime.name is immutable");
    }
    paths = {"labels", "spec", "extensions", "image", "snapshotkey"};
  }
  for (const auto& path : paths) {
    if (ApplyMapPath(path, "labels", request.labels(), stored->mutable_labels())) continue;
    if (ApplyMapPath(path, "extensions", request.extensions(), stored->mutable_extensions())) {
      continue;
    }
    if (path == "spec") {
      *stored->mutable_spec() = request.spec();
    } else if (path == "image") {
      stored->set_image(request.image());
    } else if (path == "snapshotkey") {
      stored->set_snapshot_key(request.snapshot_key());
    } else {
      return Error(Code::kInvalidArgument, "cannot update \"{}\" of container \"{}\"", path,
                   request.id());
    }
  }
  return Status::Ok();
}

std::optional<std::string_view> ContainerField(const v1::Container& c, const FieldPath& path) {
  if (path.size() == 1) {
    if (path[0] == "id") return c.id();
    if (path[0] == "image") return c.image();
    if (path[0] == "snapshotter") return c.snapshotter();
    if (path[0] == "snapshotkey") return c.snapshot_key();
  }
  if (path.size() == 2 && path[0] == "runtime" && path[1] == "name") return c.runtime().name();
  if (path[0] == "labels") return MapField(c.labels(), path, 1);
  return std::nullopt;
}

}  // namespace

Result<v1::Container> MetadataStore::GetContainer(const std::string& ns, const std::string& id) {
  BERTH_RETURN_IF_ERROR(ValidateNamespace(ns));
  BERTH_RETURN_IF_ERROR(ValidateIdentifier("container id", id));
  BERTH_ASSIGN_OR_RETURN(Txn txn, db_->Read());
  v1::Container c;
  Status status = Load(txn, db_->dbs().containers, ObjectKey(ns, id), &c, "container " + id);
  if (status.code() == Code::kNotFound) return internal::ObjectNotFound("container", ns, id);
  BERTH_RETURN_IF_ERROR(status);
  return c;
}

Status MetadataStore::ListContainers(const std::string& ns, const Filter& filter,
                                     const Visit<v1::Container>& visit) {
  BERTH_RETURN_IF_ERROR(ValidateNamespace(ns));
  BERTH_ASSIGN_OR_RETURN(Txn txn, db_->Read());
  Status decode_error;
  BERTH_RETURN_IF_ERROR(txn.ScanPrefix(
      db_->dbs().containers, NamespacePrefix(ns), [&](std::string_view, std::string_view value) {
        v1::Container c;
        decode_error = Decode(value, &c, "a container");
        if (!decode_error.ok()) return false;
        if (filter.Match([&](const FieldPath& path) { return ContainerField(c, path); })) {
          visit(std::move(c));
        }
        return true;
      }));
  return decode_error;
}

void MetadataStore::CreateContainer(std::string ns, v1::Container container,
                                    Done<v1::Container> done) {
  Status valid = ValidateNamespace(ns);
  if (valid.ok()) valid = ValidateContainer(container);
  if (!valid.ok()) return done(valid);
  int64_t now = NowUnixNanos();
  SetTime(container.mutable_created_at(), now);
  SetTime(container.mutable_updated_at(), now);
  auto record = std::make_shared<v1::Container>(std::move(container));
  auto key = ObjectKey(ns, record->id());
  auto bytes = std::make_shared<std::string>(Encode(*record));
  const Dbs& dbs = db_->dbs();
  auto op = [record, key, bytes, ns, &dbs](Txn& txn) -> Status {
    if (txn.Has(dbs.containers, key)) {
      return Error(Code::kAlreadyExists, "container \"{}\" already exists in namespace \"{}\"",
                   record->id(), ns);
    }
    BERTH_RETURN_IF_ERROR(EnsureNamespace(txn, dbs, ns));
    return txn.Put(dbs.containers, key, *bytes);
  };
  WriteAndReturn<v1::Container>(
      *db_, op, record, std::move(done), [this, ns](const v1::Container& c) {
        Referenced(ContainerRefs(ns, c));
        v1::ContainerCreate event;
        event.set_id(c.id());
        event.set_image(c.image());
        event.mutable_runtime()->set_name(c.runtime().name());
        if (c.runtime().has_options()) {
          *event.mutable_runtime()->mutable_options() = c.runtime().options();
        }
        Publish(ns, "/containers/create", event);
      });
}

void MetadataStore::UpdateContainer(std::string ns, v1::Container container,
                                    std::vector<std::string> paths, Done<v1::Container> done) {
  Status valid = ValidateNamespace(ns);
  if (valid.ok()) valid = ValidateIdentifier("container id", container.id());
  if (!valid.ok()) return done(valid);
  auto request = std::make_shared<v1::Container>(std::move(container));
  auto result = std::make_shared<v1::Container>();
  auto key = ObjectKey(ns, request->id());
  int64_t now = NowUnixNanos();
  const Dbs& dbs = db_->dbs();
  auto op = [request, result, key, ns, paths, now, &dbs](Txn& txn) -> Status {
    Status status = Load(txn, dbs.containers, key, result.get(), "container " + request->id());
    if (status.code() == Code::kNotFound)
      return internal::ObjectNotFound("container", ns, request->id());
    BERTH_RETURN_IF_ERROR(status);
    BERTH_RETURN_IF_ERROR(ApplyContainerPaths(*request, paths, result.get()));
    BERTH_RETURN_IF_ERROR(ValidateContainer(*result).Annotate("update failed validation"));
    SetTime(result->mutable_updated_at(), now);
    return txn.Put(dbs.containers, key, Encode(*result));
  };
  WriteAndReturn<v1::Container>(*db_, op, result, std::move(done),
                                [this, ns](const v1::Container& c) {
                                  Referenced(ContainerRefs(ns, c));
                                  Released();
                                  v1::ContainerUpdate event;
                                  event.set_id(c.id());
                                  event.set_image(c.image());
                                  *event.mutable_labels() = c.labels();
                                  event.set_snapshot_key(c.snapshot_key());
                                  Publish(ns, "/containers/update", event);
                                });
}

void MetadataStore::DeleteContainer(std::string ns, std::string id, StatusDone done) {
  Status valid = ValidateNamespace(ns);
  if (valid.ok()) valid = ValidateIdentifier("container id", id);
  if (!valid.ok()) return done(valid);
  auto key = ObjectKey(ns, id);
  const Dbs& dbs = db_->dbs();
  auto op = [key, ns, id, &dbs](Txn& txn) -> Status {
    Status status = txn.Del(dbs.containers, key);
    if (status.code() == Code::kNotFound) return internal::ObjectNotFound("container", ns, id);
    return status;
  };
  db_->Write(op, [this, ns, id, done = std::move(done)](Status status) {
    if (status.ok()) {
      Released();
      v1::ContainerDelete event;
      event.set_id(id);
      Publish(ns, "/containers/delete", event);
    }
    done(status);
  });
}

}  // namespace berth::metadata
