#include "tests/shim/shim_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>

#include "common/fs.h"
#include "common/process.h"
#include "containerd/runc/options/oci.pb.h"
#include "ipc/unix_socket.h"
#include "shim/mounts.h"

namespace berth::shim::testing {
namespace {

namespace task = containerd::task::v2;
namespace ev = containerd::services::events::ttrpc::v1;

const char* const kApplets[] = {"sh", "cat",  "ls",  "echo",   "true", "false",   "sleep",
                                "dd", "head", "yes", "stty",   "tty",  "wc",      "env",
                                "id", "kill", "ps",  "printf", "test", "readlink"};

std::atomic<int> counter{0};

}  // namespace

std::string BuildDir() {
  const char* dir = std::getenv("BERTH_BUILD_DIR");
  return dir ? dir : ".";
}

std::string SourceDir() {
  const char* dir = std::getenv("BERTH_SOURCE_DIR");
  return dir ? dir : BERTH_SHIM_TEST_SOURCE_DIR;  // ctest may not pass it (list-valued env)
}

std::string ShimBinary() { return BuildDir() + "/shim/berth-shim"; }

CommandOutput RunCmd(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                     const std::string& cwd, std::chrono::seconds timeout) {
  CommandOutput result;
  UniqueFd out(::open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!out) return result;
  SpawnOptions options;
  options.argv = argv;
  if (!env.empty()) {
    std::vector<std::string> merged;
    for (char** e = environ; *e != nullptr; ++e) merged.emplace_back(*e);
    merged.insert(merged.end(), env.begin(), env.end());
    options.env = merged;
  }
  options.stdin_fd = SpawnOptions::kDevNull;
  options.stdout_fd = out.get();
  options.stderr_fd = out.get();
  options.cwd = cwd;
  auto child = ChildProcess::Spawn(options);
  if (!child.ok()) {
    result.output = child.status().ToString();
    return result;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto status = child->TryWait();
    if (!status.ok()) break;
    if (status->has_value()) {
      result.exit_code = (*status)->ShellCode();
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      (void)child->Kill(SIGKILL);
      (void)child->Wait();
      result.output = "timed out: ";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::lseek(out.get(), 0, SEEK_SET);
  auto text = ReadAll(out.get(), "output");
  if (text.ok()) result.output += *text;
  return result;
}

std::string ReadText(const std::string& path) {
  auto text = ReadFile(path);
  return text.ok() ? *text : std::string();
}

bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

namespace {
long StatusField(pid_t pid, const std::string& field) {
  auto status = ReadFile("/proc/" + std::to_string(pid) + "/status");
  if (!status.ok()) return -1;
  size_t pos = status->find(field + ":");
  if (pos == std::string::npos) return -1;
  return std::strtol(status->c_str() + pos + field.size() + 1, nullptr, 10);
}
}  // namespace

long RssKiB(pid_t pid) { return StatusField(pid, "VmRSS"); }
long RssAnonKiB(pid_t pid) { return StatusField(pid, "RssAnon"); }

int FdCount(pid_t pid) {
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (d == nullptr) return -1;
  int count = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++count;
  }
  ::closedir(d);
  return count;
}

bool ProcessAlive(pid_t pid) {
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return false;
  size_t paren = stat->rfind(')');
  return paren != std::string::npos && paren + 2 < stat->size() && (*stat)[paren + 2] != 'Z';
}

EventRecorder::EventRecorder(const std::string& socket) {
  server_ = std::make_unique<ipc::Server>(loop_);
  RegisterWith(*server_);
  Status s = server_->Listen(socket);
  EXPECT_TRUE(s.ok()) << s.ToString();
  loop_.StartThread();
}

EventRecorder::~EventRecorder() {
  std::promise<void> closed;
  loop_.Post([&] {
    server_->Close();
    closed.set_value();
  });
  closed.get_future().wait();
  loop_.Stop();
}

void EventRecorder::Forward(const ev::ForwardRequest& request,
                            ipc::Reply<google::protobuf::Empty> reply) {
  {
    std::lock_guard lock(mutex_);
    const auto& e = request.envelope();
    events_.push_back({e.namespace_(), e.topic(), e.event().type_url(), e.event().value()});
  }
  changed_.notify_all();
  reply.Ok(google::protobuf::Empty());
}

std::vector<EventRecorder::Event> EventRecorder::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

std::vector<std::string> EventRecorder::topics() const {
  std::vector<std::string> out;
  for (const auto& e : events()) out.push_back(e.topic);
  return out;
}

bool EventRecorder::WaitForTopic(const std::string& topic, size_t count,
                                 std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    size_t n = 0;
    for (const auto& e : events_) n += e.topic == topic;
    return n >= count;
  });
}

