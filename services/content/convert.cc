#include "services/content/convert.h"

namespace berth::content {

int64_t FromTimestamp(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000000000 + ts.nanos();
}

void ToTimestamp(int64_t unix_nanos, google::protobuf::Timestamp* ts) {
  int64_t seconds = unix_nanos / 1000000000;
  int64_t nanos = unix_nanos % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --seconds;
  }
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int32_t>(nanos));
}

Labels FromProto(const google::protobuf::Map<std::string, std::string>& labels) {
  return Labels(labels.begin(), labels.end());
}

void ToProto(const Labels& labels, google::protobuf::Map<std::string, std::string>* out) {
  for (const auto& [key, value] : labels) (*out)[key] = value;
}

Result<Digest> ParseOptionalDigest(const std::string& text) {
  if (text.empty()) return Digest{};
  return ParseDigest(text);
}

void ToProto(const Info& info, v1::Info* out) {
  out->set_digest(info.digest.ToString());
  out->set_size(static_cast<int64_t>(info.size));
  ToTimestamp(info.created_at, out->mutable_created_at());
  ToTimestamp(info.updated_at, out->mutable_updated_at());
  ToProto(info.labels, out->mutable_labels());
}

Result<Info> FromProto(const v1::Info& info) {
  Info out;
  BERTH_ASSIGN_OR_RETURN(out.digest, ParseDigest(info.digest()));
  out.size = static_cast<uint64_t>(info.size());
  out.created_at = FromTimestamp(info.created_at());
  out.updated_at = FromTimestamp(info.updated_at());
  out.labels = FromProto(info.labels());
  return out;
}

void ToProto(const IngestStatus& status, v1::IngestStatus* out) {
  out->set_ref(status.ref);
  out->set_offset(static_cast<int64_t>(status.offset));
  out->set_total(static_cast<int64_t>(status.total));
  out->set_expected(status.expected.ToString());
  ToTimestamp(status.started_at, out->mutable_started_at());
  ToTimestamp(status.updated_at, out->mutable_updated_at());
}

Result<IngestStatus> FromProto(const v1::IngestStatus& status) {
  IngestStatus out;
  out.ref = status.ref();
  out.offset = static_cast<uint64_t>(status.offset());
  out.total = static_cast<uint64_t>(status.total());
  BERTH_ASSIGN_OR_RETURN(out.expected, ParseOptionalDigest(status.expected()));
  out.started_at = FromTimestamp(status.started_at());
  out.updated_at = FromTimestamp(status.updated_at());
  return out;
}

}  // namespace berth::content
