#include "services/snapshot/apply.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/fs.h"
#include "common/unique_fd.h"

namespace berth::snapshot {
namespace {

struct ReadContext {
  LayerStream* stream;
  Status error;
  uint64_t delivered = 0;  // uncompressed bytes handed to libarchive
};

la_ssize_t ReadCallback(struct archive* a, void* client, const void** buffer) {
  auto* context = static_cast<ReadContext*>(client);
  auto chunk = context->stream->Next();
  if (!chunk.ok()) {
    context->error = chunk.status();
    archive_set_error(a, EIO, "%s", chunk.status().message().c_str());
    return -1;
  }
  *buffer = chunk->data();
  context->delivered += chunk->size();
  return static_cast<la_ssize_t>(chunk->size());
}

using ArchivePtr = CPtr<struct archive, archive_read_free>;

Result<mode_t> EntryType(struct archive_entry* e) {
  switch (archive_entry_filetype(e)) {
    case AE_IFREG:
      return S_IFREG;
    case AE_IFDIR:
      return S_IFDIR;
    case AE_IFLNK:
      return S_IFLNK;
    case AE_IFCHR:
      return S_IFCHR;
    case AE_IFBLK:
      return S_IFBLK;
    case AE_IFIFO:
      return S_IFIFO;
    default:
      return Error(Code::kInvalidArgument, "unsupported entry type {:o}",
                   archive_entry_filetype(e));
  }
}

Result<Entry> ToEntry(struct archive_entry* e, const ApplyLimits& limits) {
  Entry entry;
  const char* name = archive_entry_pathname(e);
  if (!name) return Status(Code::kInvalidArgument, "entry without a name");
  BERTH_ASSIGN_OR_RETURN(entry.path, NormalizeEntryPath(name));
  auto annotate = [&](const Status& s) {
    return s.Annotate(fmt::format("entry \"{:.512}\"", name));
  };
  if (const char* hardlink = archive_entry_hardlink(e)) {
    auto target = NormalizeEntryPath(hardlink);
    if (!target.ok()) return annotate(target.status());
    entry.hardlink = true;
    entry.link = std::move(*target);
  } else {
    auto type = EntryType(e);
    if (!type.ok()) return annotate(type.status());
    entry.type = *type;
  }
  if (entry.type == S_IFLNK) {
    const char* target = archive_entry_symlink(e);
    entry.link = target ? target : "";
    if (entry.link.size() > kMaxPathLength) {
      return annotate(Status(Code::kInvalidArgument, "symlink target is too long"));
    }
  }
  entry.mode = archive_entry_perm(e) & 07777;
  int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
  if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX) {
    return annotate(Status(Code::kInvalidArgument, "owner id out of range"));
  }
  entry.uid = static_cast<uid_t>(uid);
  entry.gid = static_cast<gid_t>(gid);
  entry.mtime = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
  entry.atime = archive_entry_atime_is_set(e)
                    ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)}
                    : timespec{0, UTIME_OMIT};
  entry.rdev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
  entry.size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
  const char* key;
  const void* value;
  size_t size, total = 0;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
    total += std::strlen(key) + size;
    if (total > limits.max_xattr_bytes) {
      return annotate(Status(Code::kResourceExhausted, "extended attributes are too large"));
    }
    entry.xattrs.emplace_back(key, std::string(static_cast<const char*>(value), size));
  }
  return entry;
}

Status ArchiveError(struct archive* a, const ReadContext& context, const std::string& last) {
  if (!context.error.ok()) return context.error;
  const char* message = archive_error_string(a);
  return Error(Code::kInvalidArgument, "layer is not a valid tar{}: {}",
               last.empty() ? "" : fmt::format(" (after entry \"{:.512}\")", last),
               message ? message : "unknown error");
}

Status ReadEntries(struct archive* a, ReadContext& context, EntryWriter& writer,
                   const ApplyLimits& limits, uint64_t& entries) {
  std::string last;
  DataSource data = [a](const void** block, size_t* size, int64_t* offset) -> Result<bool> {
    la_int64_t off = 0;
    int rc = archive_read_data_block(a, block, size, &off);
    if (rc == ARCHIVE_EOF) return false;
    if (rc < ARCHIVE_WARN) {
      const char* message = archive_error_string(a);
      return Error(Code::kInvalidArgument, "reading file data: {}", message ? message : "?");
    }
    *offset = off;
    return true;
  };
  for (;;) {
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(a, &e);
    if (rc == ARCHIVE_EOF) return Status::Ok();
    if (rc < ARCHIVE_WARN) return ArchiveError(a, context, last);
    if (++entries > limits.max_entries) {
      return Error(Code::kResourceExhausted, "layer has more than {} entries (the limit)",
                   limits.max_entries);
    }
    BERTH_ASSIGN_OR_RETURN(Entry entry, ToEntry(e, limits));
    Status status = writer.Write(entry, data);
    if (!status.ok()) return context.error.ok() ? status : context.error;
    last = std::move(entry.path);
  }
}

}  // namespace

Result<ApplyResult> ApplyLayer(const std::string& root, ByteSource& source,
                               const ApplyOptions& options) {
  EntryWriterOptions writer_options;
  writer_options.whiteouts = options.whiteouts;
  writer_options.lower_dirs = options.lower_dirs;
  writer_options.max_file_size = options.limits.max_file_size;
  BERTH_ASSIGN_OR_RETURN(auto writer, EntryWriter::Open(root, std::move(writer_options)));

  LayerStreamOptions stream_options;
  stream_options.compression = options.compression;
  stream_options.max_bytes = options.limits.max_bytes;
  stream_options.chunk_size = std::max<size_t>(options.chunk_size, 512);
  LayerStream stream(source, stream_options);
  ReadContext context{&stream, Status::Ok()};

  ArchivePtr archive(archive_read_new());
  if (!archive) return Status(Code::kInternal, "archive_read_new failed");
  archive_read_support_format_tar(archive.get());
  ApplyResult result;
  Status status;
  if (archive_read_open(archive.get(), &context, nullptr, ReadCallback, nullptr) == ARCHIVE_OK) {
    status = ReadEntries(archive.get(), context, *writer, options.limits, result.entries);
  } else if (context.delivered > 0 || !context.error.ok()) {
    // Only an empty stream (an empty layer) may fail to open.
    status = ArchiveError(archive.get(), context, "");
  }
  if (status.ok()) status = writer->Finish();
  if (!status.ok()) {
    stream.Cancel();
    return status;
  }
  archive.reset();
  BERTH_RETURN_IF_ERROR(stream.Drain());
  if (options.sync) {
    BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenDirectory(root, false));
    if (::syncfs(fd.get()) != 0) return ErrnoStatus(errno, "syncfs " + root);
  }
  result.diff_id = stream.diff_id();
  result.size = stream.size();
  return result;
}

}  // namespace berth::snapshot
