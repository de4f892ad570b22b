#pragma once
// Internals of archive import shared by archive_*.cc.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "client/archive.h"

namespace berth::client {

// Read and write size for archive files.
inline constexpr size_t kArchiveChunk = 1 << 20;

struct StoredBlob {
  Digest digest{};
  int64_t size = 0;
  std::string head{};  // the first bytes (compression sniffing)
};

// What one pass over an archive found.
struct ArchiveContents {
  std::map<std::string, std::string> files;  // small JSON files by path
  std::map<std::string, StoredBlob> blobs;   // everything else, now in the store, by path
  std::map<std::string, std::string> links;  // symlinks and hard links: path -> target path
  uint64_t written = 0;
  // The blob at `name`, following links; nullptr when absent.
  const StoredBlob* Blob(const std::string& name) const;
};

// "./a/../b//c" -> "b/c" (".." never climbs above the archive root).
std::string CleanArchivePath(std::string_view path);

Result<ArchiveContents> ReadArchive(const std::string& path, content::Store& store,
                                    const ImportOptions& options);
Result<std::vector<ArchiveImage>> OciLayoutImages(const ArchiveContents& c, content::Store& store,
                                                  const ImportOptions& options);
Result<std::vector<ArchiveImage>> DockerImages(const ArchiveContents& c, content::Store& store,
                                               const ImportOptions& options);

}  // namespace berth::client
