// berthctl task (alias t): the running side of containers.
//   start [-d] [-i] ID        create and start the task of a container (foreground by default)
//   ls                        tasks: id, pid, status, exit status
//   kill [-s SIG] [-a] [--exec-id E] ID
//   ps ID                     host pids of the container's processes
//   pause ID / resume ID
//   exec [-t] [-i] [-d] --exec-id E ID CMD ARG...   run a process in a running container
//   metrics ID                cgroup statistics (JSON)
//   rm [-f] ID                delete a stopped task (-f: kill it first)
//   attach ID                 follow a task's output and wait for its exit
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>
#include <thread>

#include "berth/metadata/v1/containers.berth.h"
#include "berth/runtime/v1/tasks.berth.h"
#include "cli/command_group.h"
#include "cli/context.h"
#include "cli/run.h"
#include "cli/task_io.h"
#include "containerd/cgroups/stats/v1/metrics.pb.h"
#include "containerd/cgroups/v2/stats/metrics.pb.h"

namespace berth::cli {
namespace task_cmd {
namespace {

namespace rt = berth::runtime::v1;
namespace md = berth::metadata::v1;
using namespace std::chrono_literals;
using json = nlohmann::json;

const char* StatusName(rt::Status s) {
  switch (s) {
    case rt::CREATED:
      return "CREATED";
    case rt::RUNNING:
      return "RUNNING";
    case rt::STOPPED:
      return "STOPPED";
    case rt::PAUSED:
      return "PAUSED";
    case rt::PAUSING:
      return "PAUSING";
    default:
      return "UNKNOWN";
  }
}

Result<json> ContainerSpec(CliContext& context, const std::string& id) {
  md::ContainersClient containers(context.ClientFor("metadata"));
  md::GetContainerRequest get;
  get.set_id(id);
  BERTH_ASSIGN_OR_RETURN(auto found, containers.Get(get, context.Options()));
  json spec = json::parse(found.container().spec().value(), nullptr, false);
  if (!spec.is_object()) return Error(Code::kFailedPrecondition, "container {} has no spec", id);
  return spec;
}

int List(CliContext& context) {
  rt::TasksClient tasks(context.ClientFor("runtime"));
  auto list = tasks.List({}, context.Options());
  if (!list.ok()) return context.Fail("runtime", list.status(), "list tasks");
  std::vector<std::vector<std::string>> rows;
  json out = json::array();
  for (const auto& t : list->tasks()) {
    std::string exit = t.status() == rt::STOPPED ? std::to_string(t.exit_status()) : "";
    rows.push_back({t.container_id(), std::to_string(t.pid()), StatusName(t.status()), exit});
    out.push_back({{"id", t.container_id()},
                   {"pid", t.pid()},
                   {"status", StatusName(t.status())},
                   {"exit_status", t.exit_status()},
                   {"runtime", t.runtime()}});
  }
  context.PrintTable({"TASK", "PID", "STATUS", "EXIT"}, rows, out);
  return 0;
}

Result<uint32_t> ParseSignal(const std::string& text) {
  if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0]))) {
    return static_cast<uint32_t>(std::stoul(text));
  }
  std::string name = text.rfind("SIG", 0) == 0 ? text.substr(3) : text;
  static const std::pair<const char*, int> kSignals[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},    {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2},  {"TERM", SIGTERM}, {"CONT", SIGCONT},
      {"STOP", SIGSTOP}, {"WINCH", SIGWINCH}};
  for (auto [n, s] : kSignals) {
    if (name == n) return static_cast<uint32_t>(s);
  }
  return Error(Code::kInvalidArgument, "unknown signal {:?}", text);
}

// The exec process: the container's process with `args`, `terminal` (env, cwd, user, caps...).
Result<json> ExecProcess(CliContext& context, const std::string& id,
                         const std::vector<std::string>& args, bool terminal) {
  BERTH_ASSIGN_OR_RETURN(json spec, ContainerSpec(context, id));
  json process = spec.value("process", json::object());
  process["args"] = args;
  process["terminal"] = terminal;
  return process;
}

