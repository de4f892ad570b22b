#pragma once
// Starting and cleaning up shims with containerd's runtime v2 conventions, so that berth-shim and
// containerd's own containerd-shim-runc-v2 are interchangeable:
//
//   start:  <shim> -namespace NS -address ADDR -publish-binary BIN -id ID start
//           (cwd = bundle, env + TTRPC_ADDRESS=<events socket>, stdin /dev/null); prints the
//           address (unix:///...) and returns once the shim daemon serves it.
//   delete: <shim> -namespace NS -address ADDR -publish-binary BIN -id ID -bundle B delete
//           cleans up without the daemon and prints a binary containerd.task.v2.DeleteResponse.
//
// Runtime names resolve as in containerd 1.6: an absolute path is used as is; a dotted name
// "io.containerd.runc.v2" becomes the binary "containerd-shim-runc-v2", searched in `dirs` then
// in $PATH.
//
// Functions block (they run a child process): call them off the loop thread.

#include <chrono>
#include <string>
#include <vector>

#include "containerd/runtime/v2/task/shim.pb.h"
#include "common/status.h"
#include "services/runtime/bundle.h"

namespace berth::runtime {

struct ShimContext {
  std::string ns;
  std::string id;
  std::string address;         // -address: berth-runtime's own socket (names the shim socket)
  std::string events_address;  // TTRPC_ADDRESS: berthd.sock; empty = none
  std::string publish_binary;  // -publish-binary
};

// NOT_FOUND naming the binary and where it was looked for; INVALID_ARGUMENT for a bad name.
Result<std::string> ResolveShimBinary(const std::string& runtime,
                                      const std::vector<std::string>& dirs);

// Runs `start`; returns the socket path. UNKNOWN with the shim's output when it fails.
Result<std::string> StartShim(const std::string& binary, const ShimContext& context,
                              const BundlePaths& paths,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Runs `delete`; returns its DeleteResponse.
Result<containerd::task::v2::DeleteResponse> DeleteShim(
    const std::string& binary, const ShimContext& context, const BundlePaths& paths,
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace berth::runtime
