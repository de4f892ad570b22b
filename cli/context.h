#pragma once
// CliContext: what every berthctl command shares: global flags, clients to the services with
// errors a user can act on, and output helpers (tables like ctr, or JSON with --format json).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "ipc/client.h"

namespace berth::cli {

class CliContext {
 public:
  // Global flags.
  std::string state = "/run/berth";  // --state / --address: where the sockets are
  std::string ns = "default";        // --namespace / -n
  std::string format = "table";      // --format table|json
  int timeout_seconds = 0;           // --timeout; 0 = the command's own default

  // <state>/<service>.sock, e.g. SocketFor("content").
  std::string SocketFor(const std::string& service) const;
  // A blocking client for a service socket (cached per socket).
  ipc::Client& ClientFor(const std::string& service);
  // Call options carrying the namespace and the timeout.
  ipc::CallOptions Options(
      std::chrono::milliseconds default_timeout = std::chrono::seconds(30)) const;

  // Turns a failed call into one line for the user. UNAVAILABLE from a socket nobody serves says
  // which daemon to check, e.g. "cannot reach berthd at /run/berth/berthd.sock: is berthd running?"
  std::string Describe(const std::string& service, const Status& status) const;
  // Prints "berthctl: <what>: <message>" to stderr and returns exit code 1.
  int Fail(const std::string& service, const Status& status, const std::string& what = {}) const;
  int Fail(const std::string& message) const;

  bool json() const { return format == "json"; }
  // Prints rows as an aligned table (header first) or, with --format json, `json_value`.
  void PrintTable(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows,
                  const nlohmann::json& json_value) const;
  void PrintJson(const nlohmann::json& value) const;

  // The exit code the chosen command's callback set.
  int exit_code = 0;

 private:
  std::vector<std::pair<std::string, std::unique_ptr<ipc::Client>>> clients_;
};

// Sets context.exit_code from a command body; use in CLI11 callbacks:
//   cmd->callback(Run(context, [&] { ...; return 0; }));
std::function<void()> Run(CliContext& context, std::function<int()> body);

}  // namespace berth::cli
