#pragma once
// The shim's three modes (see flags.h). Each returns the process exit code.
//
// start   binds the socket (default /run/containerd/s/<hash of address/ns/id>, directory 0700),
//         writes <bundle>/address, spawns the daemon (`serve`, stdio /dev/null, socket as fd 3),
//         prints "unix://<socket>" and returns at once. The daemon moves into a new session of
//         its own one second later (see serve.cc: a new session is a new scheduler autogroup).
//         If a live shim already serves that socket for this bundle it prints the address again.
// delete  without the daemon: `runtime delete --force`, unmounts <bundle>/rootfs, removes a
//         stale socket and prints a binary containerd.task.v2.DeleteResponse (the exit status
//         recorded in <bundle>/init.exit, else 137). Safe to run twice.
// serve   the daemon: child subreaper, one libuv loop, the Task service on fd 3, events to
//         $TTRPC_ADDRESS; exits after Shutdown once the container is deleted.

#include <string>

#include "shim/flags.h"

namespace berth::shim {

int RunStart(const ShimFlags& flags);
int RunDelete(const ShimFlags& flags);
int RunServe(const ShimFlags& flags);

// "/run/containerd/s/<32 hex digits>": a short, stable socket path for (address, ns, id).
std::string DefaultSocketPath(const std::string& address, const std::string& ns,
                              const std::string& id);
// The bundle named by -bundle, else the working directory.
std::string BundleDir(const ShimFlags& flags);

}  // namespace berth::shim
