// OCI bundles from images and back (see bundle.h).
#include "client/bundle.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "common/fs.h"
#include "services/snapshot/copy_tree.h"
#include "services/snapshot/mount.h"

namespace berth::client {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr uint64_t kMaxBundleSpec = 4 << 20;

std::string UniqueSuffix() {
  std::random_device random;
  return fmt::format("{}-{:08x}", ::getpid(), random());
}

// Copies the tree mounted from `mounts` into `rootfs` through a private temporary mount point.
Status CopyMounted(const std::vector<snapshot::Mount>& mounts, const std::string& rootfs) {
  std::string point = fs::temp_directory_path().string() + "/berth-extract-XXXXXX";
  if (::mkdtemp(point.data()) == nullptr) return ErrnoStatus(errno, "mkdtemp " + point);
  Status copied;
  {
    auto guard = snapshot::MountGuard::Create(mounts, point);
    if (!guard.ok()) {
      copied = guard.status().Annotate("mount the image's rootfs");
    } else {
      copied = snapshot::CopyTree(point, rootfs);
      Status released = guard->Release();
      if (copied.ok()) copied = released;
    }
  }
  if (::rmdir(point.c_str()) != 0 && copied.ok()) copied = ErrnoStatus(errno, "rmdir " + point);
  return copied;
}

}  // namespace

Status PrepareBundleDir(const std::string& dir, bool force) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error(Code::kInvalidArgument, "create {}: {}", dir, ec.message());
  if (!fs::is_directory(dir, ec)) {
    return Error(Code::kInvalidArgument, "{} is not a directory", dir);
  }
  bool empty = fs::is_empty(dir, ec);
  if (ec) return Error(Code::kInvalidArgument, "read {}: {}", dir, ec.message());
  if (empty) return Status::Ok();
  if (!force) {
    return Error(Code::kFailedPrecondition,
                 "{} is not empty: choose an empty or new directory, or pass --force to replace "
                 "its rootfs/ and config.json",
                 dir);
  }
  for (const char* name : {"rootfs", "config.json"}) {
    fs::remove_all(fs::path(dir) / name, ec);
    if (ec) return Error(Code::kInternal, "remove {}/{}: {}", dir, name, ec.message());
  }
  return Status::Ok();
}

Status ExtractRootfs(snapshot::Snapshotter& snapshots, const std::string& chain,
                     const std::string& rootfs,
                     const std::function<Status(const std::string&)>& protect) {
  std::string key = "bundle-extract-" + UniqueSuffix();
  if (protect) BERTH_RETURN_IF_ERROR(protect(key));
  auto mounts = snapshots.View(key, chain, {});
  if (!mounts.ok()) return mounts.status().Annotate("view of " + chain);
  Status copied = CopyMounted(*mounts, rootfs);
  Status removed = snapshots.Remove(key);
  if (!copied.ok()) return copied;
  return removed.ok() ? removed : removed.Annotate("remove view " + key);
}

Result<BundleSpec> ReadBundleSpec(const std::string& dir) {
  std::string path = dir + "/config.json";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Error(Code::kNotFound, "{}: no config.json: not an OCI bundle", dir);
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxBundleSpec) {
    return Error(Code::kInvalidArgument, "{}: larger than {} bytes", path, kMaxBundleSpec);
  }
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  BundleSpec bundle{json::parse(text, nullptr, false), ""};
  if (!bundle.spec.is_object() || !bundle.spec["process"].is_object()) {
    return Error(Code::kInvalidArgument, "{}: not an OCI runtime spec (no process object)", path);
  }
  std::string root = bundle.spec["root"].is_object() ? bundle.spec["root"].value("path", "") : "";
  if (root.empty()) root = "rootfs";
  bundle.rootfs = root.starts_with("/") ? root : dir + "/" + root;
  if (::stat(bundle.rootfs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error(Code::kNotFound, "{}: root {} is not a directory", dir, bundle.rootfs);
  }
  return bundle;
}

Result<ConfigChanges> ChangesFromSpec(const json& spec) {
  const json& process = spec["process"];
  ConfigChanges changes;
  auto strings = [&](const char* field) -> Result<std::vector<std::string>> {
    const json& value = process.contains(field) ? process[field] : json::array();
    bool ok = value.is_array();
    for (const auto& item : value) ok = ok && item.is_string();
    if (!ok) return Error(Code::kInvalidArgument, "process.{} is not an array of strings", field);
    return value.get<std::vector<std::string>>();
  };
  BERTH_ASSIGN_OR_RETURN(auto args, strings("args"));
  if (args.empty()) return Status(Code::kInvalidArgument, "process.args is empty");
  changes.entrypoint = std::vector<std::string>{};
  changes.cmd = std::move(args);
  BERTH_ASSIGN_OR_RETURN(changes.env, strings("env"));
  changes.working_dir = process.value("cwd", "/");
  if (process.contains("user") && process["user"].is_object()) {
    const json& user = process["user"];
    auto id = [&](const char* field) -> Result<int64_t> {
      json value = user.contains(field) ? user[field] : json(0);
      if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
          value.get<int64_t>() > INT32_MAX) {
        return Error(Code::kInvalidArgument, "process.user.{} is not a valid id", field);
      }
      return value.get<int64_t>();
    };
    BERTH_ASSIGN_OR_RETURN(int64_t uid, id("uid"));
    BERTH_ASSIGN_OR_RETURN(int64_t gid, id("gid"));
    changes.user = fmt::format("{}:{}", uid, gid);
  }
  return changes;
}

}  // namespace berth::client
