// LocalStore: committed blobs, their labels, walking and deleting. Ingests are in
// local_ingest.cc, the writer in local_writer.cc.
#include "services/content/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "services/content/filters.h"
#include "services/content/local_internal.h"

namespace berth::content {

namespace {

constexpr std::string_view kAlgorithms[] = {kSha256, kSha512};

std::optional<std::string> InfoField(const Info& info, const std::vector<std::string>& path) {
  if (path.size() == 1 && path[0] == "digest") return info.digest.ToString();
  if (path.size() == 1 && path[0] == "size") return std::to_string(info.size);
  if (path.size() >= 2 && path[0] == "labels") {
    std::string key = path[1];
    for (size_t i = 2; i < path.size(); ++i) key += "." + path[i];
    auto it = info.labels.find(key);
    if (it == info.labels.end()) return std::nullopt;
    return it->second;
  }
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<LocalStore>> LocalStore::Open(const std::string& root) {
  std::unique_ptr<LocalStore> store(new LocalStore(root));
  BERTH_RETURN_IF_ERROR(store->Init());
  return store;
}

Status LocalStore::Init() {
  for (auto algorithm : kAlgorithms) {
    BERTH_RETURN_IF_ERROR(MakeDirs(root_ + "/blobs/" + std::string(algorithm), 0755));
    BERTH_RETURN_IF_ERROR(MakeDirs(root_ + "/labels/" + std::string(algorithm), 0700));
  }
  BERTH_RETURN_IF_ERROR(MakeDirs(root_ + "/ingest", 0700));
  return RemoveOrphans();
}

// Labels whose blob never made it into place (a crash between the two renames of a commit).
// Half-created ingests are tidied by TidyIngests (local_ingest.cc).
Status LocalStore::RemoveOrphans() {
  for (auto algorithm : kAlgorithms) {
    std::string dir = root_ + "/labels/" + std::string(algorithm);
    BERTH_ASSIGN_OR_RETURN(auto names, ListDir(dir));
    for (const auto& name : names) {
      std::string blob = root_ + "/blobs/" + std::string(algorithm) + "/" + name;
      if (::access(blob.c_str(), F_OK) != 0 && errno == ENOENT) {
        spdlog::info("removing labels of an uncommitted blob path={}/{}", dir, name);
        ::unlink((dir + "/" + name).c_str());
      }
    }
  }
  return TidyIngests(root_ + "/ingest");
}

std::string LocalStore::BlobPath(const Digest& digest) const {
  return root_ + "/blobs/" + digest.algorithm + "/" + digest.hex;
}

std::string LocalStore::LabelsPath(const Digest& digest) const {
  return root_ + "/labels/" + digest.algorithm + "/" + digest.hex;
}

Result<Labels> LocalStore::ReadLabels(const Digest& digest) const {
  auto text = ReadFile(LabelsPath(digest));
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return Labels{};
    return text.status();
  }
  auto json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) {
    return Error(Code::kDataLoss, "labels file {} is not a JSON object", LabelsPath(digest));
  }
  Labels labels;
  for (auto& [key, value] : json.items()) {
    if (value.is_string()) labels[key] = value.get<std::string>();
  }
  return labels;
}

Status LocalStore::WriteLabels(const Digest& digest, const Labels& labels) {
  std::string path = LabelsPath(digest);
  if (labels.empty()) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "unlink " + path);
    return Status::Ok();
  }
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [key, value] : labels) json[key] = value;
  return WriteFileAtomic(path, json.dump(), 0600);
}

Result<Info> LocalStore::StatBlob(const Digest& digest) const {
  std::string path = BlobPath(digest);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Error(Code::kNotFound, "content {} not found", digest);
    return ErrnoStatus(errno, "stat " + path);
  }
  Info info;
  info.digest = digest;
  info.size = static_cast<uint64_t>(st.st_size);
  info.created_at = TimespecNanos(st.st_mtim);
  info.updated_at = info.created_at;
  struct stat lst {};
  if (::stat(LabelsPath(digest).c_str(), &lst) == 0) {
    info.updated_at = std::max(info.created_at, TimespecNanos(lst.st_mtim));
  }
  BERTH_ASSIGN_OR_RETURN(info.labels, ReadLabels(digest));
  return info;
}

