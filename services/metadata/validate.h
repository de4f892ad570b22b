#pragma once
// Validation of names and labels, with containerd's rules. Errors are INVALID_ARGUMENT and say
// what is wrong and what is allowed.

#include <google/protobuf/map.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace berth::metadata {

// Identifiers (namespaces, container ids, lease ids, snapshotter names), containerd's rule
// (identifiers.Validate of containerd 1.6): at most 76 characters matching
// [A-Za-z0-9]+([._-][A-Za-z0-9]+)*, i.e. [A-Za-z0-9][A-Za-z0-9_.-]{0,75} without a separator at
// the end or next to another one. `kind` names it in the message ("container id").
Status ValidateIdentifier(std::string_view kind, std::string_view id);

// Image names: non-empty, at most 4096 bytes, no NUL or control characters.
Status ValidateImageName(std::string_view name);

// Label keys are non-empty; key + value at most 4096 bytes (as containerd). `what` prefixes the
// message ("image labels").
Status ValidateLabels(std::string_view what,
                      const google::protobuf::Map<std::string, std::string>& labels);

// An OCI digest string "<algorithm>:<encoded>" (sha256/sha512, lowercase hex of the right size).
Status ValidateDigest(std::string_view what, std::string_view digest);

}  // namespace berth::metadata