void RemoveCgroup(const std::string& relative) {
  glob_t found{};
  if (::glob("/sys/fs/cgroup/*", GLOB_ONLYDIR, nullptr, &found) == 0) {
    for (size_t i = 0; i < found.gl_pathc; ++i) {
      ::rmdir((std::string(found.gl_pathv[i]) + relative).c_str());
    }
  }
  ::globfree(&found);
  ::rmdir(("/sys/fs/cgroup" + relative).c_str());  // unified hierarchy
}

Status MakeBusyboxRootfs(const std::string& rootfs) {
  for (const char* sub : {"bin", "proc", "sys", "dev", "tmp", "etc", "root"}) {
    BERTH_RETURN_IF_ERROR(MakeDirs(rootfs + "/" + sub, 0755));
  }
  BERTH_ASSIGN_OR_RETURN(std::string busybox, ReadFile("/bin/busybox"));
  BERTH_RETURN_IF_ERROR(WriteFileAtomic(rootfs + "/bin/busybox", busybox, 0755));
  for (const char* applet : kApplets) {
    std::string link = rootfs + "/bin/" + applet;
    if (::symlink("busybox", link.c_str()) != 0) return ErrnoStatus(errno, "symlink " + link);
  }
  return WriteFileAtomic(rootfs + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0644);
}

Status WriteSpec(const std::string& bundle, const std::string& id,
                 const std::vector<std::string>& args, bool terminal,
                 const std::function<void(nlohmann::json&)>& patch) {
  ::unlink((bundle + "/config.json").c_str());
  auto generated = RunCmd({"runc", "spec", "--bundle", bundle});
  if (generated.exit_code != 0) {
    return Error(Code::kInternal, "runc spec failed: {}", generated.output);
  }
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(bundle + "/config.json"));
  auto spec = nlohmann::json::parse(text);
  spec["process"]["args"] = args;
  spec["process"]["terminal"] = terminal;
  spec["root"]["readonly"] = false;
  spec["hostname"] = id;
  spec["linux"]["cgroupsPath"] = "/" + id;
  if (patch) patch(spec);
  return WriteFileAtomic(bundle + "/config.json", spec.dump(2), 0644);
}

std::unique_ptr<DirectShim> DirectShim::Start(const std::vector<std::string>& args, bool terminal,
                                              const std::function<void(nlohmann::json&)>& patch,
                                              const std::string& events_socket) {
  auto dir = TempDir::Create("b");
  if (!dir.ok()) {
    ADD_FAILURE() << dir.status().ToString();
    return nullptr;
  }
  std::unique_ptr<DirectShim> shim(new DirectShim(std::move(dir).value()));
  shim->id_ = "bst" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  shim->ns_ = "berth-shim-test";
  shim->bundle_ = shim->dir() + "/bundle";
  shim->socket_ = shim->dir() + "/s/shim.sock";
  shim->runc_root_ = shim->dir() + "/runc";
  Status s = MakeDirs(shim->bundle_ + "/rootfs", 0755);
  if (s.ok()) s = MakeBusyboxRootfs(shim->dir() + "/rootfs-src");
  if (s.ok()) s = WriteSpec(shim->bundle_, shim->id_, args, terminal, patch);
  if (!s.ok()) {
    ADD_FAILURE() << s.ToString();
    return nullptr;
  }
  std::string events = events_socket;
  if (events.empty()) {
    events = shim->dir() + "/events.sock";
    shim->recorder_ = std::make_unique<EventRecorder>(events);
  }
  SpawnOptions start;
  start.argv = shim->ShimArgs();
  start.argv.push_back("start");
  start.env.emplace();
  for (char** e = environ; *e != nullptr; ++e) start.env->emplace_back(*e);
  start.env->push_back("TTRPC_ADDRESS=" + events);
  start.cwd = shim->bundle_;
  // Pipes, read to EOF: a daemon that kept them would make this time out.
  auto started = RunCapture(start, {}, std::chrono::seconds(20));
  if (!started.ok() || *started != "unix://" + shim->socket_) {
    ADD_FAILURE() << "berth-shim start: "
                  << (started.ok() ? "printed " + *started : started.status().ToString());
    return nullptr;
  }
  shim->client_ = std::make_unique<ipc::Client>(shim->socket_);
  shim->task_ = std::make_unique<task::TaskClient>(*shim->client_);
  task::ConnectRequest connect;
  connect.set_id(shim->id_);
  auto connected = shim->task_->Connect(connect, shim->opts());
  if (!connected.ok()) {
    ADD_FAILURE() << "connect: " << connected.status().ToString();
    return nullptr;
  }
  shim->shim_pid_ = static_cast<pid_t>(connected->shim_pid());
  return shim;
}

