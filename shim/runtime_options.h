#pragma once
// Which OCI runtime a container uses and how: runc by default; crun (or another runc-compatible
// binary) by runtime options, as containerd passes them in CreateTaskRequest.options:
//   - containerd.runc.v1.Options: binary_name, root, systemd_cgroup, no_pivot_root,
//     no_new_keyring (what CRI and `ctr --runc-binary` send for runc-type runtimes);
//   - runtimeoptions.v1.Options: config_path (ctr --runtime-config-path) or config_body, a TOML
//     file with the same keys as containerd's runc options:
//         BinaryName = "crun"
//         Root = "/run/crun-berth"
//         SystemdCgroup = false
//     (snake_case spellings are accepted; unknown keys and [tables] are ignored).
// Type URLs may be bare or prefixed ("type.googleapis.com/containerd.runc.v1.Options").

#include <string>
#include <string_view>

#include <google/protobuf/any.pb.h>

#include "common/status.h"
#include "shim/oci_runtime.h"

namespace berth::shim {

// Applies `options` to `config`; an unset Any changes nothing. INVALID_ARGUMENT for an unknown
// type or a value that does not parse; the errors of reading config_path.
Status ApplyRuntimeOptions(const google::protobuf::Any& options, RuntimeConfig* config);

// Applies the TOML subset above. INVALID_ARGUMENT naming the line for a malformed value.
Status ApplyRuntimeConfigText(std::string_view text, RuntimeConfig* config);

// The runtime root containerd's runc shim would use: /run/containerd/<binary name>/<namespace>.
std::string DefaultRuntimeRoot(const std::string& binary, const std::string& ns);

}  // namespace berth::shim
