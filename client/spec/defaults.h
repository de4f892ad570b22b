#pragma once
// The default pieces of a Linux OCI spec (containerd's values), for spec.cc and tests.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::spec {

// containerd's 14 default capabilities (bounding = effective = permitted).
std::vector<std::string> DefaultCapabilities();
// Every capability up to CAP_CHECKPOINT_RESTORE, for --privileged.
std::vector<std::string> AllCapabilities();
// /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys (ro), /run.
nlohmann::json DefaultMounts();
std::vector<std::string> DefaultMaskedPaths();
std::vector<std::string> DefaultReadonlyPaths();
// The host's character and block devices under /dev (for --privileged), as linux.devices.
nlohmann::json HostDevices();

}  // namespace berth::spec
