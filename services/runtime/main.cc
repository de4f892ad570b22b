// berth-runtime: the task service (see services/runtime/task_manager.h).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "services/host/service_host.h"
#include "services/runtime/server.h"
#include "services/runtime/task_manager.h"
#include "services/runtime/task_metrics.h"

namespace {

std::string ExeDir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace berth;
  std::vector<std::string> shim_dirs;
  std::string default_runtime = "io.containerd.berth.v1";
  uint64_t log_max_size = 0;
  int log_max_files = 3;
  auto options = service::ParseServiceCommandLine("runtime", argc, argv, [&](CLI::App& app) {
    app.add_option("--shim-dir", shim_dirs,
                   "directory searched for containerd-shim-* binaries before $PATH (repeatable; "
                   "berth-runtime's own directory is always searched)");
    app.add_option("--default-runtime", default_runtime, "runtime of containers that name none")
        ->capture_default_str();
    app.add_option("--log-max-size", log_max_size,
                   "bytes at which berth-shim rotates a detached task's log file (0: never)")
        ->capture_default_str();
    app.add_option("--log-max-files", log_max_files,
                   "rotated log files kept beside the current one (log.1 ... log.N)")
        ->check(CLI::Range(1, 31))
        ->capture_default_str();
  });
  service::ServiceHost host(options);
  std::string exe_dir = ExeDir();
  shim_dirs.push_back(exe_dir);
  shim_dirs.push_back(exe_dir + "/../../shim");  // the build tree: build/services/runtime
  runtime::RuntimeConfig config;
  config.state_dir = options.state + "/runtime";
  config.root_dir = host.DataDir();
  config.address = options.socket;
  config.events_address = options.berthd_socket == "none" ? "" : options.berthd_socket;
  config.publish_binary = exe_dir + "/berthd";
  config.shim_dirs = shim_dirs;
  config.runc_root = options.state + "/runc";
  config.default_runtime = default_runtime;
  config.log_max_size = log_max_size;
  config.log_max_files = log_max_files;
  runtime::TaskManager manager(
      host.loop(), config,
      [&host](const std::string& ns, const std::string& topic,
              const google::protobuf::Message& event) { host.Publish(ns, topic, event); });
  manager.Recover();
  runtime::AddTaskMetrics(host, manager);
  runtime::TasksServer server(host.loop(), manager, options.state + "/metadata.sock",
                              options.state + "/snapshot.sock");
  server.RegisterWith(host.server());
  host.AddPlugin("berth.runtime.v2", "task");
  host.AddPlugin("berth.runtime.v1", "tasks");
  return host.Run();
}
