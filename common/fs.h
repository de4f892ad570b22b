#pragma once
// File system helpers. Every fd they open is O_CLOEXEC. Errors are ErrnoStatus values naming the
// operation and the path ("open /x/y: No such file or directory"), so NOT_FOUND, ALREADY_EXISTS,
// PERMISSION_DENIED... map from errno as documented in status.h.
//
// Paths are std::string (a std::filesystem::path converts implicitly). All functions are
// thread-safe in the sense that they share no state; they block, so call them off the loop thread.

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth {

// mkdir -p: creates `path` and any missing parents. Directories it creates get exactly `mode`
// (the umask is not applied); existing directories are left as they are. A path component that
// exists but is not a directory is INVALID_ARGUMENT (ENOTDIR).
Status MakeDirs(const std::string& path, mode_t mode = 0755);

// Replaces `path` with `data` atomically and durably: writes a temporary file in the same
// directory, fsyncs it, renames it over `path` and fsyncs the directory. Readers see the old
// contents or the new, never a mix; after a crash there is no partial file at `path`. The file
// gets exactly `mode`. On failure the temporary file is removed and `path` is untouched.
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0644);

// The whole contents of a file.
Result<std::string> ReadFile(const std::string& path);

// fsync(2) on a directory, making renames and creations in it durable.
Status FsyncDir(const std::string& path);

// rm -rf that never follows symlinks (a symlink is removed, not its target) and never crosses
// into another mount: if `path` or any directory below it is a mount point (a different mount
// than its parent directory, bind mounts included), the result is FAILED_PRECONDITION naming it
// and nothing on that mount is touched (entries visited before it may already be gone). A
// missing `path` is OK.
Status RemoveAll(const std::string& path);

// Opens a directory (O_RDONLY | O_DIRECTORY | O_CLOEXEC), for openat()-style work and FsyncDir.
// With follow_symlinks = false, a symlink at `path` itself is refused (ELOOP: INVALID_ARGUMENT).
Result<UniqueFd> OpenDirectory(const std::string& path, bool follow_symlinks = true);

// Writes all of `data` to `fd`, retrying short writes and EINTR. `what` names the fd in errors.
Status WriteAll(int fd, std::string_view data, std::string_view what);
// Reads `fd` to EOF.
Result<std::string> ReadAll(int fd, std::string_view what);

}  // namespace berth
