#pragma once
// Conversions between the snapshot service's C++ types and their protobuf messages. Only
// server.cc/proxy.cc-style code (snapshot_server, diff_server, the proxies, the CLI) uses them.

#include <google/protobuf/repeated_field.h>

#include <vector>

#include "berth/diff/v1/diff.pb.h"
#include "berth/snapshot/v1/snapshots.pb.h"
#include "berth/types/v1/descriptor.pb.h"
#include "berth/types/v1/mount.pb.h"
#include "common/status.h"
#include "services/snapshot/differ.h"
#include "services/snapshot/snapshotter.h"

namespace berth::snapshot {

void ToProto(const Mount& mount, berth::types::v1::Mount* out);
Mount FromProto(const berth::types::v1::Mount& mount);
void ToProto(const std::vector<Mount>& mounts,
             google::protobuf::RepeatedPtrField<berth::types::v1::Mount>* out);
std::vector<Mount> FromProto(
    const google::protobuf::RepeatedPtrField<berth::types::v1::Mount>& mounts);

void ToProto(const Info& info, berth::snapshot::v1::Info* out);
Info FromProto(const berth::snapshot::v1::Info& info);

void ToProto(const Descriptor& descriptor, berth::types::v1::Descriptor* out);
// INVALID_ARGUMENT for a malformed digest.
Result<Descriptor> FromProto(const berth::types::v1::Descriptor& descriptor);

Labels LabelsFromProto(const google::protobuf::Map<std::string, std::string>& labels);
void LabelsToProto(const Labels& labels, google::protobuf::Map<std::string, std::string>* out);

}  // namespace berth::snapshot
