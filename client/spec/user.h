#pragma once
// Resolution of an image/`--user` string to the numeric user of an OCI process, as containerd's
// oci.WithUser does it:
//   ""            uid 0, gid 0
//   "1000"        uid 1000, gid from /etc/passwd when the uid is listed there, else 0
//   "name"        uid and gid from /etc/passwd (NOT_FOUND... reported as INVALID_ARGUMENT)
//   "u:g"         each part numeric, or a name looked up in /etc/passwd (u) or /etc/group (g)
// Additional gids: the primary gid, then every /etc/group entry listing the user's name.
//
// Bounded: /etc/passwd and /etc/group are read only up to kMaxAccountFileSize (a larger file is
// refused with RESOURCE_EXHAUSTED), and only when a name must be resolved or groups collected.
// Ids above INT32_MAX are refused (CVE-2024-40635: they used to wrap to root).

#include <cstdint>
#include <string>
#include <vector>

#include "client/spec/rootfs_files.h"
#include "common/status.h"

namespace berth::spec {

inline constexpr size_t kMaxAccountFileSize = 1 << 20;

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::string name;  // the passwd name when known (for group membership), else empty
};

Result<ResolvedUser> ResolveUser(const std::string& user, const RootfsFiles& files);

// A decimal id in [0, INT32_MAX]; INVALID_ARGUMENT otherwise (`what` names it in the message).
Result<uint32_t> ParseId(const std::string& text, const std::string& what);

}  // namespace berth::spec
