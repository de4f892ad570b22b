#pragma once
// berthd's configuration file (TOML, default /etc/berth/config.toml). Every key is optional;
// DefaultConfigToml() documents them all. Unknown keys are errors, so a typo never silently
// falls back to a default.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth {

inline constexpr std::string_view kDefaultConfigPath = "/etc/berth/config.toml";

struct Config {
  std::string root = "/var/lib/berth";  // persistent data (absolute path)
  std::string state = "/run/berth";     // sockets, shims, bundles (absolute path)
  std::string log_level = "info";       // trace, debug, info, warn, error

  struct Service {
    std::string name{};    // "content", "snapshot", "metadata", "runtime"
    std::string binary{};  // empty: berth-<name> in the directory of the berthd binary
    bool operator==(const Service&) const = default;
  };
  struct Services {
    // true (embedded mode): berthd spawns and restarts the services itself;
    // false (systemd mode): systemd runs them and berthd spawns nothing.
    bool spawn = true;
    // In start order.
    std::vector<Service> list = {
        {"content", ""}, {"snapshot", ""}, {"metadata", ""}, {"runtime", ""}};
    bool operator==(const Services&) const = default;
  } services;

  // Delay before restarting a service that died, doubled per consecutive failure up to the max.
  int64_t restart_backoff_initial_ms = 100;
  int64_t restart_backoff_max_ms = 10000;

  struct Events {
    int64_t max_log_entries = 10000;  // events kept in the durable log for replay
    bool operator==(const Events&) const = default;
  } events;
  struct Content {
    int64_t ingest_expiry_hours = 24;  // abandoned in-flight writes are removed after this
    bool operator==(const Content&) const = default;
  } content;
  struct Runtime {
    // Detached containers' log files (run -d) rotate when they would exceed this many bytes;
    // 0 keeps one growing file. In the file: bytes, or a string such as "10m" (k, m, g: KiB...).
    int64_t log_max_size = 0;
    int64_t log_max_files =
        3;  // rotated files kept beside the current one (log.1 ... log.N), <= 31
    bool operator==(const Runtime&) const = default;
  } runtime;
  struct Metrics {
    std::string address{};  // "host:port" for the Prometheus endpoint; empty = disabled
    bool operator==(const Metrics&) const = default;
  } metrics;

  bool operator==(const Config&) const = default;
};

// Loads `path`; an empty path means kDefaultConfigPath. A missing file at the default path
// yields the defaults; a missing explicitly given file is NOT_FOUND. Errors:
//   INVALID_ARGUMENT "config /x.toml:3:7: <syntax error>", "... unknown key \"services.spwan\"",
//   "... key \"root\" must be a string", out-of-range or inconsistent values.
Result<Config> LoadConfig(const std::string& path = "");
// Like LoadConfig(path), but a missing file yields the defaults when `missing_ok`.
Result<Config> LoadConfigFile(const std::string& path, bool missing_ok);
// Parses TOML text; `source` names it in error messages.
Result<Config> ParseConfig(std::string_view toml, std::string_view source);

// A complete config file with the default values, every key commented; ParseConfig of it
// yields Config{}. `berthd config default` prints it.
std::string DefaultConfigToml();

// The binary berthd runs for `service`: its configured binary, else berth-<name> in `self_dir`.
std::string ServiceBinaryPath(const Config::Service& service, const std::string& self_dir);
// The directory of the running executable (from /proc/self/exe).
Result<std::string> SelfExeDir();

}  // namespace berth
