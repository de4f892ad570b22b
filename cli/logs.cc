// berthctl logs [-f] ID: the output of a container started detached (run -d, task start -d).
// berth-runtime hands over read-only fds of the task's log files: the rotated ones (berthd's
// [runtime] log_max_size) oldest first, then the current one, so the output reads in order.
// With -f the command keeps reading the current file until the task stopped, and moves on to
// the next file when the shim rotates it.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include <CLI/CLI.hpp>
#include <thread>

#include "berth/runtime/v1/tasks.berth.h"
#include "cli/command_group.h"
#include "cli/context.h"
#include "cli/run.h"

namespace berth::cli {

namespace rt = berth::runtime::v1;
using namespace std::chrono_literals;

namespace {

// Copies what `fd` holds now to stdout. False on a write error (stdout closed).
bool Drain(int fd) {
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(STDOUT_FILENO, buffer + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      off += w;
    }
  }
}

bool Running(rt::TasksClient& tasks, CliContext& context, const std::string& id) {
  rt::GetRequest get;
  get.set_container_id(id);
  auto task = tasks.Get(get, context.Options(10s));
  if (!task.ok()) return task.status().code() == Code::kUnavailable;  // runtime restarting
  return task->process().status() != rt::STOPPED;
}

struct LogFiles {
  std::vector<UniqueFd> fds;  // rotated files oldest first, the current one last
  bool running = false;
};

Result<LogFiles> OpenLogFiles(CliContext& context, const std::string& id) {
  rt::OpenLogRequest request;
  request.set_container_id(id);
  auto reply = context.ClientFor("runtime").Call(rt::TasksService::kServiceName, "OpenLog",
                                                 request.SerializeAsString(), context.Options());
  if (!reply.ok()) return reply.status();
  if (reply->fds.empty()) {
    return Error(Code::kInternal, "berth-runtime sent no log file descriptor");
  }
  rt::OpenLogResponse response;
  response.ParseFromString(reply->payload);
  return LogFiles{std::move(reply->fds), response.running()};
}

bool SameFile(int a, int b) {
  struct stat sa, sb;
  return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

// -f: when berth-shim rotated the log since `current` was opened, prints the rest of `current`
// (the shim no longer writes to it) and every file that came after it, and continues with the
// new current file. False on a write error.
bool FollowRotation(CliContext& context, const std::string& id, UniqueFd& current) {
  auto files = OpenLogFiles(context, id);
  if (!files.ok()) return true;  // berth-runtime restarting: look again on the next round
  std::vector<UniqueFd>& fds = files->fds;
  size_t at = 0;
  while (at < fds.size() && !SameFile(fds[at].get(), current.get())) ++at;
  if (at + 1 == fds.size()) return true;  // still the current file
  if (!Drain(current.get())) return false;
  if (at == fds.size()) {
    std::fprintf(stderr,
                 "berthctl: the log of %s rotated faster than it was read; some output "
                 "was dropped\n",
                 id.c_str());
    at = static_cast<size_t>(-1);  // show every file kept
  }
  for (size_t i = at + 1; i + 1 < fds.size(); ++i) {
    if (!Drain(fds[i].get())) return false;
  }
  current = std::move(fds.back());
  return Drain(current.get());
}

}  // namespace

int ShowLog(CliContext& context, const std::string& id, bool follow) {
  rt::TasksClient tasks(context.ClientFor("runtime"));
  auto files = OpenLogFiles(context, id);
  if (!files.ok()) return context.Fail("runtime", files.status(), "logs " + id);
  for (UniqueFd& fd : files->fds) {
    if (!Drain(fd.get())) return 1;
  }
  if (!follow || !files->running) return 0;
  UniqueFd current = std::move(files->fds.back());
  auto last_check = std::chrono::steady_clock::now();
  while (true) {
    std::this_thread::sleep_for(50ms);
    if (!Drain(current.get())) return 1;
    if (std::chrono::steady_clock::now() - last_check < 250ms) continue;
    last_check = std::chrono::steady_clock::now();
    bool running = Running(tasks, context, id);
    if (!FollowRotation(context, id, current)) return 1;
    if (!running) return Drain(current.get()) ? 0 : 1;
  }
}

namespace {

void AddLogs(CLI::App& app, CliContext& context) {
  auto id = std::make_shared<std::string>();
  auto follow = std::make_shared<bool>(false);
  CLI::App* logs = app.add_subcommand("logs", "show the output of a detached container");
  logs->add_flag("--follow,-f", *follow, "keep printing until the container stops");
  logs->add_option("id", *id, "container id")->required();
  logs->callback(Run(context, [&context, id, follow] { return ShowLog(context, *id, *follow); }));
}

}  // namespace

BERTH_COMMAND_GROUP("logs", AddLogs);

}  // namespace berth::cli
