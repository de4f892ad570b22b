#pragma once
// Conversions between the content interface (content.h) and berth.content.v1 messages. Used only
// by server.cc and proxy.cc, the two places that speak the wire.

#include <google/protobuf/timestamp.pb.h>

#include "berth/content/v1/content.pb.h"
#include "services/content/content.h"

namespace berth::content {

int64_t FromTimestamp(const google::protobuf::Timestamp& ts);
void ToTimestamp(int64_t unix_nanos, google::protobuf::Timestamp* ts);

void ToProto(const Info& info, v1::Info* out);
// INVALID_ARGUMENT for a malformed digest.
Result<Info> FromProto(const v1::Info& info);

void ToProto(const IngestStatus& status, v1::IngestStatus* out);
Result<IngestStatus> FromProto(const v1::IngestStatus& status);

Labels FromProto(const google::protobuf::Map<std::string, std::string>& labels);
void ToProto(const Labels& labels, google::protobuf::Map<std::string, std::string>* out);

// "" -> an empty Digest; anything else must parse strictly.
Result<Digest> ParseOptionalDigest(const std::string& text);

}  // namespace berth::content
