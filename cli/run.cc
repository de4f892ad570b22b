// berthctl run [--rm] [-d] [-t] [-i] [--name NAME] [container flags] IMAGE ID [CMD ARG...]
//   Creates the container (see container_create.h) and its task, then:
//   - foreground: wires stdio (a pty with -t: raw mode, window size forwarded), forwards
//     SIGINT/SIGTERM/SIGHUP/SIGQUIT to the container, waits and exits with its exit code;
//     --rm then deletes the task, the container and its snapshot;
//   - -d: output goes to the task's log file (berthctl logs ID); prints the id and returns.
// berthctl rm [-f] ID...: deletes containers: task (with -f a running one is killed first),
//   record and snapshot.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <thread>

#include "berth/runtime/v1/tasks.berth.h"
#include "cli/command_group.h"
#include "cli/container_create.h"
#include "cli/context.h"
#include "cli/run.h"
#include "cli/task_io.h"

namespace berth::cli {
namespace {

namespace rt = berth::runtime::v1;
using namespace std::chrono_literals;

struct RunFlags {
  ContainerFlags container;
  bool rm = false;
  bool detach = false;
  bool interactive = false;
  std::string name;
};

int Cleanup(CliContext& context, const std::string& id, bool delete_task) {
  if (delete_task) {
    rt::TasksClient tasks(context.ClientFor("runtime"));
    rt::DeleteTaskRequest del;
    del.set_container_id(id);
    auto deleted = tasks.Delete(del, context.Options());
    if (!deleted.ok() && deleted.status().code() != Code::kNotFound) {
      return context.Fail("runtime", deleted.status(), "delete task " + id);
    }
  }
  Status removed = RemoveContainer(context, id);
  if (!removed.ok()) return context.Fail("metadata", removed, "remove container " + id);
  return 0;
}

int RunTaskImpl(CliContext& context, const TaskStartOptions& f, StartGate& gate) {
  const std::string& id = f.id;
  bool terminal = f.terminal;
  rt::TasksClient tasks(context.ClientFor("runtime"));
  std::unique_ptr<StdioFifos> fifos;
  rt::CreateTaskRequest create;
  create.set_container_id(id);
  create.set_terminal(terminal);
  if (f.detach) {
    create.set_log_to_file(true);
  } else {
    auto made = StdioFifos::Create(context.state, f.interactive, !terminal);
    if (!made.ok()) return context.Fail("runtime", made.status(), "stdio");
    fifos = std::move(made).value();
    create.set_stdin(fifos->stdin_path());
    create.set_stdout(fifos->stdout_path());
    create.set_stderr(fifos->stderr_path());
  }
  auto created = tasks.Create(create, context.Options(60s));
  if (!created.ok()) {
    int code = context.Fail("runtime", created.status(), "create task " + id);
    (void)RemoveContainer(context, id);
    return code;
  }
  std::optional<RawTerminal> raw;
  if (fifos) {
    if (terminal && f.interactive) raw.emplace(STDIN_FILENO);
    fifos->Start([&context, id] {
      rt::TasksClient t(context.ClientFor("runtime"));
      rt::CloseIORequest close;
      close.set_container_id(id);
      close.set_stdin(true);
      (void)t.CloseIO(close, context.Options(5s));
    });
    if (terminal) ForwardSignal(context, id, "", SIGWINCH, true);
  }
  rt::StartRequest start;
  start.set_container_id(id);
  gate.Starting();
  auto begun = tasks.Start(start, context.Options(60s));
  if (!begun.ok()) {
    gate.Failed();
    raw.reset();
    int code = context.Fail("runtime", begun.status(), "start task " + id);
    if (f.rm || f.detach) (void)Cleanup(context, id, true);
    return code;
  }
  for (int signo : gate.Started()) ForwardSignal(context, id, "", signo, terminal);
  if (f.detach) {
    fmt::print("{}\n", id);
    return 0;
  }
  auto exit = WaitExit(context, id);
  fifos->WaitOutput(2s);
  raw.reset();
  if (!exit.ok()) return context.Fail("runtime", exit.status(), "wait for task " + id);
  if (f.rm) {
    int code = Cleanup(context, id, true);
    if (code != 0) return code;
  }
  return static_cast<int>(exit->exit_status() & 0xff);
}

int RunContainer(CliContext& context, const RunFlags& f) {
  if (f.rm && f.detach) return context.Fail("--rm and -d cannot be used together");
  StartGate gate;
  // Before any other thread exists: signals are handled by this one thread.
  SignalForwarder forwarder([&](int signo) {
    switch (gate.OnSignal(signo)) {
      case StartGate::Action::kNotStarted:
        if (signo != SIGWINCH) std::_Exit(128 + signo);
        return;
      case StartGate::Action::kHeld:
        return;
      case StartGate::Action::kForward:
        // With a terminal in raw mode ^C reaches the container through the pty instead.
        ForwardSignal(context, f.container.id, "", signo, f.container.terminal);
        return;
    }
  });
  ContainerFlags flags = f.container;
  if (!f.name.empty()) flags.labels.push_back("io.berth/name=" + f.name);
  auto created = CreateContainer(context, flags);
  if (!created.ok()) return context.Fail("metadata", created.status(), "run");
  TaskStartOptions options{f.container.id, f.container.terminal, f.interactive, f.detach, f.rm};
  return StartTask(context, options, gate);
}

int RemoveContainers(CliContext& context, const std::vector<std::string>& ids, bool force) {
  rt::TasksClient tasks(context.ClientFor("runtime"));
  int code = 0;
  for (const auto& id : ids) {
    rt::GetRequest get;
    get.set_container_id(id);
    auto task = tasks.Get(get, context.Options());
    bool has_task = task.ok();
    if (has_task && task->process().status() != rt::STOPPED &&
        task->process().status() != rt::CREATED) {
      if (!force) {
        code = context.Fail(fmt::format("container {} is running: stop it or use rm -f", id));
        continue;
      }
      rt::KillRequest kill;
      kill.set_container_id(id);
      kill.set_signal(SIGKILL);
      kill.set_all(true);
      (void)tasks.Kill(kill, context.Options());
      (void)WaitExit(context, id);
    }
    int rc = Cleanup(context, id, has_task);
    if (rc != 0) code = rc;
  }
  return code;
}

void AddRun(CLI::App& app, CliContext& context) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* run = app.add_subcommand("run", "create and start a container");
  run->add_flag("--rm", flags->rm, "delete the container when it exits");
  run->add_flag("--detach,-d", flags->detach, "run in the background (output: berthctl logs)");
  run->add_flag("--tty,-t", flags->container.terminal, "allocate a pseudo-terminal");
  run->add_flag("--interactive,-i", flags->interactive, "keep stdin attached");
  run->add_option("--name", flags->name, "a name for the container (label io.berth/name)");
  flags->container.Add(run);
  run->callback(Run(context, [&context, flags, run] {
    flags->container.args = run->remaining();
    return RunContainer(context, *flags);
  }));

