// ImportArchive: one pass over the tar into the content store, then the images.
#include <archive.h>
#include <archive_entry.h>

#include <map>
#include <set>

#include "client/archive.h"
#include "client/archive_internal.h"
#include "client/local_image.h"
#include "client/reference.h"

namespace berth::client {
namespace {

// Streams the current entry's data into the store. `expected` empty: committed under the digest
// of what was written. Returns the committed blob.
Result<StoredBlob> StoreEntry(archive* a, content::Store& store, const std::string& name,
                              const Digest& expected, int64_t size, uint64_t* written) {
  content::WriterOptions wo;
  wo.ref = "import-" + (expected.empty() ? DigestBytes(name).value().hex : expected.hex);
  wo.expected = expected;
  wo.total = static_cast<uint64_t>(size);
  StoredBlob blob{expected, size, {}};
  auto writer = store.OpenWriter(wo);
  if (!writer.ok() && writer.status().code() == Code::kAlreadyExists) {
    std::string head(16, '\0');  // still sniff the compression
    la_ssize_t n = archive_read_data(a, head.data(), head.size());
    head.resize(n > 0 ? n : 0);
    blob.head = head;
    return blob;
  }
  if (!writer.ok()) return writer.status();
  BERTH_RETURN_IF_ERROR((*writer)->Truncate(0));  // a leftover ingest restarts from scratch
  std::string buffer(kArchiveChunk, '\0');
  int64_t total = 0;
  while (true) {
    la_ssize_t n = archive_read_data(a, buffer.data(), buffer.size());
    if (n < 0) return Error(Code::kInvalidArgument, "{}: {}", name, archive_error_string(a));
    if (n == 0) break;
    if (blob.head.size() < 16) blob.head.append(buffer.data(), std::min<size_t>(n, 16));
    BERTH_RETURN_IF_ERROR((*writer)->Write(std::string_view(buffer.data(), n)));
    total += n;
  }
  if (total != size) return Error(Code::kDataLoss, "{}: short entry in the archive", name);
  Digest digest = expected;
  if (digest.empty()) {
    BERTH_ASSIGN_OR_RETURN(digest, (*writer)->CurrentDigest());
  }
  Status committed = (*writer)->Commit(static_cast<uint64_t>(size), digest);
  if (!committed.ok()) {
    writer->reset();            // releases the ref, then
    (void)store.Abort(wo.ref);  // bad bytes must not be resumed later
    if (committed.code() == Code::kFailedPrecondition) {
      return Status(Code::kDataLoss, fmt::format("{}: {}", name, committed.message()));
    }
    return committed;
  }
  *written += static_cast<uint64_t>(size);
  blob.digest = digest;
  return blob;
}

// blobs/<alg>/<hex> -> the digest; empty otherwise.
Digest BlobPathDigest(std::string_view name) {
  if (!name.starts_with("blobs/")) return {};
  name.remove_prefix(6);
  size_t slash = name.find('/');
  if (slash == std::string_view::npos) return {};
  auto d =
      ParseDigest(std::string(name.substr(0, slash)) + ":" + std::string(name.substr(slash + 1)));
  return d.ok() ? *d : Digest{};
}

// `<layer id>/json` and `<layer id>/VERSION`: the per-layer metadata of the v1 image format
// that `docker save` (and skopeo's docker-archive) still writes next to `<layer id>/layer.tar`.
// Nothing refers to them by digest, so storing them would only leave unreferenced blobs.
bool IsLegacyLayerMetadata(std::string_view name) {
  size_t slash = name.rfind('/');
  if (slash == std::string_view::npos || name.find('/') != slash) return false;
  std::string_view base = name.substr(slash + 1);
  return base == "json" || base == "VERSION";
}

}  // namespace

std::string CleanArchivePath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(start, slash - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = slash + 1;
  }
  std::string out;
  for (auto p : parts) out += (out.empty() ? "" : "/") + std::string(p);
  return out;
}

Result<ArchiveContents> ReadArchive(const std::string& path, content::Store& store,
                                    const ImportOptions& options) {
  CPtr<archive, archive_read_free> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), kArchiveChunk) != ARCHIVE_OK) {
    return Error(Code::kInvalidArgument, "{}: {}", path, archive_error_string(a.get()));
  }
  ArchiveContents c;
  archive_entry* e = nullptr;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    std::string name = CleanArchivePath(archive_entry_pathname(e));
    if (const char* hard = archive_entry_hardlink(e)) {
      c.links[name] = CleanArchivePath(hard);
      continue;
    }
    if (archive_entry_filetype(e) == AE_IFLNK) {
      std::string dir = name.substr(0, name.rfind('/') == std::string::npos ? 0 : name.rfind('/'));
      c.links[name] = CleanArchivePath(dir + "/" + archive_entry_symlink(e));
      continue;
    }
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    int64_t size = archive_entry_size(e);
    Digest digest = BlobPathDigest(name);
    if (digest.empty() && IsLegacyLayerMetadata(name)) continue;  // not content: never stored
    bool small_json = digest.empty() && size <= static_cast<int64_t>(kMaxDocumentSize) &&
                      (name.ends_with(".json") || name == "oci-layout" || name == "repositories");
    if (small_json) {
      std::string data(size, '\0');
      if (archive_read_data(a.get(), data.data(), data.size()) != size) {
        return Error(Code::kInvalidArgument, "{}: cannot read {}", path, name);
      }
      c.files[name] = std::move(data);
      continue;
    }
    if (!digest.empty() && options.on_blob) BERTH_RETURN_IF_ERROR(options.on_blob(digest));
    auto blob = StoreEntry(a.get(), store, name, digest, size, &c.written);
    if (!blob.ok()) return blob.status().Annotate(path);
    if (digest.empty() && options.on_blob) BERTH_RETURN_IF_ERROR(options.on_blob(blob->digest));
    c.blobs[name] = std::move(blob).value();
  }
  if (rc != ARCHIVE_EOF) {
    return Error(Code::kInvalidArgument, "{}: not a readable tar archive: {}", path,
                 archive_error_string(a.get()));
  }
  return c;
}

const StoredBlob* ArchiveContents::Blob(const std::string& name) const {
  std::string n = CleanArchivePath(name);
  for (int hops = 0; hops < 8; ++hops) {
    if (auto it = blobs.find(n); it != blobs.end()) return &it->second;
    auto link = links.find(n);
    if (link == links.end()) return nullptr;
    n = link->second;
  }
  return nullptr;
}

Result<ImportResult> ImportArchive(const std::string& path, content::Store& store,
                                   const ImportOptions& options) {
  BERTH_ASSIGN_OR_RETURN(ArchiveContents c, ReadArchive(path, store, options));
  ImportResult result;
  result.blobs = c.blobs.size();
  result.written = c.written;
  if (c.files.count("index.json")) {
    BERTH_ASSIGN_OR_RETURN(result.images, OciLayoutImages(c, store, options));
  } else if (c.files.count("manifest.json")) {
    BERTH_ASSIGN_OR_RETURN(result.images, DockerImages(c, store, options));
  } else {
    return Error(Code::kInvalidArgument,
                 "{}: neither an OCI layout (index.json) nor a docker save archive "
                 "(manifest.json)",
                 path);
  }
  // GC labels, as a pull sets them: the caller's image records then keep everything alive.
  std::set<Digest> labelled;
  for (const ArchiveImage& image : result.images) {
    if (!labelled.insert(image.target.digest).second) continue;
    Status s = LabelImageContent(store, image.target);
    if (!s.ok()) return s.Annotate(fmt::format("{}: label {}", path, image.target.digest));
  }
  return result;
}

}  // namespace berth::client
