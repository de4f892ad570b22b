#include "services/runtime/shim_process.h"

#include <unistd.h>

#include <cstdlib>

#include "common/process.h"

extern char** environ;

namespace berth::runtime {
namespace {

bool Executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

std::vector<std::string> ShimEnv(const ShimContext& context) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    if (entry.rfind("TTRPC_ADDRESS=", 0) == 0 || entry.rfind("GOMAXPROCS=", 0) == 0) continue;
    // systemd's readiness protocol belongs to berth-runtime's unit. runc hands a NOTIFY_SOCKET
    // it inherits to the container and `runc start` then waits for the container to send
    // READY=1, which an ordinary process never does: Start would hang.
    if (entry.rfind("NOTIFY_SOCKET=", 0) == 0 || entry.rfind("WATCHDOG_", 0) == 0) continue;
    env.emplace_back(entry);
  }
  env.push_back("TTRPC_ADDRESS=" + context.events_address);
  env.push_back("GOMAXPROCS=2");  // as containerd: Go shims need no more
  return env;
}

std::vector<std::string> BaseArgs(const std::string& binary, const ShimContext& context) {
  return {binary,
          "-namespace",
          context.ns,
          "-address",
          context.address,
          "-publish-binary",
          context.publish_binary.empty() ? std::string("/proc/self/exe") : context.publish_binary,
          "-id",
          context.id};
}

}  // namespace

Result<std::string> ResolveShimBinary(const std::string& runtime,
                                      const std::vector<std::string>& dirs) {
  if (runtime.empty()) return Error(Code::kInvalidArgument, "no runtime name");
  if (runtime.front() == '/') {
    if (!Executable(runtime)) return Error(Code::kNotFound, "runtime binary {} not found", runtime);
    return runtime;
  }
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = runtime.find('.', start)) != std::string::npos; start = dot + 1) {
    parts.push_back(runtime.substr(start, dot - start));
  }
  parts.push_back(runtime.substr(start));
  if (parts.size() < 2 || parts[parts.size() - 2].empty() || parts.back().empty() ||
      runtime.find('/') != std::string::npos) {
    return Error(Code::kInvalidArgument,
                 "runtime {:?} is not a runtime name like io.containerd.runc.v2 or an absolute "
                 "path",
                 runtime);
  }
  std::string name = "containerd-shim-" + parts[parts.size() - 2] + "-" + parts.back();
  std::vector<std::string> search = dirs;
  if (const char* path = std::getenv("PATH")) {
    std::string_view p(path);
    for (size_t s = 0; s <= p.size();) {
      size_t colon = p.find(':', s);
      if (colon == std::string_view::npos) colon = p.size();
      if (colon > s) search.emplace_back(p.substr(s, colon - s));
      s = colon + 1;
    }
  }
  for (const auto& dir : search) {
    std::string candidate = dir + "/" + name;
    if (Executable(candidate)) return candidate;
  }
  return Error(Code::kNotFound, "runtime {:?}: binary {} is not installed (looked in {} and $PATH)",
               runtime, name, dirs.empty() ? std::string("-") : dirs.front());
}

Result<std::string> StartShim(const std::string& binary, const ShimContext& context,
                              const BundlePaths& paths, std::chrono::milliseconds timeout) {
  SpawnOptions options;
  options.argv = BaseArgs(binary, context);
  options.argv.push_back("start");
  options.env = ShimEnv(context);
  options.cwd = paths.bundle;
  auto out = RunCapture(std::move(options), {}, timeout);
  if (!out.ok()) return out.status().Annotate("start shim " + binary);
  return SocketFromAddress(*out);
}

Result<containerd::task::v2::DeleteResponse> DeleteShim(const std::string& binary,
                                                        const ShimContext& context,
                                                        const BundlePaths& paths,
                                                        std::chrono::milliseconds timeout) {
  SpawnOptions options;
  options.argv = BaseArgs(binary, context);
  options.argv.insert(options.argv.end(), {"-bundle", paths.bundle, "delete"});
  options.env = ShimEnv(context);
  options.cwd = paths.bundle;
  auto out = RunCapture(std::move(options), {}, timeout);
  if (!out.ok()) return out.status().Annotate("shim delete");
  containerd::task::v2::DeleteResponse response;
  if (!response.ParseFromString(*out)) {
    return Error(Code::kInternal, "shim delete printed no DeleteResponse");
  }
  return response;
}

}  // namespace berth::runtime
