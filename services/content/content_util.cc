// Helpers over any Store, and the validation shared by backends and the server.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "services/content/content.h"
#include "services/content/local_internal.h"

namespace berth::content {

Status ValidateRef(std::string_view ref) {
  if (ref.empty()) return Status(Code::kInvalidArgument, "ref must not be empty");
  if (ref.size() > kMaxRefSize) {
    return Error(Code::kInvalidArgument, "ref is {} bytes long; at most {} are allowed", ref.size(),
                 kMaxRefSize);
  }
  return Status::Ok();
}

Status ValidateLabels(const Labels& labels) {
  for (const auto& [key, value] : labels) {
    if (key.empty()) return Status(Code::kInvalidArgument, "label keys must not be empty");
    if (key.size() + value.size() > kMaxLabelSize) {
      return Error(Code::kInvalidArgument,
                   "label \"{}\" is too long: key and value together must be at most {} bytes",
                   key.substr(0, 64), kMaxLabelSize);
    }
  }
  return Status::Ok();
}

Status ValidateDigest(const Digest& digest) {
  auto parsed = ParseDigest(digest.ToString());
  return parsed.ok() ? Status::Ok() : parsed.status();
}

Status ValidateSource(int fd) {
  if (fd < 0) return Status::Ok();
  struct stat st {};
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "the source of a write");
  int flags = ::fcntl(fd, F_GETFL);
  if (!S_ISREG(st.st_mode) || flags < 0 || (flags & O_ACCMODE) == O_WRONLY ||
      (flags & O_PATH) != 0) {
    return Status(Code::kInvalidArgument,
                  "the source of a write must be a regular file open for reading (stream other "
                  "input with Write)");
  }
  return Status::Ok();
}

Result<Labels> ApplyLabelPaths(const Labels& current, const Labels& requested,
                               const std::vector<std::string>& fieldpaths) {
  if (fieldpaths.empty()) return requested;
  Labels labels = current;
  for (const auto& path : fieldpaths) {
    if (path == "labels") {
      labels = requested;
    } else if (path.starts_with("labels.") && path.size() > 7) {
      std::string key = path.substr(7);
      auto it = requested.find(key);
      if (it == requested.end() || it->second.empty()) {
        labels.erase(key);
      } else {
        labels[key] = it->second;
      }
    } else {
      return Error(Code::kInvalidArgument,
                   "cannot update field \"{}\": only labels and labels.<key> may change", path);
    }
  }
  return labels;
}

Status WriteBlob(Store& store, const std::string& ref, std::string_view data,
                 const Digest& expected, const Labels& labels) {
  auto writer = store.OpenWriter({.ref = ref, .total = data.size(), .expected = expected});
  if (!writer.ok()) {
    return writer.status().code() == Code::kAlreadyExists ? Status::Ok() : writer.status();
  }
  BERTH_ASSIGN_OR_RETURN(IngestStatus status, (*writer)->GetStatus());
  if (status.offset != 0) BERTH_RETURN_IF_ERROR((*writer)->Truncate(0));
  BERTH_RETURN_IF_ERROR((*writer)->Write(data));
  return (*writer)->Commit(data.size(), expected, labels);
}

Result<std::string> ReadBlob(Store& store, const Digest& digest) {
  BERTH_ASSIGN_OR_RETURN(auto reader, store.OpenReader(digest));
  std::string data(reader->Size(), '\0');
  BERTH_ASSIGN_OR_RETURN(size_t n, reader->ReadAt(0, data.data(), data.size()));
  if (n != data.size()) {
    return Error(Code::kDataLoss, "content {} is shorter than its size {}", digest, data.size());
  }
  return data;
}

namespace {

CheckResult CheckOne(Store& store, const Digest& digest, std::vector<char>& buffer) {
  CheckResult result;
  result.digest = digest;
  auto reader = store.OpenReader(digest);
  if (!reader.ok()) {
    result.status = reader.status();
    return result;
  }
  auto hasher = IngestHasher::Create(digest.algorithm);
  if (!hasher.ok()) {
    result.status = hasher.status();
    return result;
  }
  uint64_t offset = 0;
  while (true) {
    auto n = (*reader)->ReadAt(offset, buffer.data(), buffer.size());
    if (!n.ok()) {
      result.status = n.status();
      return result;
    }
    if (*n == 0) break;
    hasher->Update(buffer.data(), *n);
    offset += *n;
  }
  result.actual = hasher->Peek();
  if (result.actual != digest) {
    result.status = Error(Code::kDataLoss, "content {} is corrupt: its {} bytes hash to {}", digest,
                          offset, result.actual);
  }
  return result;
}

}  // namespace

Result<std::vector<CheckResult>> CheckBlobs(Store& store, const std::vector<Digest>& digests) {
  std::vector<Digest> names = digests;
  if (names.empty()) {
    BERTH_RETURN_IF_ERROR(store.Walk([&](const Info& info) {
      names.push_back(info.digest);
      return Status::Ok();
    }));
    std::sort(names.begin(), names.end());
  }
  std::vector<char> buffer(1 << 20);
  std::vector<CheckResult> results;
  results.reserve(names.size());
  for (const auto& digest : names) results.push_back(CheckOne(store, digest, buffer));
  return results;
}

}  // namespace berth::content
