#include "services/snapshot/convert.h"

namespace berth::snapshot {
namespace {

void ToTimestamp(int64_t unix_nanos, google::protobuf::Timestamp* out) {
  int64_t seconds = unix_nanos / 1000000000;
  int64_t nanos = unix_nanos % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(nanos));
}

int64_t FromTimestamp(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000000000 + ts.nanos();
}

}  // namespace

void ToProto(const Mount& mount, berth::types::v1::Mount* out) {
  out->set_type(mount.type);
  out->set_source(mount.source);
  out->set_target(mount.target);
  for (const std::string& option : mount.options) out->add_options(option);
}

Mount FromProto(const berth::types::v1::Mount& mount) {
  return Mount{mount.type(), mount.source(), mount.target(),
               std::vector<std::string>(mount.options().begin(), mount.options().end())};
}

void ToProto(const std::vector<Mount>& mounts,
             google::protobuf::RepeatedPtrField<berth::types::v1::Mount>* out) {
  for (const Mount& mount : mounts) ToProto(mount, out->Add());
}

std::vector<Mount> FromProto(
    const google::protobuf::RepeatedPtrField<berth::types::v1::Mount>& mounts) {
  std::vector<Mount> result;
  for (const auto& mount : mounts) result.push_back(FromProto(mount));
  return result;
}

Labels LabelsFromProto(const google::protobuf::Map<std::string, std::string>& labels) {
  return Labels(labels.begin(), labels.end());
}

void LabelsToProto(const Labels& labels, google::protobuf::Map<std::string, std::string>* out) {
  for (const auto& [key, value] : labels) (*out)[key] = value;
}

void ToProto(const Info& info, berth::snapshot::v1::Info* out) {
  out->set_name(info.name);
  out->set_parent(info.parent);
  out->set_kind(static_cast<berth::snapshot::v1::Kind>(info.kind));
  ToTimestamp(info.created_at, out->mutable_created_at());
  ToTimestamp(info.updated_at, out->mutable_updated_at());
  LabelsToProto(info.labels, out->mutable_labels());
}

Info FromProto(const berth::snapshot::v1::Info& info) {
  Info result;
  result.name = info.name();
  result.parent = info.parent();
  int kind = info.kind();
  result.kind = kind >= 0 && kind <= 3 ? static_cast<Kind>(kind) : Kind::kUnknown;
  result.created_at = FromTimestamp(info.created_at());
  result.updated_at = FromTimestamp(info.updated_at());
  result.labels = LabelsFromProto(info.labels());
  return result;
}

void ToProto(const Descriptor& descriptor, berth::types::v1::Descriptor* out) {
  out->set_media_type(descriptor.media_type);
  out->set_digest(descriptor.digest.ToString());
  out->set_size(descriptor.size);
  for (const auto& [key, value] : descriptor.annotations)
    (*out->mutable_annotations())[key] = value;
}

Result<Descriptor> FromProto(const berth::types::v1::Descriptor& descriptor) {
  Descriptor result;
  result.media_type = descriptor.media_type();
  BERTH_ASSIGN_OR_RETURN(result.digest, ParseDigest(descriptor.digest()));
  result.size = descriptor.size();
  result.annotations.insert(descriptor.annotations().begin(), descriptor.annotations().end());
  return result;
}

}  // namespace berth::snapshot
