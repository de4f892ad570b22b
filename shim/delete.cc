// `berth-shim delete`: clean up after a shim that is gone, without any daemon.
#include <unistd.h>

#include <cstdio>

#include "common/fs.h"
#include "common/process.h"
#include "common/time.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "ipc/unix_socket.h"
#include "shim/bundle_files.h"
#include "shim/mounts.h"
#include "shim/runtime_options.h"
#include "shim/subcommands.h"
#include "shim/task_service.h"

namespace berth::shim {
namespace {

void Warn(const Status& status) {
  std::fprintf(stderr, "berth-shim delete: %s\n", status.ToString().c_str());
}

RuntimeConfig SavedRuntime(const std::string& bundle, const std::string& ns) {
  if (auto saved = ReadRuntimeRecord(bundle)) return *saved;
  RuntimeConfig config;
  if (Status s = config.Resolve(); !s.ok()) Warn(s);
  config.root = DefaultRuntimeRoot(config.binary, ns);
  return config;
}

void RuntimeDelete(const RuntimeConfig& config, const std::string& id) {
  std::vector<std::string> argv = config.GlobalArgs();
  argv.insert(argv.end(), {"delete", "--force", id});
  auto out = RunCapture(argv, {}, std::chrono::seconds(30));
  if (!out.ok() && out.status().message().find("does not exist") == std::string::npos) {
    Warn(out.status());
  }
}

// The socket of the dead daemon, unless something still serves it.
void RemoveStaleSocket(const std::string& bundle) {
  auto address = ReadFile(bundle + "/" + kAddressFile);
  constexpr std::string_view kScheme = "unix://";
  if (!address.ok() || address->compare(0, kScheme.size(), kScheme) != 0) return;
  std::string path = address->substr(kScheme.size());
  if (!ipc::ConnectUnix(path).ok()) ::unlink(path.c_str());
}

}  // namespace

int RunDelete(const ShimFlags& flags) {
  if (flags.id.empty()) {
    std::fprintf(stderr, "berth-shim delete: -id is required\n");
    return 1;
  }
  std::string bundle = BundleDir(flags);
  RuntimeConfig config = SavedRuntime(bundle, flags.ns.empty() ? "default" : flags.ns);
  RuntimeDelete(config, flags.id);
  if (Status s = UnmountAll(bundle + "/rootfs"); !s.ok()) Warn(s);
  RemoveStaleSocket(bundle);

  containerd::task::v2::DeleteResponse response;
  auto pid = ReadPidFile(bundle + "/" + kInitPidFile);
  if (pid.ok()) response.set_pid(static_cast<uint32_t>(*pid));
  auto exit = ReadExitRecord(bundle);
  // Without a recorded exit the container was killed by the forced delete above.
  response.set_exit_status(exit ? exit->status : 128 + 9);
  SetTimestamp(response.mutable_exited_at(), exit ? exit->exited_at_ns : NowUnixNanos());
  std::string out;
  response.SerializeToString(&out);
  if (Status s = WriteAll(STDOUT_FILENO, out, "stdout"); !s.ok()) {
    Warn(s);
    return 1;
  }
  return 0;
}

}  // namespace berth::shim
