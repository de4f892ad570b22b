#pragma once
// `berthctl container create` and what `run` shares with it: the container flags, and making a
// container from an image (an active snapshot on the image's top layer, an OCI spec generated
// from the image config and the flags, the container record in berth-metadata).

#include <string>
#include <vector>

#include "cli/context.h"
#include "client/spec/spec.h"
#include "common/status.h"

namespace CLI {
class App;
}

namespace berth::cli {

inline constexpr char kDefaultRuntime[] = "io.containerd.berth.v1";
inline constexpr char kSpecTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";

struct ContainerFlags {
  std::string image;
  std::string id;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::vector<std::string> env_files;
  std::vector<std::string> mounts;
  std::vector<std::string> labels;
  std::string user;
  std::string cwd;
  std::string net = "none";
  std::string runtime = kDefaultRuntime;
  std::string memory_limit;
  std::string hostname;
  std::string entrypoint;
  std::string snapshotter;  // "" = the snapshot service's default
  std::string cgroup_parent = "/berth";
  double cpus = 0;
  bool privileged = false;
  bool read_only = false;
  bool terminal = false;

  // Adds the flags and the IMAGE ID [CMD ARG...] positionals to `command`.
  void Add(CLI::App* command);
  // Adds only the flags (`bundle extract` has its own positionals).
  void AddFlags(CLI::App* command);
};

// The spec generator's options for `flags` in the context's namespace (what `run` and
// `bundle extract` both hand to spec::GenerateSpec). INVALID_ARGUMENT names a bad flag.
Result<spec::SpecOptions> SpecOptionsFrom(const CliContext& context, const ContainerFlags& flags);

struct CreatedContainer {
  std::string id;
  std::string snapshotter;
  std::string snapshot_key;
};

// Snapshot + spec + record. On failure nothing is left behind. Errors name the step.
Result<CreatedContainer> CreateContainer(CliContext& context, const ContainerFlags& flags);

// Deletes the container record and its snapshot (each may already be gone).
Status RemoveContainer(CliContext& context, const std::string& id);

}  // namespace berth::cli