  auto ids = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  CLI::App* rm = app.add_subcommand("rm", "delete containers with their task and snapshot");
  rm->add_flag("--force,-f", *force, "kill a running task first");
  rm->add_option("ids", *ids, "container ids")->required();
  rm->callback(
      Run(context, [&context, ids, force] { return RemoveContainers(context, *ids, *force); }));
}

}  // namespace

Result<rt::WaitResponse> WaitExit(CliContext& context, const std::string& id,
                                  const std::string& exec_id) {
  rt::TasksClient tasks(context.ClientFor("runtime"));
  rt::WaitRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  while (true) {
    ipc::CallOptions options = context.Options(0ms);
    options.timeout = 0ms;
    auto exit = tasks.Wait(request, std::move(options));
    if (exit.ok() || exit.status().code() != Code::kUnavailable) return exit;
    std::this_thread::sleep_for(200ms);
  }
}

void ForwardSignal(CliContext& context, const std::string& id, const std::string& exec_id,
                   int signo, bool terminal) {
  rt::TasksClient tasks(context.ClientFor("runtime"));
  if (signo == SIGWINCH) {
    if (!terminal) return;
    auto size = TerminalSize(STDIN_FILENO);
    if (!size) return;
    rt::ResizePtyRequest resize;
    resize.set_container_id(id);
    resize.set_exec_id(exec_id);
    resize.set_width(size->first);
    resize.set_height(size->second);
    (void)tasks.ResizePty(resize, context.Options(5s));
    return;
  }
  rt::KillRequest kill;
  kill.set_container_id(id);
  kill.set_exec_id(exec_id);
  kill.set_signal(static_cast<uint32_t>(signo));
  (void)tasks.Kill(kill, context.Options(5s));
}

int StartTask(CliContext& context, const TaskStartOptions& options, StartGate& gate) {
  return RunTaskImpl(context, options, gate);
}

BERTH_COMMAND_GROUP("run", AddRun);

}  // namespace berth::cli
