// MetadataStore: images.
#include "berth/metadata/v1/events.pb.h"
#include "services/metadata/metadata.h"
#include "services/metadata/store_internal.h"
#include "services/metadata/validate.h"

namespace berth::metadata {

using namespace internal;

namespace {

Status ValidateImage(const v1::Image& image) {
  BERTH_RETURN_IF_ERROR(ValidateImageName(image.name()));
  BERTH_RETURN_IF_ERROR(ValidateLabels("image labels", image.labels()));
  const auto& target = image.target();
  BERTH_RETURN_IF_ERROR(ValidateDigest("image target.digest", target.digest()));
  if (target.size() <= 0) {
    return Status(Code::kInvalidArgument, "image target.size must be greater than zero");
  }
  if (target.media_type().empty()) {
    return Status(Code::kInvalidArgument, "image target.media_type must be set");
  }
  return Status::Ok();
}

std::vector<GcRef> ImageRefs(const std::string& ns, const v1::Image& image) {
  std::vector<GcRef> refs;
  refs.push_back(GcRef::Content(ns, image.target().digest()));
  AppendLabelRefs(ns, image.labels(), &refs);
  return refs;
}

// Applies an update mask to `stored` from `request`.
Status ApplyImagePaths(const v1::Image& request, const std::vector<std::string>& paths,
                       v1::Image* stored) {
  for (const auto& path : paths) {
    if (ApplyMapPath(path, "labels", request.labels(), stored->mutable_labels())) continue;
    if (ApplyMapPath(path, "annotations", request.target().annotations(),
                     stored->mutable_target()->mutable_annotations())) {
      continue;
    }
    if (path == "target") {
      *stored->mutable_target() = request.target();
      continue;
    }
    return Error(Code::kInvalidArgument, "cannot update \"{}\" of image \"{}\"", path,
                 request.name());
  }
  return Status::Ok();
}

}  // namespace

Result<v1::Image> MetadataStore::GetImage(const std::string& ns, const std::string& name) {
  BERTH_RETURN_IF_ERROR(ValidateNamespace(ns));
  BERTH_RETURN_IF_ERROR(ValidateImageName(name));
  BERTH_ASSIGN_OR_RETURN(Txn txn, db_->Read());
  v1::Image image;
  Status status = Load(txn, db_->dbs().images, ObjectKey(ns, name), &image, "image " + name);
  if (status.code() == Code::kNotFound) return internal::ObjectNotFound("image", ns, name);
  BERTH_RETURN_IF_ERROR(status);
  return image;
}

Status MetadataStore::ListImages(const std::string& ns, const Filter& filter,
                                 const Visit<v1::Image>& visit) {
  BERTH_RETURN_IF_ERROR(ValidateNamespace(ns));
  BERTH_ASSIGN_OR_RETURN(Txn txn, db_->Read());
  Status decode_error;
  BERTH_RETURN_IF_ERROR(txn.ScanPrefix(
      db_->dbs().images, NamespacePrefix(ns), [&](std::string_view, std::string_view value) {
        v1::Image image;
        decode_error = Decode(value, &image, "an image");
        if (!decode_error.ok()) return false;
        bool match = filter.Match([&](const FieldPath& path) -> std::optional<std::string_view> {
          if (path.size() == 1 && path[0] == "name") return image.name();
          if (path.size() == 2 && path[0] == "target") {
            if (path[1] == "digest") return image.target().digest();
            if (path[1] == "mediatype") return image.target().media_type();
          }
          if (path[0] == "labels") return MapField(image.labels(), path, 1);
          return std::nullopt;
        });
        if (match) visit(std::move(image));
        return true;
      }));
  return decode_error;
}

void MetadataStore::CreateImage(std::string ns, v1::Image image, Done<v1::Image> done) {
  Status valid = ValidateNamespace(ns);
  if (valid.ok()) valid = ValidateImage(image);
  if (!valid.ok()) return done(valid);
  int64_t now = NowUnixNanos();
  SetTime(image.mutable_created_at(), now);
  SetTime(image.mutable_updated_at(), now);
  auto record = std::make_shared<v1::Image>(std::move(image));
  auto key = ObjectKey(ns, record->name());
  const Dbs& dbs = db_->dbs();
  auto op = [record, key, ns, &dbs](Txn& txn) -> Status {
    if (txn.Has(dbs.images, key)) {
      return Error(Code::kAlreadyExists, "image \"{}\" already exists in namespace \"{}\"",
                   record->name(), ns);
    }
    BERTH_RETURN_IF_ERROR(EnsureNamespace(txn, dbs, ns));
    return txn.Put(dbs.images, key, Encode(*record));
  };
  WriteAndReturn<v1::Image>(*db_, op, record, std::move(done), [this, ns](const v1::Image& im) {
    Referenced(ImageRefs(ns, im));
    v1::ImageCreate event;
    event.set_name(im.name());
    *event.mutable_labels() = im.labels();
    Publish(ns, "/images/create", event);
  });
}

void MetadataStore::UpdateImage(std::string ns, v1::Image image, std::vector<std::string> paths,
                                Done<v1::Image> done) {
  Status valid = ValidateNamespace(ns);
  if (valid.ok()) valid = ValidateImageName(image.name());
  if (!valid.ok()) return done(valid);
  if (paths.empty()) paths = {"labels", "target"};
  auto request = std::make_shared<v1::Image>(std::move(image));
  auto result = std::make_shared<v1::Image>();
  auto key = ObjectKey(ns, request->name());
  int64_t now = NowUnixNanos();
  const Dbs& dbs = db_->dbs();
  auto op = [request, result, key, ns, paths, now, &dbs](Txn& txn) -> Status {
    Status status = Load(txn, dbs.images, key, result.get(), "image " + request->name());
    if (status.code() == Code::kNotFound)
      return internal::ObjectNotFound("image", ns, request->name());
    BERTH_RETURN_IF_ERROR(status);
    BERTH_RETURN_IF_ERROR(ApplyImagePaths(*request, paths, result.get()));
    BERTH_RETURN_IF_ERROR(ValidateImage(*result).Annotate("update failed validation"));
    SetTime(result->mutable_updated_at(), now);
    return txn.Put(dbs.images, key, Encode(*result));
  };
  WriteAndReturn<v1::Image>(*db_, op, result, std::move(done), [this, ns](const v1::Image& im) {
    Referenced(ImageRefs(ns, im));
    Released();
    v1::ImageUpdate event;
    event.set_name(im.name());
    *event.mutable_labels() = im.labels();
    Publish(ns, "/images/update", event);
  });
}

void MetadataStore::DeleteImage(std::string ns, std::string name, std::string expected_digest,
                                StatusDone done) {
  Status valid = ValidateNamespace(ns);
  if (valid.ok()) valid = ValidateImageName(name);
  if (!valid.ok()) return done(valid);
  auto key = ObjectKey(ns, name);
  const Dbs& dbs = db_->dbs();
  auto op = [key, ns, name, expected_digest, &dbs](Txn& txn) -> Status {
    v1::Image image;
    Status status = Load(txn, dbs.images, key, &image, "image " + name);
    if (status.code() == Code::kNotFound) return internal::ObjectNotFound("image", ns, name);
    BERTH_RETURN_IF_ERROR(status);
    if (!expected_digest.empty() && image.target().digest() != expected_digest) {
      return Error(Code::kFailedPrecondition,
                   "image \"{}\" has target {}, not {}: it changed since you looked", name,
                   image.target().digest(), expected_digest);
    }
    return txn.Del(dbs.images, key);
  };
  db_->Write(op, [this, ns, name, done = std::move(done)](Status status) {
    if (status.ok()) {
      Released();
      v1::ImageDelete event;
      event.set_name(name);
      Publish(ns, "/images/delete", event);
    }
    done(status);
  });
}

}  // namespace berth::metadata
