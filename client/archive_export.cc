// ExportArchive: images from the content store as an OCI layout tar.
#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include <nlohmann/json.hpp>

#include "client/archive.h"
#include "client/archive_internal.h"
#include "client/reference.h"

namespace berth::client {
namespace {

Status ArchiveError(archive* a, std::string_view what) {
  return Error(Code::kInternal, "{}: {}", what, archive_error_string(a));
}

Status AddEntry(archive* a, const std::string& name, int64_t size, mode_t type) {
  CPtr<archive_entry, archive_entry_free> e(archive_entry_new());
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), type);
  archive_entry_set_perm(e.get(), type == AE_IFDIR ? 0755 : 0644);
  archive_entry_set_size(e.get(), type == AE_IFDIR ? 0 : size);
  archive_entry_set_mtime(e.get(), 0, 0);
  if (archive_write_header(a, e.get()) != ARCHIVE_OK) return ArchiveError(a, name);
  return Status::Ok();
}

Status AddBytes(archive* a, const std::string& name, std::string_view data) {
  BERTH_RETURN_IF_ERROR(AddEntry(a, name, static_cast<int64_t>(data.size()), AE_IFREG));
  if (archive_write_data(a, data.data(), data.size()) != static_cast<la_ssize_t>(data.size())) {
    return ArchiveError(a, name);
  }
  return Status::Ok();
}

Status AddBlob(archive* a, content::Store& store, const Descriptor& d) {
  BERTH_ASSIGN_OR_RETURN(auto reader, store.OpenReader(d.digest));
  if (static_cast<int64_t>(reader->Size()) != d.size) {
    return Error(Code::kDataLoss, "{}: stored size {} differs from the descriptor's {}", d.digest,
                 reader->Size(), d.size);
  }
  std::string name = "blobs/" + d.digest.algorithm + "/" + d.digest.hex;
  BERTH_RETURN_IF_ERROR(AddEntry(a, name, d.size, AE_IFREG));
  std::string buffer(kArchiveChunk, '\0');
  for (uint64_t offset = 0; offset < reader->Size();) {
    BERTH_ASSIGN_OR_RETURN(size_t n, reader->ReadAt(offset, buffer.data(), buffer.size()));
    if (n == 0) return Error(Code::kDataLoss, "{}: blob ended early", d.digest);
    if (archive_write_data(a, buffer.data(), n) != static_cast<la_ssize_t>(n)) {
      return ArchiveError(a, name);
    }
    offset += n;
  }
  return Status::Ok();
}

nlohmann::json IndexEntry(const ArchiveImage& image) {
  nlohmann::json j = ToJson(image.target);
  if (!image.name.empty()) {
    j["annotations"]["io.containerd.image.name"] = image.name;
    auto ref = ParseReference(image.name);
    j["annotations"]["org.opencontainers.image.ref.name"] =
        ref.ok() && !ref->tag.empty() ? ref->tag : image.name;
  }
  return j;
}

Status WriteTar(archive* a, content::Store& store, const std::vector<ArchiveImage>& images,
                const std::vector<Descriptor>& blobs) {
  BERTH_RETURN_IF_ERROR(AddBytes(a, "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  nlohmann::json index = {{"schemaVersion", 2},
                          {"mediaType", media::kOciIndex},
                          {"manifests", nlohmann::json::array()}};
  for (const ArchiveImage& image : images) index["manifests"].push_back(IndexEntry(image));
  BERTH_RETURN_IF_ERROR(AddBytes(a, "index.json", index.dump()));
  BERTH_RETURN_IF_ERROR(AddEntry(a, "blobs/", 0, AE_IFDIR));
  std::set<std::string> dirs;
  for (const Descriptor& d : blobs) {
    if (dirs.insert(d.digest.algorithm).second) {
      BERTH_RETURN_IF_ERROR(AddEntry(a, "blobs/" + d.digest.algorithm + "/", 0, AE_IFDIR));
    }
    BERTH_RETURN_IF_ERROR(AddBlob(a, store, d));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<Descriptor>> ReachableBlobs(content::Store& store, const Descriptor& target,
                                               const std::optional<PlatformMatcher>& platform) {
  std::vector<Descriptor> out;
  std::set<Digest> seen;
  std::vector<std::pair<Descriptor, bool>> stack{{target, false}};  // (blob, optional)
  while (!stack.empty()) {
    auto [d, optional] = std::move(stack.back());
    stack.pop_back();
    if (!seen.insert(d.digest).second) continue;
    bool is_doc = media::IsIndex(d.media_type) || media::IsManifest(d.media_type);
    if (optional && !store.GetInfo(d.digest).ok()) continue;
    out.push_back(d);
    if (!is_doc) continue;
    auto bytes = content::ReadBlob(store, d.digest);
    if (!bytes.ok()) return bytes.status().Annotate(fmt::format("read {}", d.digest));
    BERTH_RETURN_IF_ERROR(VerifyBytes(d, *bytes));
    BERTH_ASSIGN_OR_RETURN(Document doc, ParseDocument(d.media_type, *bytes));
    if (doc.is_index()) {
      const auto& children = doc.index().manifests;
      for (auto it = children.rbegin(); it != children.rend(); ++it) {
        bool wanted = !platform || !it->platform || platform->Match(*it->platform);
        if (platform && !wanted) continue;
        stack.push_back({*it, platform.has_value()});
      }
    } else {
      const Manifest& m = doc.manifest();
      for (auto it = m.layers.rbegin(); it != m.layers.rend(); ++it) stack.push_back({*it, false});
      stack.push_back({m.config, false});
    }
  }
  return out;
}

Status ExportArchive(const std::string& path, content::Store& store,
                     const std::vector<ArchiveImage>& images, const ExportOptions& options) {
  std::vector<Descriptor> blobs;
  std::set<Digest> seen;
  for (const ArchiveImage& image : images) {
    BERTH_ASSIGN_OR_RETURN(auto reach, ReachableBlobs(store, image.target, options.platform));
    for (Descriptor& d : reach) {
      if (seen.insert(d.digest).second) blobs.push_back(std::move(d));
    }
  }
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  CPtr<archive, archive_write_free> a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  if (options.compression == media::Compression::kGzip) archive_write_add_filter_gzip(a.get());
  if (options.compression == media::Compression::kZstd) archive_write_add_filter_zstd(a.get());
  if (archive_write_open_filename(a.get(), tmp.c_str()) != ARCHIVE_OK) {
    return ArchiveError(a.get(), tmp);
  }
  Status s = WriteTar(a.get(), store, images, blobs);
  if (s.ok() && archive_write_close(a.get()) != ARCHIVE_OK) s = ArchiveError(a.get(), tmp);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoStatus(errno, "rename " + tmp);
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

}  // namespace berth::client
