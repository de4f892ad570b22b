#include "client/spec/rootfs_files.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/unique_fd.h"

namespace berth::spec {
namespace {

// openat2(dir, path, RESOLVE_IN_ROOT): `path` cannot escape `dir`, whatever its symlinks say.
int OpenInRoot(int dir, const std::string& path, uint64_t flags) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof(how)));
}

bool IsWhiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

// What one layer says about `rel`: the file, "hidden" (whiteout or opaque parent: stop looking
// in lower layers) or "absent here" (look further down).
enum class LayerAnswer { kFound, kHidden, kAbsent };

LayerAnswer ProbeParents(int layer, const std::string& rel) {
  // Walk the ancestors of rel from the deepest: a whiteout hides everything below it; an opaque
  // directory hides the lower layers' entries below it.
  for (size_t slash = rel.rfind('/'); slash != std::string::npos && slash > 0;
       slash = rel.rfind('/', slash - 1)) {
    std::string parent = rel.substr(0, slash);
    UniqueFd fd(OpenInRoot(layer, parent, O_PATH | O_NOFOLLOW));
    if (!fd.valid()) continue;
    struct stat st {};
    if (::fstat(fd.get(), &st) == 0 && IsWhiteout(st)) return LayerAnswer::kHidden;
    char value[2] = {};
    std::string proc = "/proc/self/fd/" + std::to_string(fd.get());
    if (S_ISDIR(st.st_mode) &&
        ::getxattr(proc.c_str(), "trusted.overlay.opaque", value, sizeof(value)) == 1 &&
        value[0] == 'y') {
      return LayerAnswer::kHidden;
    }
  }
  return LayerAnswer::kAbsent;
}

}  // namespace

Result<std::unique_ptr<LayeredRootfsFiles>> LayeredRootfsFiles::FromMounts(
    const std::vector<RootfsMount>& mounts) {
  if (mounts.size() != 1) {
    return Error(Code::kInvalidArgument, "cannot read a rootfs made of {} mounts", mounts.size());
  }
  const RootfsMount& m = mounts[0];
  if (m.type == "bind" || m.type == "rbind") {
    return std::make_unique<LayeredRootfsFiles>(std::vector<std::string>{m.source});
  }
  if (m.type != "overlay") {
    return Error(Code::kInvalidArgument, "cannot read a rootfs of mount type {}", m.type);
  }
  std::vector<std::string> layers;
  std::string lower;
  for (const auto& option : m.options) {
    if (option.rfind("upperdir=", 0) == 0) layers.insert(layers.begin(), option.substr(9));
    if (option.rfind("lowerdir=", 0) == 0) lower = option.substr(9);
  }
  size_t start = 0;
  while (start <= lower.size() && !lower.empty()) {
    size_t colon = lower.find(':', start);
    layers.push_back(lower.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (layers.empty()) return Error(Code::kInvalidArgument, "overlay mount without layers");
  return std::make_unique<LayeredRootfsFiles>(std::move(layers));
}

Result<std::optional<std::string>> LayeredRootfsFiles::Read(const std::string& path,
                                                            size_t limit) const {
  std::string rel = path;
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  if (rel.empty()) return Error(Code::kInvalidArgument, "{} is not a file path", path);
  for (const auto& layer_path : layers_) {
    UniqueFd layer(::open(layer_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!layer.valid()) return ErrnoStatus(errno, "open " + layer_path);
    UniqueFd fd(OpenInRoot(layer.get(), rel, O_RDONLY | O_NONBLOCK | O_NOCTTY));
    if (!fd.valid()) {
      // A device (whiteout 0:0) or a symlink loop: no such file.
      if (errno == ENXIO || errno == ENODEV || errno == ELOOP) break;
      if (errno != ENOENT && errno != ENOTDIR) return ErrnoStatus(errno, "open " + path);
      if (ProbeParents(layer.get(), rel) == LayerAnswer::kHidden) break;
      continue;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat " + path);
    if (!S_ISREG(st.st_mode)) break;  // a whiteout, a directory, a device: no such file
    if (static_cast<size_t>(st.st_size) > limit) {
      return Error(Code::kResourceExhausted, "the image's {} is larger than {} bytes", path, limit);
    }
    std::string data(static_cast<size_t>(st.st_size), '\0');
    ssize_t n = ::pread(fd.get(), data.data(), data.size(), 0);
    if (n < 0) return ErrnoStatus(errno, "read " + path);
    data.resize(static_cast<size_t>(n));
    return std::optional<std::string>(std::move(data));
  }
  return std::optional<std::string>();
}

}  // namespace berth::spec
