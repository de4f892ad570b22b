#pragma once
// Least privilege for the services berthd spawns (embedded mode). The same table drives the
// systemd units in systemd/ (CapabilityBoundingSet, NoNewPrivileges, ReadWritePaths); the
// reasons are in docs/operations.md, "Least privilege".
//
//   service         capabilities kept                          no_new_privs  writes limited to
//   berth-content   none                                       yes           <root>/content, socket
//   berth-metadata  none                                       yes           <root>/metadata,
//   socket berth-snapshot  CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER  yes           (needs mount:
//   no
//                   FSETID MKNOD SETFCAP SYS_ADMIN                           Landlock, see below)
//   berth-runtime   all (runc and privileged containers)       no            (shims share its view)
//
// "Writes limited to" is enforced with Landlock (kernel 5.13+): a process under a Landlock
// domain may still read everything, but may create, write, remove or rename only beneath the
// listed directories ("socket": create and remove sockets in the socket's directory). Landlock
// forbids mount(2) to a restricted process, which is why it is used only for the services that
// mount nothing. no_new_privs would be inherited by shims and containers, which is why the
// runtime keeps it off (setuid programs inside containers must keep working).
// Services with other names (tests, add-ons) run with berthd's own privileges.

#include <cstdint>
#include <string>
#include <vector>

#include "common/process.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::supervisor {

struct ServicePrivileges {
  bool restricted = false;        // false: berthd's own privileges, nothing below applies
  uint64_t capabilities = ~0ULL;  // mask of (1 << CAP_x) kept
  bool no_new_privs = false;
  bool landlock = false;  // limit writes to `writable` and `socket_dir`
  std::vector<std::string> writable;
  std::string socket_dir;  // where its socket is created
};

// The profile of service `name` whose data is under `root` and whose socket is `socket`.
ServicePrivileges PrivilegesFor(const std::string& name, const std::string& root,
                                const std::string& socket);

// "CAP_CHOWN CAP_SYS_ADMIN ..." for a mask ("none" for 0), as systemd's
// CapabilityBoundingSet= and capsh spell them.
std::string CapabilityNames(uint64_t mask);

// The highest Landlock ABI the kernel offers, 0 when it has none (or it is disabled).
int LandlockAbi();

// A Landlock ruleset for `privileges` (only when privileges.landlock). The directories are
// created (0700) when missing. UNIMPLEMENTED when the kernel has no Landlock.
Result<UniqueFd> BuildLandlockRuleset(const ServicePrivileges& privileges);

// Sets options.capabilities / no_new_privs / landlock_ruleset_fd for `privileges`; the returned
// fd (if any) must stay open until the spawn is done. Without Landlock on this kernel the write
// limit is skipped with a warning logged once: the capability limits still apply.
Result<UniqueFd> ApplyPrivileges(const ServicePrivileges& privileges, SpawnOptions& options);

}  // namespace berth::supervisor