int Exec(CliContext& context, const std::string& id, const std::string& exec_id,
         const std::vector<std::string>& args, bool terminal, bool interactive, bool detach) {
  StartGate gate;
  SignalForwarder forwarder([&](int signo) {
    switch (gate.OnSignal(signo)) {
      case StartGate::Action::kNotStarted:
        if (signo != SIGWINCH) std::_Exit(128 + signo);
        return;
      case StartGate::Action::kHeld:
        return;
      case StartGate::Action::kForward:
        ForwardSignal(context, id, exec_id, signo, terminal);
        return;
    }
  });
  if (args.empty()) return context.Fail("exec: a command is required");
  auto process = ExecProcess(context, id, args, terminal);
  if (!process.ok()) return context.Fail("metadata", process.status(), "exec");
  rt::TasksClient tasks(context.ClientFor("runtime"));
  std::unique_ptr<StdioFifos> fifos;
  rt::ExecProcessRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  request.set_terminal(terminal);
  request.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Process");
  request.mutable_spec()->set_value(process->dump());
  if (!detach) {
    auto made = StdioFifos::Create(context.state, interactive, !terminal);
    if (!made.ok()) return context.Fail("runtime", made.status(), "stdio");
    fifos = std::move(made).value();
    request.set_stdin(fifos->stdin_path());
    request.set_stdout(fifos->stdout_path());
    request.set_stderr(fifos->stderr_path());
  }
  auto added = tasks.Exec(request, context.Options());
  if (!added.ok()) return context.Fail("runtime", added.status(), "exec in " + id);
  std::optional<RawTerminal> raw;
  if (fifos) {
    if (terminal && interactive) raw.emplace(STDIN_FILENO);
    fifos->Start([&context, id, exec_id] {
      rt::TasksClient t(context.ClientFor("runtime"));
      rt::CloseIORequest close;
      close.set_container_id(id);
      close.set_exec_id(exec_id);
      close.set_stdin(true);
      (void)t.CloseIO(close, context.Options(5s));
    });
  }
  rt::StartRequest start;
  start.set_container_id(id);
  start.set_exec_id(exec_id);
  gate.Starting();
  auto begun = tasks.Start(start, context.Options());
  if (!begun.ok()) {
    gate.Failed();
    raw.reset();
    return context.Fail("runtime", begun.status(), "start exec " + exec_id);
  }
  for (int signo : gate.Started()) ForwardSignal(context, id, exec_id, signo, terminal);
  if (terminal) ForwardSignal(context, id, exec_id, SIGWINCH, true);
  if (detach) return 0;
  auto exit = WaitExit(context, id, exec_id);
  fifos->WaitOutput(2s);
  raw.reset();
  rt::DeleteProcessRequest del;
  del.set_container_id(id);
  del.set_exec_id(exec_id);
  (void)tasks.DeleteProcess(del, context.Options());
  if (!exit.ok()) return context.Fail("runtime", exit.status(), "wait for exec " + exec_id);
  return static_cast<int>(exit->exit_status() & 0xff);
}

std::string MetricsJson(const google::protobuf::Any& any) {
  std::unique_ptr<google::protobuf::Message> m;
  if (any.type_url().find("cgroups.v1") != std::string::npos) {
    m = std::make_unique<io::containerd::cgroups::v1::Metrics>();
  } else if (any.type_url().find("cgroups.v2") != std::string::npos) {
    m = std::make_unique<io::containerd::cgroups::v2::Metrics>();
  }
  std::string out;
  if (m && m->ParseFromString(any.value())) {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(*m, &out, options);
  }
  return out.empty() ? json{{"type_url", any.type_url()}, {"bytes", any.value().size()}}.dump()
                     : out;
}

