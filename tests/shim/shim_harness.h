#pragma once
// Test helpers for berth-shim: running commands, a recorder for the events a shim publishes, a
// busybox bundle, and DirectShim — one berth-shim driven over ttrpc without containerd, with
// real runc, in a private temp dir (runc root, sockets and rootfs all inside it).

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/process.h"
#include "common/status.h"
#include "common/temp_dir.h"
#include "containerd/events/task.pb.h"
#include "containerd/runtime/v2/task/shim.berth.h"
#include "containerd/services/ttrpc/events/v1/events.berth.h"
#include "ipc/client.h"
#include "ipc/event_loop.h"
#include "ipc/server.h"

namespace berth::shim::testing {

std::string BuildDir();    // $BERTH_BUILD_DIR
std::string SourceDir();   // $BERTH_SOURCE_DIR
std::string ShimBinary();  // <build>/shim/berth-shim

struct CommandOutput {
  int exit_code = -1;  // 128+signal when killed; -1 when it could not run or timed out
  std::string output;  // stdout and stderr together
};
// Runs argv to completion (killed after `timeout`). `env` entries are added to the environment.
CommandOutput RunCmd(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                     const std::string& cwd = "",
                     std::chrono::seconds timeout = std::chrono::seconds(60));

// A file's contents, or "" when it cannot be read.
std::string ReadText(const std::string& path);

// Polls `condition` every 10 ms until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Resident memory (VmRSS, KiB) and open fd count of a process; -1 when it is gone.
long RssKiB(pid_t pid);
long RssAnonKiB(pid_t pid);  // RssAnon: the shim's private memory
int FdCount(pid_t pid);
bool ProcessAlive(pid_t pid);  // exists and is not a zombie

// Serves containerd.services.events.ttrpc.v1.Events on `socket` and keeps what arrives.
class EventRecorder : public containerd::services::events::ttrpc::v1::EventsService {
 public:
  struct Event {
    std::string ns;
    std::string topic;
    std::string type_url;
    std::string value;
  };
  explicit EventRecorder(const std::string& socket);
  ~EventRecorder() override;

  void Forward(const containerd::services::events::ttrpc::v1::ForwardRequest& request,
               ipc::Reply<google::protobuf::Empty> reply) override;
  std::vector<Event> events() const;
  std::vector<std::string> topics() const;
  // Waits until `count` events with `topic` arrived.
  bool WaitForTopic(const std::string& topic, size_t count = 1,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  ipc::EventLoop loop_;
  std::unique_ptr<ipc::Server> server_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<Event> events_;
};

// Removes the (empty) cgroup `relative` ("/ns") from every hierarchy (v1 controllers and v2);
// containerd leaves its namespace cgroups behind. Busy or missing ones are left alone.
void RemoveCgroup(const std::string& relative);

// A busybox userland (static busybox + applet links) under `rootfs`.
Status MakeBusyboxRootfs(const std::string& rootfs);
// `runc spec` adjusted: args, terminal, writable root, cgroupsPath "/<id>" (removed with the
// container, so nothing stays behind).
// `patch` may edit the JSON further before it is written.
Status WriteSpec(const std::string& bundle, const std::string& id,
                 const std::vector<std::string>& args, bool terminal,
                 const std::function<void(nlohmann::json&)>& patch = {});

// crun refuses a hybrid cgroup host on which any controller sits on the unified (v2) hierarchy
// ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"), as hugetlb does
// on this machine. While a CrunCgroups lives, those controllers are bound to a v1 hierarchy
// instead (`mount -t cgroup -o hugetlb cgroup DIR`), mounted by a helper process in a private
// mount namespace of its own so no other process sees the mount. Killing the helper (destructor,
// or the test process dying: parent-death signal) drops its namespace and the mount with it, and
// the kernel hands the controllers back to v2.
class CrunCgroups {
 public:
  // `dir` (created) is the mount point inside the helper's namespace. On a host whose v2
  // hierarchy has no controllers nothing is started.
  static Result<std::unique_ptr<CrunCgroups>> Bind(const std::string& dir);
  ~CrunCgroups();  // kills the helper; waits (up to 10 s) for the controllers to return to v2
  // The controllers moved off v2 ("hugetlb").
  const std::vector<std::string>& controllers() const { return controllers_; }

