#include "shim/stdio.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

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

Result<uint64_t> ParseQueryNumber(const std::string& uri, std::string_view key,
                                  std::string_view value) {
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
    return Error(Code::kInvalidArgument, "stdio URI {}: {} must be a number of {}", uri, key,
                 key == "max-size" ? "bytes" : "files");
  }
  return number;
}

}  // namespace

Result<LogRotation> ParseLogRotation(const std::string& uri) {
  LogRotation rotation;
  size_t query = uri.find('?');
  if (uri.compare(0, kFileScheme.size(), kFileScheme) != 0 || query == std::string::npos) {
    return rotation;
  }
  rotation.max_files = 1;
  std::string_view rest = std::string_view(uri).substr(query + 1);
  while (!rest.empty()) {
    std::string_view item = rest.substr(0, rest.find('&'));
    rest.remove_prefix(std::min(rest.size(), item.size() + 1));
    size_t eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
    if (key != "max-size" && key != "max-files") {
      return Error(Code::kInvalidArgument,
                   "stdio URI {}: unknown option \"{}\" (known: max-size, max-files)", uri, key);
    }
    BERTH_ASSIGN_OR_RETURN(uint64_t number, ParseQueryNumber(uri, key, value));
    if (key == "max-size") rotation.max_size = number;
    if (key == "max-files") {
      if (number > 1000) {
        return Error(Code::kInvalidArgument, "stdio URI {}: max-files is at most 1000", uri);
      }
      rotation.max_files = static_cast<int>(number);
    }
  }
  if (rotation.max_size == 0) {
    return Error(Code::kInvalidArgument, "stdio URI {}: max-size must be a number of bytes > 0",
                 uri);
  }
  return rotation;
}

Result<StdioKind> ClassifyStdio(const std::string& uri, std::string* path) {
  if (uri.empty()) return StdioKind::kNone;
  if (uri[0] == '/') {
    *path = uri;
    return StdioKind::kFifo;
  }
  if (uri.compare(0, kFileScheme.size(), kFileScheme) == 0) {
    *path = uri.substr(kFileScheme.size());
    path->erase(std::min(path->size(), path->find('?')));
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

Result<UniqueFd> OpenRotatedOutput(const std::string& uri, uv_loop_t* loop,
                                   std::vector<std::unique_ptr<LogCopier>>* copiers,
                                   bool nonblocking) {
  std::string path;
  BERTH_ASSIGN_OR_RETURN(StdioKind kind, ClassifyStdio(uri, &path));
  BERTH_ASSIGN_OR_RETURN(LogRotation rotation, ParseLogRotation(uri));
  if (kind != StdioKind::kFile || rotation.max_size == 0) return OpenOutput(uri, nonblocking);
  if (loop == nullptr) {
    return Error(Code::kInvalidArgument, "stdio URI {}: rotation needs the shim's loop", uri);
  }
  BERTH_RETURN_IF_ERROR(MakeDirs(Dirname(path), 0755));
  BERTH_ASSIGN_OR_RETURN(std::unique_ptr<RotatingLog> log, RotatingLog::Open(path, rotation));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe for log " + path);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  if (nonblocking && ::fcntl(write_end.get(), F_SETFL, O_NONBLOCK) != 0) {
    return ErrnoStatus(errno, "set log pipe non-blocking");
  }
  BERTH_ASSIGN_OR_RETURN(std::unique_ptr<LogCopier> copier,
                         LogCopier::Create(loop, std::move(read_end), std::move(log)));
  copiers->push_back(std::move(copier));
  return write_end;
}

Result<ProcessStdio> OpenProcessStdio(const StdioSpec& spec, uv_loop_t* loop) {
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
  BERTH_ASSIGN_OR_RETURN(io.out, OpenRotatedOutput(spec.out, loop, &io.logs, false));
  if (!spec.err.empty() && spec.err == spec.out && io.out) {
    io.err.reset(::fcntl(io.out.get(), F_DUPFD_CLOEXEC, 3));
    if (!io.err) return ErrnoStatus(errno, "dup stdout");
  } else {
    BERTH_ASSIGN_OR_RETURN(io.err, OpenRotatedOutput(spec.err, loop, &io.logs, false));
  }
  return io;
}

}  // namespace berth::shim