int Attach(CliContext& context, const std::string& id) {
  rt::TasksClient tasks(context.ClientFor("runtime"));
  SignalForwarder forwarder([&](int signo) { ForwardSignal(context, id, "", signo, false); });
  rt::GetRequest get;
  get.set_container_id(id);
  auto task = tasks.Get(get, context.Options());
  if (!task.ok()) return context.Fail("runtime", task.status(), "attach " + id);
  // Detached tasks: follow their log. Foreground ones: their output belongs to their client.
  if (task->process().stdout().rfind("file://", 0) == 0) (void)ShowLog(context, id, true);
  auto exit = WaitExit(context, id);
  if (!exit.ok()) return context.Fail("runtime", exit.status(), "wait for " + id);
  return static_cast<int>(exit->exit_status() & 0xff);
}

template <typename Req, typename Resp>
int Simple(CliContext& context, const std::string& what, const std::string& id,
           Result<Resp> (rt::TasksClient::*method)(const Req&, ipc::CallOptions)) {
  rt::TasksClient tasks(context.ClientFor("runtime"));
  Req request;
  request.set_container_id(id);
  auto done = (tasks.*method)(request, context.Options());
  if (!done.ok()) return context.Fail("runtime", done.status(), what + " " + id);
  return 0;
}

void AddTask(CLI::App& app, CliContext& context) {
  CLI::App* task = app.add_subcommand("task", "manage tasks (running containers)");
  task->alias("t");
  task->alias("tasks");
  task->require_subcommand(1);

  auto id = std::make_shared<std::string>();
  auto start_opts = std::make_shared<TaskStartOptions>();
  CLI::App* start = task->add_subcommand("start", "start the task of a container");
  start->add_flag("--detach,-d", start_opts->detach, "in the background (output: logs)");
  start->add_flag("--interactive,-i", start_opts->interactive, "keep stdin attached");
  start->add_option("id", start_opts->id, "container id")->required();
  start->callback(Run(context, [&context, start_opts] {
    StartGate gate;
    SignalForwarder forwarder([&](int signo) {
      if (gate.OnSignal(signo) == StartGate::Action::kForward) {
        ForwardSignal(context, start_opts->id, "", signo, start_opts->terminal);
      }
    });
    auto spec = ContainerSpec(context, start_opts->id);
    if (!spec.ok()) return context.Fail("metadata", spec.status(), "task start");
    start_opts->terminal = (*spec)["process"].value("terminal", false);
    return StartTask(context, *start_opts, gate);
  }));

  task->add_subcommand("ls", "list tasks")->alias("list")->callback(Run(context, [&context] {
    return List(context);
  }));

  auto signal = std::make_shared<std::string>("SIGTERM");
  auto all = std::make_shared<bool>(false);
  auto exec_id = std::make_shared<std::string>();
  CLI::App* kill = task->add_subcommand("kill", "signal a task");
  kill->add_option("--signal,-s", *signal, "signal name or number")->capture_default_str();
  kill->add_flag("--all,-a", *all, "every process of the container");
  kill->add_option("--exec-id", *exec_id, "an exec process instead of init");
  kill->add_option("id", *id, "container id")->required();
  kill->callback(Run(context, [&context, id, signal, all, exec_id] {
    auto signo = ParseSignal(*signal);
    if (!signo.ok()) return context.Fail(signo.status().message());
    rt::TasksClient tasks(context.ClientFor("runtime"));
    rt::KillRequest request;
    request.set_container_id(*id);
    request.set_exec_id(*exec_id);
    request.set_signal(*signo);
    request.set_all(*all);
    auto done = tasks.Kill(request, context.Options());
    if (!done.ok()) return context.Fail("runtime", done.status(), "kill " + *id);
    return 0;
  }));

  CLI::App* ps = task->add_subcommand("ps", "processes of a task");
  ps->add_option("id", *id, "container id")->required();
  ps->callback(Run(context, [&context, id] {
    rt::TasksClient tasks(context.ClientFor("runtime"));
    rt::ListPidsRequest request;
    request.set_container_id(*id);
    auto pids = tasks.ListPids(request, context.Options());
    if (!pids.ok()) return context.Fail("runtime", pids.status(), "ps " + *id);
    std::vector<std::vector<std::string>> rows;
    json out = json::array();
    for (const auto& p : pids->processes()) {
      rows.push_back({std::to_string(p.pid())});
      out.push_back({{"pid", p.pid()}});
    }
    context.PrintTable({"PID"}, rows, out);
    return 0;
  }));

  CLI::App* pause = task->add_subcommand("pause", "freeze a task");
  pause->add_option("id", *id, "container id")->required();
  pause->callback(Run(
      context, [&context, id] { return Simple(context, "pause", *id, &rt::TasksClient::Pause); }));
  CLI::App* resume = task->add_subcommand("resume", "thaw a paused task");
  resume->add_option("id", *id, "container id")->required();
  resume->callback(Run(context, [&context, id] {
    return Simple(context, "resume", *id, &rt::TasksClient::Resume);
  }));

  auto exec_flags = std::make_shared<std::tuple<bool, bool, bool>>();
  CLI::App* exec = task->add_subcommand("exec", "run a process in a running container");
  exec->add_flag("--tty,-t", std::get<0>(*exec_flags), "allocate a pseudo-terminal");
  exec->add_flag("--interactive,-i", std::get<1>(*exec_flags), "keep stdin attached");
  exec->add_flag("--detach,-d", std::get<2>(*exec_flags), "do not wait");
  exec->add_option("--exec-id", *exec_id, "id of the new process")->required();
  exec->add_option("id", *id, "container id")->required();
  exec->prefix_command();
  exec->callback(Run(context, [&context, id, exec_id, exec_flags, exec] {
    auto [tty, interactive, detach] = *exec_flags;
    return Exec(context, *id, *exec_id, exec->remaining(), tty, interactive, detach);
  }));

  CLI::App* metrics = task->add_subcommand("metrics", "cgroup statistics of a task (JSON)");
  metrics->alias("stats");
  metrics->add_option("id", *id, "container id")->required();
  metrics->callback(Run(context, [&context, id] {
    rt::TasksClient tasks(context.ClientFor("runtime"));
    rt::MetricsRequest request;
    request.add_filters(*id);
    auto m = tasks.Metrics(request, context.Options());
    if (!m.ok()) return context.Fail("runtime", m.status(), "metrics " + *id);
    if (m->metrics().empty()) return context.Fail(fmt::format("no metrics for task {}", *id));
    fmt::print("{}\n", MetricsJson(m->metrics(0).data()));
    return 0;
  }));

  auto force = std::make_shared<bool>(false);
  CLI::App* rm = task->add_subcommand("rm", "delete a stopped task");
  rm->alias("delete");
  rm->add_flag("--force,-f", *force, "kill it first if it runs");
  rm->add_option("id", *id, "container id")->required();
  rm->callback(Run(context, [&context, id, force] {
    rt::TasksClient tasks(context.ClientFor("runtime"));
    if (*force) {
      rt::KillRequest kill;
      kill.set_container_id(*id);
      kill.set_signal(SIGKILL);
      kill.set_all(true);
      if (tasks.Kill(kill, context.Options()).ok()) (void)WaitExit(context, *id);
    }
    rt::DeleteTaskRequest request;
    request.set_container_id(*id);
    auto deleted = tasks.Delete(request, context.Options());
    if (!deleted.ok()) return context.Fail("runtime", deleted.status(), "delete task " + *id);
    if (!context.json()) fmt::print("{}: exit status {}\n", *id, deleted->exit_status());
    return 0;
  }));

  CLI::App* attach = task->add_subcommand("attach", "wait for a task, forwarding signals");
  attach->add_option("id", *id, "container id")->required();
  attach->callback(Run(context, [&context, id] { return Attach(context, *id); }));
}

}  // namespace

BERTH_COMMAND_GROUP("task", AddTask);

}  // namespace task_cmd

}  // namespace berth::cli
