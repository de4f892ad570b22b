// LocalStore: ingests (in-flight writes), their locks, status, abort and expiry.
#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/fs.h"
#include "common/time.h"
#include "services/content/filters.h"
#include "services/content/local_internal.h"
#include "services/content/local_store.h"

namespace berth::content {

namespace {

std::optional<std::string> IngestField(const IngestStatus& status,
                                       const std::vector<std::string>& path) {
  if (path.size() != 1) return std::nullopt;
  if (path[0] == "ref") return status.ref;
  if (path[0] == "expected") return status.expected.ToString();
  if (path[0] == "offset") return std::to_string(status.offset);
  if (path[0] == "total") return std::to_string(status.total);
  return std::nullopt;
}

// A small metadata file of an ingest. Not fsynced: the ingest dir appears by rename once they
// are all written, and a power loss that loses them loses only a resumable ingest.
Status WriteSmallFile(const std::string& path, std::string_view text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return ErrnoStatus(errno, "create " + path);
  return WriteAll(fd.get(), text, path);
}

Result<uint64_t> ParseUint(const std::string& text, const std::string& what) {
  uint64_t value = 0;
  if (text.empty()) return value;
  for (char c : text) {
    if (c < '0' || c > '9') return Error(Code::kDataLoss, "corrupt ingest file {}", what);
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

// Opens an ingest's data to resume writing. A crash inside Commit between its chmod to 0444 and
// its rename leaves the data read-only, and berth-content under berthd has no CAP_DAC_OVERRIDE
// to open such a file for writing: as its owner it can make it writable again.
Result<UniqueFd> OpenIngestData(const std::string& data) {
  UniqueFd fd(::open(data.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY));
  if (!fd && errno == EACCES && ::chmod(data.c_str(), 0644) == 0) {
    fd = UniqueFd(::open(data.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY));
  }
  if (!fd) return ErrnoStatus(errno, "open " + data);
  return fd;
}

// True when neither the dir nor its data (if any) changed since `cutoff`.
bool UnchangedSince(const std::string& dir, int64_t cutoff) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || TimespecNanos(st.st_mtim) >= cutoff) return false;
  if (::stat((dir + "/data").c_str(), &st) == 0 && TimespecNanos(st.st_mtim) >= cutoff) {
    return false;
  }
  return true;
}

}  // namespace

Result<std::vector<std::string>> ListDir(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return ErrnoStatus(errno, "open directory " + dir);
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(d.get())) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  return names;
}

Status TidyIngests(const std::string& ingest_root) {
  BERTH_ASSIGN_OR_RETURN(auto names, ListDir(ingest_root));
  for (const auto& name : names) {
    std::string dir = ingest_root + "/" + name;
    bool half_created = name.starts_with(".tmp-");
    bool no_ref = ::access((dir + "/ref").c_str(), F_OK) != 0;
    // No data: a crash inside Commit after the data became the blob, before the dir went.
    bool no_data = ::access((dir + "/data").c_str(), F_OK) != 0;
    if (half_created || no_ref || no_data) {
      spdlog::info("removing an incomplete ingest dir path={}", dir);
      Status removed = RemoveAll(dir);
      if (!removed.ok()) spdlog::warn("cannot remove {}: {}", dir, removed.message());
    }
  }
  return Status::Ok();
}

std::string LocalStore::IngestDir(const std::string& ref) const {
  auto hashed = DigestBytes(ref);
  return root_ + "/ingest/" + hashed->hex;
}

bool LocalStore::TryLock(const std::string& ref) {
  std::lock_guard lock(locks_mutex_);
  return locked_refs_.insert(ref).second;
}

void LocalStore::Unlock(const std::string& ref) {
  std::lock_guard lock(locks_mutex_);
  locked_refs_.erase(ref);
}

Result<IngestStatus> LocalStore::ReadIngest(const std::string& dir) const {
  auto ref = ReadFile(dir + "/ref");
  if (!ref.ok()) return ref.status();
  IngestStatus status;
  status.ref = std::move(ref).value();
  BERTH_ASSIGN_OR_RETURN(std::string total, ReadFile(dir + "/total"));
  BERTH_ASSIGN_OR_RETURN(status.total, ParseUint(total, dir + "/total"));
  BERTH_ASSIGN_OR_RETURN(std::string expected, ReadFile(dir + "/expected"));
  if (!expected.empty()) {
    auto digest = ParseDigest(expected);
    if (!digest.ok()) return Error(Code::kDataLoss, "corrupt ingest file {}/expected", dir);
    status.expected = std::move(digest).value();
  }
  BERTH_ASSIGN_OR_RETURN(std::string started, ReadFile(dir + "/startedat"));
  BERTH_ASSIGN_OR_RETURN(uint64_t started_at, ParseUint(started, dir + "/startedat"));
  status.started_at = static_cast<int64_t>(started_at);
  struct stat st {};
  std::string data = dir + "/data";
  if (::stat(data.c_str(), &st) != 0) return ErrnoStatus(errno, "stat " + data);
  status.offset = static_cast<uint64_t>(st.st_size);
  status.updated_at = TimespecNanos(st.st_mtim);
  return status;
}

