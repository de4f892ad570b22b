#include "shim/stdio.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/fs.h"

namespace berth::shim {
namespace {

constexpr std::string_view kFileScheme = "file://";

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

Result<UniqueFd> OpenFifo(const std::string& path, int flags) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat " + path);
  if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISREG(st.st_mode)) {
    return Error(Code::kInvalidArgument, "stdio {} is not a FIFO or file", path);
  }
  return fd;
}

}  // namespace

Result<StdioKind> ClassifyStdio(const std::string& uri, std::string* path) {
  if (uri.empty()) return StdioKind::kNone;
  if (uri[0] == '/') {
    *path = uri;
    return StdioKind::kFifo;
  }
  if (uri.compare(0, kFileScheme.size(), kFileScheme) == 0) {
    *path = uri.substr(kFileScheme.size());
    if (path->empty() || (*path)[0] != '/') {
      return Error(Code::kInvalidArgument, "stdio URI {} needs an absolute path", uri);
    }
    return StdioKind::kFile;
  }
  if (uri.find("://") != std::string::npos) {
    return Error(Code::kUnimplemented, "stdio URI {}: only FIFO paths and file:// are supported",
                 uri);
  }
  return Error(Code::kInvalidArgument, "stdio path {} is not absolute", uri);
}

Result<UniqueFd> OpenOutput(const std::string& uri, bool nonblocking) {
  std::string path;
  BERTH_ASSIGN_OR_RETURN(StdioKind kind, ClassifyStdio(uri, &path));
  int extra = nonblocking ? O_NONBLOCK : 0;
  switch (kind) {
    case StdioKind::kNone:
      return UniqueFd();
    case StdioKind::kFifo:
      return OpenFifo(path, O_RDWR | extra);
    case StdioKind::kFile: {
      BERTH_RETURN_IF_ERROR(MakeDirs(Dirname(path), 0755));
      UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | extra, 0640));
      if (!fd) return ErrnoStatus(errno, "open log file " + path);
      return fd;
    }
  }
  return UniqueFd();
}

Result<ProcessStdio> OpenProcessStdio(const StdioSpec& spec) {
  ProcessStdio io;
  if (!spec.in.empty()) {
    std::string path;
    BERTH_ASSIGN_OR_RETURN(StdioKind kind, ClassifyStdio(spec.in, &path));
    if (kind != StdioKind::kFifo) {
      return Error(Code::kInvalidArgument, "stdin {} must be a FIFO path", spec.in);
    }
    BERTH_ASSIGN_OR_RETURN(io.keeper, OpenFifo(path, O_RDWR));
    // Non-blocking open (a writer exists: the keeper), then blocking reads for the process.
    BERTH_ASSIGN_OR_RETURN(io.in, OpenFifo(path, O_RDONLY | O_NONBLOCK));
    int flags = ::fcntl(io.in.get(), F_GETFL);
    if (flags < 0 || ::fcntl(io.in.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
      return ErrnoStatus(errno, "fcntl " + path);
    }
  }
  BERTH_ASSIGN_OR_RETURN(io.out, OpenOutput(spec.out, false));
  if (!spec.err.empty() && spec.err == spec.out && io.out) {
    io.err.reset(::fcntl(io.out.get(), F_DUPFD_CLOEXEC, 3));
    if (!io.err) return ErrnoStatus(errno, "dup stdout");
  } else {
    BERTH_ASSIGN_OR_RETURN(io.err, OpenOutput(spec.err, false));
  }
  return io;
}

}  // namespace berth::shim
