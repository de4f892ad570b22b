// berthctl logs [-f] ID: the output of a container started detached (run -d, task start -d).
// berth-runtime hands over a read-only fd of the task's log file; with -f the command keeps
// reading until the task stopped.
#include <poll.h>
#include <unistd.h>

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

}  // namespace

int ShowLog(CliContext& context, const std::string& id, bool follow) {
  rt::TasksClient tasks(context.ClientFor("runtime"));
  rt::OpenLogRequest request;
  request.set_container_id(id);
  auto stream = context.ClientFor("runtime").Call(rt::TasksService::kServiceName, "OpenLog",
                                                  request.SerializeAsString(), context.Options());
  if (!stream.ok()) return context.Fail("runtime", stream.status(), "logs " + id);
  if (stream->fds.empty()) return context.Fail("berth-runtime sent no log file descriptor");
  UniqueFd fd = std::move(stream->fds[0]);
  rt::OpenLogResponse response;
  response.ParseFromString(stream->payload);
  if (!Drain(fd.get())) return 1;
  if (!follow || !response.running()) return 0;
  auto last_check = std::chrono::steady_clock::now();
  while (true) {
    std::this_thread::sleep_for(50ms);
    if (!Drain(fd.get())) return 1;
    if (std::chrono::steady_clock::now() - last_check < 250ms) continue;
    last_check = std::chrono::steady_clock::now();
    if (!Running(tasks, context, id)) return Drain(fd.get()) ? 0 : 1;
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