Result<Info> LocalStore::GetInfo(const Digest& digest) {
  BERTH_RETURN_IF_ERROR(ValidateDigest(digest));
  return StatBlob(digest);
}

Result<Info> LocalStore::Update(const Info& info, const std::vector<std::string>& fieldpaths) {
  BERTH_RETURN_IF_ERROR(ValidateDigest(info.digest));
  std::lock_guard lock(meta_mutex_);
  BERTH_ASSIGN_OR_RETURN(Info current, StatBlob(info.digest));
  BERTH_ASSIGN_OR_RETURN(Labels labels, ApplyLabelPaths(current.labels, info.labels, fieldpaths));
  BERTH_RETURN_IF_ERROR(ValidateLabels(labels));
  BERTH_RETURN_IF_ERROR(WriteLabels(info.digest, labels));
  return StatBlob(info.digest);
}

Status LocalStore::Walk(const WalkFn& fn, const std::vector<std::string>& filters) {
  BERTH_ASSIGN_OR_RETURN(Filter filter, Filter::Parse(filters));
  for (auto algorithm : kAlgorithms) {
    BERTH_ASSIGN_OR_RETURN(auto names, ListDir(root_ + "/blobs/" + std::string(algorithm)));
    for (const auto& name : names) {
      auto digest = ParseDigest(std::string(algorithm) + ":" + name);
      if (!digest.ok()) continue;  // not ours (a stray file): never a blob
      auto info = StatBlob(*digest);
      if (!info.ok()) {
        if (info.status().code() == Code::kNotFound) continue;  // deleted meanwhile
        return info.status();
      }
      if (!filter.Match([&](const auto& path) { return InfoField(*info, path); })) continue;
      BERTH_RETURN_IF_ERROR(fn(*info));
    }
  }
  return Status::Ok();
}

Status LocalStore::Delete(const Digest& digest) {
  BERTH_RETURN_IF_ERROR(ValidateDigest(digest));
  std::lock_guard lock(meta_mutex_);
  std::string path = BlobPath(digest);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return Error(Code::kNotFound, "content {} not found", digest);
    return ErrnoStatus(errno, "unlink " + path);
  }
  return WriteLabels(digest, {});
}

Result<std::unique_ptr<ReaderAt>> LocalStore::OpenReader(const Digest& digest) {
  BERTH_RETURN_IF_ERROR(ValidateDigest(digest));
  std::string path = BlobPath(digest);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    if (errno == ENOENT) return Error(Code::kNotFound, "content {} not found", digest);
    return ErrnoStatus(errno, "open " + path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat " + path);
  return std::unique_ptr<ReaderAt>(
      std::make_unique<FdReaderAt>(std::move(fd), static_cast<uint64_t>(st.st_size)));
}

Status LocalStore::Publish(const Digest& digest, const std::string& data_path,
                           const Labels& labels) {
  std::lock_guard lock(meta_mutex_);
  std::string target = BlobPath(digest);
  auto merge_into_existing = [&]() -> Status {
    if (labels.empty()) return Status::Ok();
    BERTH_ASSIGN_OR_RETURN(Labels merged, ReadLabels(digest));
    for (const auto& [key, value] : labels) merged[key] = value;
    return WriteLabels(digest, merged);
  };
  if (::access(target.c_str(), F_OK) == 0) return merge_into_existing();
  // Labels first: a visible blob always has its labels; a crash before the rename leaves only
  // labels, which Open() removes.
  BERTH_RETURN_IF_ERROR(WriteLabels(digest, labels));
  if (::renameat2(AT_FDCWD, data_path.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) return merge_into_existing();
    return ErrnoStatus(errno, "rename " + data_path + " to " + target);
  }
  return FsyncDir(root_ + "/blobs/" + digest.algorithm);
}

Result<size_t> FdReaderAt::ReadAt(uint64_t offset, void* buffer, size_t size) {
  size_t done = 0;
  auto* out = static_cast<char*>(buffer);
  while (done < size && offset + done < size_) {
    ssize_t n = ::pread(fd_.get(), out + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read blob");
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

}  // namespace berth::content