 private:
  CrunCgroups() = default;
  ChildProcess holder_;
  std::vector<std::string> controllers_;
};
// The controllers on the unified hierarchy of a hybrid host (/sys/fs/cgroup/unified).
std::vector<std::string> UnifiedControllers();

// berthd alone (no services) on a temp root and state: the events exchange that shims can
// publish to instead of containerd. Killed and reaped on destruction.
class BerthdProcess {
 public:
  static Result<std::unique_ptr<BerthdProcess>> Start(const std::string& dir);
  ~BerthdProcess();
  std::string socket() const { return state_ + "/berthd.sock"; }
  // `berthctl events --since 0 --filter namespace==NS` lines once there are `count` of them
  // (or after 10 s): "SEQ TIME NS TOPIC EVENT-JSON".
  std::vector<std::string> EventLines(const std::string& ns, size_t count) const;

 private:
  BerthdProcess() = default;
  std::string state_;
  ChildProcess berthd_;
};

// One shim started with `berth-shim start` for container `id`, serving on dir/shim.sock and
// publishing to an EventRecorder on dir/events.sock (or to `events_socket` when given).
class DirectShim {
 public:
  // Makes the temp dir, the bundle (spec for `args`) and the rootfs source, and starts the shim.
  // `start` runs with stdout and stderr on pipes, as containerd runs it: it must return and
  // leave no process holding them.
  static std::unique_ptr<DirectShim> Start(const std::vector<std::string>& args,
                                           bool terminal = false,
                                           const std::function<void(nlohmann::json&)>& patch = {},
                                           const std::string& events_socket = "");
  ~DirectShim();  // kills the shim and the container, unmounts, removes everything

  containerd::task::v2::TaskClient& task() { return *task_; }
  ipc::CallOptions opts() const;  // namespace set
  EventRecorder& recorder() { return *recorder_; }
  // Takes the EventRecorder away (the exchange is down) and brings a fresh one back on the same
  // socket.
  void StopRecorder() { recorder_.reset(); }
  void RestartRecorder();
  const std::string& dir() const { return dir_.path(); }
  const std::string& id() const { return id_; }
  const std::string& ns() const { return ns_; }
  const std::string& bundle() const { return bundle_; }
  const std::string& socket() const { return socket_; }
  const std::string& runc_root() const { return runc_root_; }
  pid_t shim_pid() const { return shim_pid_; }
  // The argv prefix of this shim's command line (flags before the action).
  std::vector<std::string> ShimArgs() const;

  // A CreateTaskRequest with the bind-mounted rootfs and runc options (root in the temp dir).
  containerd::task::v2::CreateTaskRequest CreateRequest() const;
  // Create + Start; returns the init pid (0 and a test failure when either fails).
  pid_t CreateAndStart(const std::string& out_uri = "", const std::string& in_uri = "");
  // An exec request running `args` with the spec's process as template.
  containerd::task::v2::ExecProcessRequest ExecRequest(const std::string& exec_id,
                                                       const std::vector<std::string>& args) const;
  // Ends the init: Kill with `signal` (unless 0), Wait, Delete. Returns Wait's exit status (-1
  // and a test failure when a call fails).
  int FinishInit(int signal = 0);
  // Exec + Start + Wait + Delete; returns the exit status (-1 on any failure).
  int RunExec(const std::string& exec_id, const std::vector<std::string>& args,
              const std::string& out_uri = "");

 private:
  DirectShim(TempDir dir) : dir_(std::move(dir)) {}
  void Cleanup();

  TempDir dir_;
  std::string id_;
  std::string ns_;
  std::string bundle_;
  std::string socket_;
  std::string runc_root_;
  std::unique_ptr<EventRecorder> recorder_;
  std::unique_ptr<ipc::Client> client_;
  std::unique_ptr<containerd::task::v2::TaskClient> task_;
  pid_t shim_pid_ = 0;
};

}  // namespace berth::shim::testing
