#include "services/runtime/bundle.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <regex>

#include <nlohmann/json.hpp>

#include "common/fs.h"

namespace berth::runtime {

BundlePaths PathsFor(const std::string& state_dir, const std::string& root_dir,
                     const std::string& ns, const std::string& id) {
  return {state_dir + "/" + ns + "/" + id, root_dir + "/" + ns + "/" + id};
}

Status ValidateName(const std::string& what, const std::string& name) {
  static const std::regex kName("[A-Za-z0-9][A-Za-z0-9_.-]{0,75}");
  if (!std::regex_match(name, kName)) {
    return Error(Code::kInvalidArgument,
                 "{} {:?} is not valid: use 1-76 letters, digits, '_', '.' or '-', starting with "
                 "a letter or digit",
                 what, name);
  }
  return Status::Ok();
}

Status CreateBundle(const BundlePaths& paths, const std::string& spec_json) {
  std::string parent = paths.bundle.substr(0, paths.bundle.rfind('/'));
  BERTH_RETURN_IF_ERROR(MakeDirs(parent, 0711));
  if (::mkdir(paths.bundle.c_str(), 0711) != 0) {
    if (errno == EEXIST) {
      return Error(Code::kAlreadyExists, "the task's bundle {} already exists", paths.bundle);
    }
    return ErrnoStatus(errno, "mkdir " + paths.bundle);
  }
  Status status = [&]() -> Status {
    BERTH_RETURN_IF_ERROR(WriteFileAtomic(paths.Config(), spec_json, 0644));
    if (::mkdir(paths.Rootfs().c_str(), 0711) != 0) return ErrnoStatus(errno, "mkdir rootfs");
    BERTH_RETURN_IF_ERROR(MakeDirs(paths.work, 0711));
    if (::symlink(paths.work.c_str(), (paths.bundle + "/work").c_str()) != 0) {
      return ErrnoStatus(errno, "symlink " + paths.bundle + "/work");
    }
    if (::mkfifo(paths.LogFifo().c_str(), 0600) != 0) return ErrnoStatus(errno, "mkfifo log");
    return Status::Ok();
  }();
  if (!status.ok()) (void)RemoveBundle(paths);
  return status;
}

Status RemoveBundle(const BundlePaths& paths, bool keep_work) {
  Status status = RemoveAll(paths.bundle);
  if (status.code() == Code::kFailedPrecondition) {
    // The shim could not unmount (it died mid-way): detach the rootfs and try again.
    ::umount2(paths.Rootfs().c_str(), MNT_DETACH);
    status = RemoveAll(paths.bundle);
  }
  BERTH_RETURN_IF_ERROR(status);
  if (!keep_work) BERTH_RETURN_IF_ERROR(RemoveAll(paths.work));
  return Status::Ok();
}

Status WriteExit(const BundlePaths& paths, const ExitRecord& exit) {
  BERTH_RETURN_IF_ERROR(MakeDirs(paths.work, 0711));
  return WriteFileAtomic(paths.ExitFile(),
                         fmt::format("{} {} {}\n", exit.status, exit.exited_at_nanos, exit.pid));
}

std::optional<ExitRecord> ReadExit(const BundlePaths& paths) {
  auto text = ReadFile(paths.ExitFile());
  if (!text.ok()) return std::nullopt;
  ExitRecord exit;
  if (std::sscanf(text->c_str(), "%" SCNu32 " %" SCNd64 " %" SCNu32, &exit.status,
                  &exit.exited_at_nanos, &exit.pid) < 2) {
    return std::nullopt;
  }
  return exit;
}

Result<std::string> SocketFromAddress(const std::string& printed) {
  std::string text = printed;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.erase(0, 1);
  if (!text.empty() && text.front() == '{') {
    auto doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_object() && doc.value("address", "").size() > 0) text = doc["address"];
  }
  constexpr std::string_view kPrefix = "unix://";
  if (text.rfind(kPrefix, 0) != 0 || text.size() <= kPrefix.size() || text[kPrefix.size()] != '/') {
    return Error(Code::kInvalidArgument, "shim address {:?} is not a unix:///path address",
                 text.substr(0, 200));
  }
  return text.substr(kPrefix.size());
}

Result<std::string> ReadShimSocket(const BundlePaths& paths) {
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(paths.Address()));
  return SocketFromAddress(text);
}

}  // namespace berth::runtime