std::vector<std::string> DirectShim::ShimArgs() const {
  return {ShimBinary(),
          "-namespace",
          ns_,
          "-id",
          id_,
          "-address",
          dir() + "/containerd.sock",
          "-publish-binary",
          "/bin/true",
          "-socket",
          socket_};
}

ipc::CallOptions DirectShim::opts() const {
  ipc::CallOptions options;
  options.ns = ns_;
  options.timeout = std::chrono::seconds(30);
  return options;
}

DirectShim::~DirectShim() { Cleanup(); }

void DirectShim::RestartRecorder() {
  recorder_.reset();
  recorder_ = std::make_unique<EventRecorder>(dir() + "/events.sock");
}

void DirectShim::Cleanup() {
  task_.reset();
  client_.reset();
  if (shim_pid_ > 0 && ProcessAlive(shim_pid_)) {
    ::kill(shim_pid_, SIGKILL);
    Eventually([&] { return !ProcessAlive(shim_pid_); }, std::chrono::seconds(5));
  }
  RunCmd({"runc", "--root", runc_root_, "delete", "--force", id_});
  (void)UnmountAll(bundle_ + "/rootfs");
  recorder_.reset();
}

task::CreateTaskRequest DirectShim::CreateRequest() const {
  task::CreateTaskRequest request;
  request.set_id(id_);
  request.set_bundle(bundle_);
  auto* mount = request.add_rootfs();
  mount->set_type("bind");
  mount->set_source(dir() + "/rootfs-src");
  mount->add_options("rbind");
  mount->add_options("rw");
  containerd::runc::v1::Options options;
  options.set_root(runc_root_);
  request.mutable_options()->set_type_url("containerd.runc.v1.Options");
  options.SerializeToString(request.mutable_options()->mutable_value());
  return request;
}

pid_t DirectShim::CreateAndStart(const std::string& out_uri, const std::string& in_uri) {
  auto request = CreateRequest();
  request.set_stdout(out_uri);
  request.set_stderr(out_uri);
  request.set_stdin(in_uri);
  auto created = task_->Create(request, opts());
  EXPECT_TRUE(created.ok()) << created.status().ToString();
  if (!created.ok()) return 0;
  task::StartRequest start;
  start.set_id(id_);
  auto started = task_->Start(start, opts());
  EXPECT_TRUE(started.ok()) << started.status().ToString();
  if (!started.ok()) return 0;
  EXPECT_EQ(started->pid(), created->pid());
  return static_cast<pid_t>(started->pid());
}

task::ExecProcessRequest DirectShim::ExecRequest(const std::string& exec_id,
                                                 const std::vector<std::string>& args) const {
  auto spec = nlohmann::json::parse(ReadFile(bundle_ + "/config.json").value());
  auto process = spec["process"];
  process["args"] = args;
  process["terminal"] = false;
  task::ExecProcessRequest request;
  request.set_id(id_);
  request.set_exec_id(exec_id);
  request.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Process");
  request.mutable_spec()->set_value(process.dump());
  return request;
}

int DirectShim::FinishInit(int signal) {
  if (signal != 0) {
    task::KillRequest kill;
    kill.set_id(id_);
    kill.set_signal(static_cast<uint32_t>(signal));
    auto killed = task_->Kill(kill, opts());
    EXPECT_TRUE(killed.ok()) << "kill: " << killed.status().ToString();
    if (!killed.ok()) return -1;
  }
  task::WaitRequest wait;
  wait.set_id(id_);
  auto waited = task_->Wait(wait, opts());
  EXPECT_TRUE(waited.ok()) << "wait: " << waited.status().ToString();
  task::DeleteRequest del;
  del.set_id(id_);
  auto deleted = task_->Delete(del, opts());
  EXPECT_TRUE(deleted.ok()) << "delete: " << deleted.status().ToString();
  if (!waited.ok() || !deleted.ok()) return -1;
  return static_cast<int>(waited->exit_status());
}

int DirectShim::RunExec(const std::string& exec_id, const std::vector<std::string>& args,
                        const std::string& out_uri) {
  auto request = ExecRequest(exec_id, args);
  request.set_stdout(out_uri);
  request.set_stderr(out_uri);
  if (!task_->Exec(request, opts()).ok()) return -1;
  task::StartRequest start;
  start.set_id(id_);
  start.set_exec_id(exec_id);
  if (!task_->Start(start, opts()).ok()) return -1;
  task::WaitRequest wait;
  wait.set_id(id_);
  wait.set_exec_id(exec_id);
  auto waited = task_->Wait(wait, opts());
  if (!waited.ok()) return -1;
  task::DeleteRequest del;
  del.set_id(id_);
  del.set_exec_id(exec_id);
  if (!task_->Delete(del, opts()).ok()) return -1;
  return static_cast<int>(waited->exit_status());
}

}  // namespace berth::shim::testing