Result<IngestStatus> LocalStore::GetStatus(const std::string& ref) {
  BERTH_RETURN_IF_ERROR(ValidateRef(ref));
  auto status = ReadIngest(IngestDir(ref));
  if (!status.ok() && status.status().code() == Code::kNotFound) {
    return Error(Code::kNotFound, "no ingest for ref \"{}\"", ref);
  }
  return status;
}

Result<std::vector<IngestStatus>> LocalStore::ListStatuses(
    const std::vector<std::string>& filters) {
  BERTH_ASSIGN_OR_RETURN(Filter filter, Filter::Parse(filters));
  BERTH_ASSIGN_OR_RETURN(auto names, ListDir(root_ + "/ingest"));
  std::vector<IngestStatus> statuses;
  for (const auto& name : names) {
    if (name.starts_with(".")) continue;
    auto status = ReadIngest(root_ + "/ingest/" + name);
    if (!status.ok()) continue;  // committed or aborted meanwhile, or being created
    if (!filter.Match([&](const auto& path) { return IngestField(*status, path); })) continue;
    statuses.push_back(std::move(status).value());
  }
  return statuses;
}

Status LocalStore::Abort(const std::string& ref) {
  BERTH_RETURN_IF_ERROR(ValidateRef(ref));
  if (!TryLock(ref)) {
    return Error(Code::kUnavailable, "ref locked: \"{}\" has an active writer", ref);
  }
  std::string dir = IngestDir(ref);
  Status status = ::access(dir.c_str(), F_OK) == 0
                      ? RemoveAll(dir)
                      : Error(Code::kNotFound, "no ingest for ref \"{}\"", ref);
  Unlock(ref);
  return status;
}

Result<size_t> LocalStore::ExpireLeftovers(int64_t cutoff, const std::set<std::string>& keep) {
  BERTH_ASSIGN_OR_RETURN(auto names, ListDir(root_ + "/ingest"));
  size_t removed = 0;
  for (const auto& name : names) {
    if (name.starts_with(".")) continue;
    std::string dir = root_ + "/ingest/" + name;
    auto ref = ReadFile(dir + "/ref");
    // Without a readable ref the dir cannot be locked; Open's TidyIngests removes it.
    if (!ref.ok() || IngestDir(*ref) != dir || keep.contains(*ref) || !TryLock(*ref)) continue;
    bool stale = !ReadIngest(dir).ok() && UnchangedSince(dir, cutoff);
    Status result = stale ? RemoveAll(dir) : Status::Ok();
    Unlock(*ref);
    if (!stale) continue;
    if (!result.ok()) return result;
    spdlog::info("expired an unreadable ingest ref={}", *ref);
    ++removed;
  }
  return removed;
}

Result<size_t> LocalStore::ExpireIngests(std::chrono::nanoseconds max_age,
                                         const std::set<std::string>& keep) {
  int64_t cutoff = NowUnixNanos() - max_age.count();
  BERTH_ASSIGN_OR_RETURN(size_t removed, ExpireLeftovers(cutoff, keep));
  BERTH_ASSIGN_OR_RETURN(auto statuses, ListStatuses());
  for (const auto& status : statuses) {
    if (status.updated_at >= cutoff) continue;
    if (keep.contains(status.ref)) {
      spdlog::debug("kept an idle ingest a lease holds ref={}", status.ref);
      continue;
    }
    if (!TryLock(status.ref)) continue;
    // Written to between the listing and the lock? Then it is not stale any more.
    auto current = ReadIngest(IngestDir(status.ref));
    Status result = Status::Ok();
    if (current.ok() && current->updated_at < cutoff) result = RemoveAll(IngestDir(status.ref));
    Unlock(status.ref);
    if (!current.ok() || current->updated_at >= cutoff) continue;
    if (!result.ok()) return result;
    spdlog::info("expired ingest ref={} offset={}", status.ref, status.offset);
    ++removed;
  }
  return removed;
}

