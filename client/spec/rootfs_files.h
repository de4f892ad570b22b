#pragma once
// RootfsFiles: read-only access to a few small files of a container's root filesystem before it
// is mounted (the image's /etc/passwd and /etc/group for user name lookup), without mounting it.
//
// Paths resolve inside the rootfs (openat2 RESOLVE_IN_ROOT): a symlink in the image can never
// lead to a host file. A file larger than `limit` is RESOURCE_EXHAUSTED, so a crafted image
// cannot make the caller read an unbounded amount.
//
// Thread-safety: implementations are immutable after construction.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::spec {

class RootfsFiles {
 public:
  virtual ~RootfsFiles() = default;
  // The contents of absolute `path`, nullopt when it does not exist (or is not a regular file).
  virtual Result<std::optional<std::string>> Read(const std::string& path, size_t limit) const = 0;
};

// No rootfs at all: every file is missing.
class NoRootfsFiles : public RootfsFiles {
 public:
  Result<std::optional<std::string>> Read(const std::string&, size_t) const override {
    return std::optional<std::string>();
  }
};

// A mount as the snapshot service hands it out (same fields as berth.types.v1.Mount).
struct RootfsMount {
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

// Reads through a stack of directories, top first (an overlay's upperdir then its lowerdirs, or
// the single directory of a bind mount). A whiteout (0:0 character device) or an opaque parent
// directory in an upper layer hides the lower layers' file.
class LayeredRootfsFiles : public RootfsFiles {
 public:
  explicit LayeredRootfsFiles(std::vector<std::string> layers) : layers_(std::move(layers)) {}
  // From snapshot mounts: one "bind" mount (its source) or one "overlay" mount (upperdir,
  // lowerdirs). INVALID_ARGUMENT for anything else.
  static Result<std::unique_ptr<LayeredRootfsFiles>> FromMounts(
      const std::vector<RootfsMount>& mounts);

  Result<std::optional<std::string>> Read(const std::string& path, size_t limit) const override;
  const std::vector<std::string>& layers() const { return layers_; }

 private:
  std::vector<std::string> layers_;
};

}  // namespace berth::spec
