#pragma once
// Daemon: berthd as a whole. Creates <root> and <state> (0711), opens the event log under
// <root>/events, serves berth.supervisor.v1.Supervisor, berth.events.v1.Events and
// containerd.services.events.ttrpc.v1.Events on <state>/berthd.sock, starts (or adopts) the
// configured services, and tells systemd READY=1 once they are all up.
//
// SIGTERM/SIGINT: the services are stopped in reverse order, pending events are committed, the
// socket is removed and Run() returns 0. A berthd killed outright leaves its services running;
// the next berthd adopts them (see managed_service.h).

#include <memory>
#include <string>

#include "common/config.h"
#include "common/status.h"

namespace berth::supervisor {

// Command-line values; empty ones leave the config's value.
struct DaemonFlags {
  std::string config_path;  // empty: /etc/berth/config.toml when it exists, else defaults
  std::string root;
  std::string state;
  std::string log_level;
  std::string mode;  // "embedded", "systemd" or empty (the config's services.spawn)
};

// Loads the config file and lays the flags over it. Errors: the config's (INVALID_ARGUMENT with
// file:line:column, NOT_FOUND for a missing explicit file), or a relative --root/--state or an
// unknown --log-level or --mode (INVALID_ARGUMENT).
Result<Config> ResolveConfig(const DaemonFlags& flags);

class Daemon {
 public:
  explicit Daemon(Config config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Runs until SIGTERM/SIGINT. Returns the process exit code (1 when it cannot start, with the
  // reason logged).
  int Run();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace berth::supervisor