Result<std::unique_ptr<Writer>> LocalStore::OpenWriter(const WriterOptions& options) {
  BERTH_RETURN_IF_ERROR(ValidateRef(options.ref));
  if (!options.expected.empty()) BERTH_RETURN_IF_ERROR(ValidateDigest(options.expected));
  BERTH_RETURN_IF_ERROR(ValidateSource(options.source_fd));
  if (!TryLock(options.ref)) {
    return Error(Code::kUnavailable, "ref locked: \"{}\" has another writer", options.ref);
  }
  auto writer = CreateOrResume(options);
  if (!writer.ok()) Unlock(options.ref);
  return writer;
}

Result<std::unique_ptr<Writer>> LocalStore::CreateOrResume(const WriterOptions& options) {
  if (!options.expected.empty() && ::access(BlobPath(options.expected).c_str(), F_OK) == 0) {
    return Error(Code::kAlreadyExists, "content {} already exists", options.expected);
  }
  IngestHandle handle;
  handle.ref = options.ref;
  handle.dir = IngestDir(options.ref);
  handle.source_fd = options.source_fd;
  auto existing = ReadIngest(handle.dir);
  if (existing.ok()) {
    IngestStatus& status = *existing;
    if (!options.expected.empty() && !status.expected.empty() &&
        options.expected != status.expected) {
      return Error(Code::kFailedPrecondition,
                   "ref \"{}\" is already writing {}, not {} (abort it first)", options.ref,
                   status.expected, options.expected);
    }
    if (options.total != 0 && status.total != 0 && options.total != status.total) {
      return Error(Code::kFailedPrecondition,
                   "ref \"{}\" is already writing {} bytes, not {} (abort it first)", options.ref,
                   status.total, options.total);
    }
    if (status.expected.empty() && !options.expected.empty()) {
      status.expected = options.expected;
      BERTH_RETURN_IF_ERROR(WriteSmallFile(handle.dir + "/expected", status.expected.ToString()));
    }
    if (status.total == 0 && options.total != 0) {
      status.total = options.total;
      BERTH_RETURN_IF_ERROR(WriteSmallFile(handle.dir + "/total", std::to_string(status.total)));
    }
    BERTH_ASSIGN_OR_RETURN(handle.data, OpenIngestData(handle.dir + "/data"));
    handle.status = std::move(status);
    return MakeLocalWriter(*this, std::move(handle));
  }
  if (existing.status().code() != Code::kNotFound || ::access(handle.dir.c_str(), F_OK) == 0) {
    // Unreadable leftovers (a power loss), or a dir without data (a crash inside Commit after
    // the data became a blob): nothing to resume, start the ref again. Left in place, the dir
    // would make the rename below fail and the write look like "already exists".
    spdlog::warn("restarting unreadable ingest ref={}: {}", options.ref,
                 existing.status().message());
    BERTH_RETURN_IF_ERROR(RemoveAll(handle.dir));
  }
  std::string tmp = root_ + "/ingest/.tmp-XXXXXX";
  if (::mkdtemp(tmp.data()) == nullptr) return ErrnoStatus(errno, "mkdtemp " + tmp);
  IngestStatus& status = handle.status;
  status.ref = options.ref;
  status.total = options.total;
  status.expected = options.expected;
  status.started_at = NowUnixNanos();
  status.updated_at = status.started_at;
  Status created = [&]() -> Status {
    BERTH_RETURN_IF_ERROR(WriteSmallFile(tmp + "/ref", status.ref));
    BERTH_RETURN_IF_ERROR(WriteSmallFile(tmp + "/total", std::to_string(status.total)));
    BERTH_RETURN_IF_ERROR(WriteSmallFile(tmp + "/expected", status.expected.ToString()));
    BERTH_RETURN_IF_ERROR(WriteSmallFile(tmp + "/startedat", std::to_string(status.started_at)));
    std::string data = tmp + "/data";
    handle.data = UniqueFd(::open(data.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!handle.data) return ErrnoStatus(errno, "create " + data);
    if (::rename(tmp.c_str(), handle.dir.c_str()) != 0) {
      return ErrnoStatus(errno, "rename " + tmp + " to " + handle.dir);
    }
    return Status::Ok();
  }();
  if (!created.ok()) {
    (void)RemoveAll(tmp);
    return created;
  }
  return MakeLocalWriter(*this, std::move(handle));
}

}  // namespace berth::content