namespace berth::shim::testing {

std::vector<std::string> UnifiedControllers() {
  std::vector<std::string> controllers;
  std::istringstream words(ReadText("/sys/fs/cgroup/unified/cgroup.controllers"));
  for (std::string c; words >> c;) controllers.push_back(c);
  return controllers;
}

Result<std::unique_ptr<CrunCgroups>> CrunCgroups::Bind(const std::string& dir) {
  std::unique_ptr<CrunCgroups> bound(new CrunCgroups());
  bound->controllers_ = UnifiedControllers();
  if (bound->controllers_.empty()) return bound;
  BERTH_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  std::string list;
  for (const auto& c : bound->controllers_) list += (list.empty() ? "" : ",") + c;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  SpawnOptions options;
  // Mounted in a mount namespace of its own: nobody else sees it, and it ends with the helper.
  const char* script = "mount -t cgroup -o \"$1\" cgroup \"$2\" && echo ready && exec sleep 100000";
  options.argv = {"unshare", "--mount", "--propagation=private", "sh", "-c", script, "sh",
                  list,      dir};
  options.stdin_fd = SpawnOptions::kDevNull;
  options.stdout_fd = options.stderr_fd = write_end.get();
  options.parent_death_signal = SIGKILL;
  BERTH_ASSIGN_OR_RETURN(bound->holder_, ChildProcess::Spawn(options));
  write_end.reset();
  std::string said;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (said.find("ready\n") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{read_end.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    ssize_t n = ::read(read_end.get(), buf, sizeof(buf));
    if (n <= 0) break;
    said.append(buf, static_cast<size_t>(n));
  }
  if (said != "ready\n") {
    return Error(Code::kInternal, "binding {} to a v1 hierarchy failed: {}", list, said);
  }
  return bound;
}

CrunCgroups::~CrunCgroups() {
  if (holder_.pid() <= 0) return;
  (void)holder_.Kill(SIGKILL);
  (void)holder_.Wait();
  // Another test's helper may still hold the same hierarchy: then the controllers come back
  // when that one ends.
  bool back =
      Eventually([&] { return UnifiedControllers() == controllers_; }, std::chrono::seconds(10));
  if (!back) std::fprintf(stderr, "note: cgroup controllers not back on v2 yet\n");
}

Result<std::unique_ptr<BerthdProcess>> BerthdProcess::Start(const std::string& dir) {
  std::unique_ptr<BerthdProcess> berthd(new BerthdProcess());
  std::string root = dir + "/berthd-root";
  berthd->state_ = dir + "/berthd-state";
  std::string config = dir + "/berthd.toml";
  BERTH_RETURN_IF_ERROR(WriteFileAtomic(
      config, fmt::format("root = \"{}\"\nstate = \"{}\"\n[services]\nspawn = false\nnames = []\n",
                          root, berthd->state_)));
  SpawnOptions options;
  options.argv = {BuildDir() + "/supervisor/berthd",
                  "--config",
                  config,
                  "--root",
                  root,
                  "--state",
                  berthd->state_};
  options.stdin_fd = SpawnOptions::kDevNull;
  BERTH_ASSIGN_OR_RETURN(berthd->berthd_, ChildProcess::Spawn(options));
  std::string socket = berthd->socket();
  if (!Eventually([&] { return ipc::ConnectUnix(socket).ok(); })) {
    return Error(Code::kDeadlineExceeded, "berthd did not listen on {}", socket);
  }
  return berthd;
}

BerthdProcess::~BerthdProcess() {
  if (berthd_.pid() > 0 && !berthd_.exit_status()) (void)berthd_.Kill(SIGTERM);
  (void)berthd_.Wait();
}

std::vector<std::string> BerthdProcess::EventLines(const std::string& ns, size_t count) const {
  std::string path = state_ + "-events.txt";
  UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  SpawnOptions options;
  options.argv = {BuildDir() + "/cli/berthctl",
                  "--state",
                  state_,
                  "events",
                  "--since",
                  "0",
                  "--filter",
                  "namespace==" + ns};
  options.stdin_fd = SpawnOptions::kDevNull;
  options.stdout_fd = out.get();
  auto ctl = ChildProcess::Spawn(options);
  EXPECT_TRUE(ctl.ok()) << ctl.status().ToString();
  std::vector<std::string> lines;
  Eventually([&] {
    lines.clear();
    std::istringstream text(ReadText(path));
    for (std::string line; std::getline(text, line);) lines.push_back(line);
    return lines.size() >= count;
  });
  ::unlink(path.c_str());
  return lines;  // ~ChildProcess kills berthctl
}

}  // namespace berth::shim::testing
