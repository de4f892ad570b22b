#pragma once
// OciRuntime: drives an OCI runtime (runc by default, crun) by its command line, asynchronously:
// every call spawns the runtime as a child of the shim, watched by the Reaper, and reports on the
// loop thread when it exited. Global flags precede the command:
//   <binary> --root ROOT --log BUNDLE/log.json --log-format json [--systemd-cgroup] CMD ...
//
// Errors: a runtime that fails gives UNKNOWN "<runtime> <cmd> failed: <last error logged in
// log.json by this call, else its output, else its exit status>"; "container does not exist" /
// "not running" style failures of kill give NOT_FOUND. Spawn failures keep their codes.
// Loop-thread object. It may be destroyed while calls are in flight: their callbacks still run.

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "shim/command.h"
#include "shim/reaper.h"

namespace berth::shim {

struct RuntimeConfig {
  std::string binary = "runc";  // an absolute path once Resolve()d
  std::string root;             // --root; empty: the runtime's default
  std::string log_path;         // --log (JSON); empty: none
  bool systemd_cgroup = false;
  bool no_pivot_root = false;
  bool no_new_keyring = false;

  // Makes `binary` absolute by looking it up in PATH (the runtime is exec'd by path, never
  // looked up again). NOT_FOUND naming the binary and PATH when missing.
  Status Resolve();
  // The flags every invocation starts with (binary first).
  std::vector<std::string> GlobalArgs() const;
};

// stdio for a process the runtime creates; -1 = /dev/null.
struct RuntimeStdio {
  int in = -1;
  int out = -1;
  int err = -1;
};

class OciRuntime {
 public:
  using Done = std::function<void(Status)>;
  using PidsDone = std::function<void(Result<std::vector<pid_t>>)>;

  OciRuntime(uv_loop_t* loop, Reaper& reaper, RuntimeConfig config)
      : loop_(loop), reaper_(reaper), config_(std::move(config)) {}

  const RuntimeConfig& config() const { return config_; }

  // create --bundle B --pid-file P [--console-socket S] [--no-pivot] [--no-new-keyring] ID
  void Create(const std::string& id, const std::string& bundle, const std::string& pid_file,
              const std::string& console_socket, RuntimeStdio stdio, Done done);
  void Start(const std::string& id, Done done);
  // exec --process F --detach --pid-file P [--console-socket S] ID
  void Exec(const std::string& id, const std::string& process_file, const std::string& pid_file,
            const std::string& console_socket, RuntimeStdio stdio, Done done);
  void Kill(const std::string& id, int signal, bool all, Done done);
  // delete [--force] ID; a container the runtime does not know is not an error.
  void Delete(const std::string& id, bool force, Done done);
  void Pause(const std::string& id, Done done);
  void Resume(const std::string& id, Done done);
  // ps --format json ID
  void Ps(const std::string& id, PidsDone done);
  // update --resources - ID, with `resources_json` (OCI LinuxResources) on stdin
  void Update(const std::string& id, const std::string& resources_json, Done done);

 private:
  void Run(std::string what, std::vector<std::string> args, RuntimeStdio* stdio,
           std::string stdin_data, std::function<void(Status, std::string output)> done);

  uv_loop_t* loop_;
  Reaper& reaper_;
  RuntimeConfig config_;
};

// The last "error"-level message a runtime wrote to its JSON log at or after `offset`
// (each line {"level":"error","msg":"...","time":"..."}); empty when there is none.
std::string LastLoggedError(const std::string& log_path, off_t offset);
// UNKNOWN "<what> failed: <detail>" for a runtime call that exited non-zero.
Status RuntimeFailure(const std::string& what, const CommandResult& result,
                      const std::string& log_path, off_t log_offset);
// Parses `ps --format json` output: a JSON array of pids.
Result<std::vector<pid_t>> ParsePsOutput(const std::string& json);

}  // namespace berth::shim
