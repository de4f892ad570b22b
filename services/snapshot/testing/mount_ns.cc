#include "services/snapshot/testing/mount_ns.h"

#include <sched.h>
#include <sys/mount.h>

#include <cerrno>

namespace berth::snapshot::testing {

Status EnterPrivateMountNamespace() {
  if (::unshare(CLONE_NEWNS) != 0) return ErrnoStatus(errno, "unshare(CLONE_NEWNS)");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return ErrnoStatus(errno, "make / private");
  }
  return Status::Ok();
}

void PrivateMountNamespace::SetUp() {
  Status status = EnterPrivateMountNamespace();
  ASSERT_TRUE(status.ok()) << status.ToString();
}

}  // namespace berth::snapshot::testing
