// berth-metadata-bench: starting service processes, printing results.
#include <fcntl.h>
#include <fmt/format.h>

#include <thread>

#include "bench/metadata/bench.h"
#include "berth/health/v1/health.berth.h"
#include "common/fs.h"
#include "ipc/client.h"

namespace berth::bench {

void PrintResult(const std::string& metric, double value) {
  fmt::print("result {} {:.1f}\n", metric, value);
  std::fflush(stdout);
}

std::string SocketOf(const TempDir& dir, const std::string& name) {
  return dir.Join("state/" + name + ".sock");
}

Result<ChildProcess> StartService(const Options& options, const std::string& name,
                                  const TempDir& dir, const std::vector<std::string>& args) {
  BERTH_RETURN_IF_ERROR(MakeDirs(dir.Join("root"), 0711));
  BERTH_RETURN_IF_ERROR(MakeDirs(dir.Join("state"), 0711));
  std::string log_path = dir.Join(name + ".log");
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log.valid()) return ErrnoStatus(errno, "open " + log_path);
  SpawnOptions spawn;
  spawn.argv = {options.Binary(name), "--root", dir.Join("root"), "--state", dir.Join("state"),
                "--berthd",           "none",   "--log-level",    "warn"};
  spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
  spawn.stdin_fd = SpawnOptions::kDevNull;
  spawn.stdout_fd = log.get();
  spawn.stderr_fd = log.get();
  BERTH_ASSIGN_OR_RETURN(ChildProcess child, ChildProcess::Spawn(spawn));
  ipc::Client client(SocketOf(dir, name));
  health::v1::HealthClient health(client);
  for (int i = 0; i < 500; ++i) {
    if (health.Check(health::v1::CheckRequest()).ok()) return child;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Error(Code::kDeadlineExceeded, "berth-{} did not start (see {})", name, log_path);
}

}  // namespace berth::bench
