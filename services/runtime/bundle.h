#pragma once
// A task's directories, as berth-runtime lays them out (containerd's runtime v2 layout):
//
//   <state>/runtime/<ns>/<id>/            the bundle (0711): the shim runs here
//     config.json                         the OCI spec
//     rootfs/                             the shim mounts the rootfs mounts here
//     work -> <root>/runtime/<ns>/<id>    persistent task state
//     log                                 FIFO: the shim's stderr, drained by berth-runtime
//     address                             written by the shim's `start`: unix:///...
//     shim-binary-path                    the shim binary that served it (for `delete` after a
//                                         restart)
//     runtime-name                        the runtime name it was created with
//                                         (io.containerd.berth.v1), shown again after a restart
//   <root>/runtime/<ns>/<id>/             persistent (0711)
//     exit                                "<exit status> <exited-at unix nanos> <pid>", written
//                                         atomically when berth-runtime learns the init exit
//     log                                 stdout+stderr of a task created with log_to_file
//
// Functions block (file system): call them off the loop thread. Thread-safe (no shared state).

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"

namespace berth::runtime {

struct BundlePaths {
  std::string bundle;  // <state>/runtime/<ns>/<id>
  std::string work;    // <root>/runtime/<ns>/<id>
  std::string Config() const { return bundle + "/config.json"; }
  std::string Rootfs() const { return bundle + "/rootfs"; }
  std::string LogFifo() const { return bundle + "/log"; }
  std::string Address() const { return bundle + "/address"; }
  std::string ShimBinary() const { return bundle + "/shim-binary-path"; }
  std::string RuntimeName() const { return bundle + "/runtime-name"; }
  std::string ExitFile() const { return work + "/exit"; }
  std::string LogFile() const { return work + "/log"; }
};

BundlePaths PathsFor(const std::string& state_dir, const std::string& root_dir,
                     const std::string& ns, const std::string& id);

// Namespaces and container ids become directory names: [A-Za-z0-9][A-Za-z0-9_.-]{0,75}.
Status ValidateName(const std::string& what, const std::string& name);

// Creates the bundle (ALREADY_EXISTS if it exists), writes config.json, makes rootfs/, the work
// dir, the `work` link and the `log` FIFO. On failure removes what it made.
Status CreateBundle(const BundlePaths& paths, const std::string& spec_json);

// Removes the bundle and the work dir. A rootfs still mounted (a shim that could not clean up)
// is lazily unmounted first. Missing directories are OK.
Status RemoveBundle(const BundlePaths& paths, bool keep_work = false);

struct ExitRecord {
  uint32_t status = 0;
  int64_t exited_at_nanos = 0;
  uint32_t pid = 0;
};
Status WriteExit(const BundlePaths& paths, const ExitRecord& exit);
// nullopt when there is no (well-formed) exit file.
std::optional<ExitRecord> ReadExit(const BundlePaths& paths);

// The `address` file without its "unix://" prefix; NOT_FOUND when missing, INVALID_ARGUMENT
// for anything but a unix:// path.
Result<std::string> ReadShimSocket(const BundlePaths& paths);
// Parses what a shim's `start` printed: "unix:///path" (or containerd 1.7's JSON form).
Result<std::string> SocketFromAddress(const std::string& printed);

}  // namespace berth::runtime
