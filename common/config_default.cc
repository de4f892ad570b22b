// The commented default config file (kept apart from the parser so it reads like the file).
#include "common/config.h"

namespace berth {

std::string DefaultConfigToml() {
  return R"(# Berth daemon configuration (berthd). Every key is optional; shown with its default.

# Directory for persistent data: content, snapshots, metadata, task state, event log.
root = "/var/lib/berth"
# Directory for runtime state: sockets, shim state, bundles (usually on tmpfs).
state = "/run/berth"
# Log verbosity: trace, debug, info, warn or error.
log_level = "info"
# Delay before restarting a service that died; doubles after each consecutive failure.
restart_backoff_initial_ms = 100
# Upper bound of the restart delay.
restart_backoff_max_ms = 10000

[services]
# true: berthd spawns the services as its children (embedded); false: systemd runs them.
spawn = true
# The services berthd spawns, in start order.
names = ["content", "snapshot", "metadata", "runtime"]

[services.binaries]
# Absolute path of a service's binary, by name; unlisted ones run berth-<name> beside berthd.
# content = "/usr/libexec/berth/berth-content"

[events]
# Number of events kept in the durable log for replay (berthctl events --since N).
max_log_entries = 10000

[content]
# Hours after which an abandoned in-flight write (ingest) is removed.
ingest_expiry_hours = 24

[runtime]
# Size at which a detached container's log file (berthctl run -d) is rotated: bytes, or with a
# k, m or g suffix ("10m"). 0 keeps one growing file. Rotation is done by berth-shim; containers
# of the io.containerd.runc.v2 runtime keep one growing file.
log_max_size = "0"
# Rotated files kept beside the current one (log.1 is the newest); older output is dropped.
log_max_files = 3

[metrics]
# Address ("host:port") of the Prometheus metrics endpoint; empty disables it.
address = ""
)";
}

}  // namespace berth
