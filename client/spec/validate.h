#pragma once
// A conformance check of a Linux config.json against the OCI runtime-spec (config.md,
// config-linux.md, v1.0.2): required fields and their types, absolute paths, known and unique
// namespaces, rlimits, device cgroup rules, hostname only with a UTS namespace.
//
// Returns OK or INVALID_ARGUMENT naming the first offending field as a JSON path
// ("process.user.uid: required"). Pure function.

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace berth::spec {

Status ValidateSpec(const nlohmann::json& spec);

}  // namespace berth::spec
