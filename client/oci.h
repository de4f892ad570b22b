#pragma once
// OCI image-spec v1 and Docker schema 2 JSON documents: descriptors, manifests, indexes (manifest
// lists) and image configs, parsed strictly and serialised back.
//
// Parsing never trusts a document: wrong JSON types, malformed digests, negative sizes, a
// document that has both manifest fields (config, layers) and index fields (manifests), or whose
// own "mediaType" disagrees with the descriptor that led to it are all INVALID_ARGUMENT with a
// message naming the field. Docker schema 1 is refused (UNIMPLEMENTED). Unknown fields are kept
// nowhere: documents are re-read from their stored bytes, never re-serialised for storage, so
// digests stay those of the original bytes.
//
// Thread-safety: plain values and pure functions.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "common/status.h"

namespace berth::client {

using Annotations = std::map<std::string, std::string>;

// Largest manifest, index or config Berth reads into memory.
inline constexpr uint64_t kMaxDocumentSize = 8 << 20;

struct Platform {
  std::string os{};            // "linux"
  std::string architecture{};  // "amd64", "arm64", "arm", ...
  std::string variant{};       // "v7", "v8"; may be empty
  std::string os_version{};
  std::vector<std::string> os_features{};
  bool operator==(const Platform&) const = default;
};

struct Descriptor {
  std::string media_type{};
  Digest digest{};
  int64_t size = 0;
  std::vector<std::string> urls{};
  Annotations annotations{};
  std::optional<Platform> platform{};
  std::string artifact_type{};
};

struct Manifest {
  std::string media_type{};  // as written in the document; may be empty for OCI
  Descriptor config{};
  std::vector<Descriptor> layers{};
  Annotations annotations{};
};

struct Index {
  std::string media_type{};
  std::vector<Descriptor> manifests{};
  Annotations annotations{};
};

struct ImageConfig {
  Platform platform{};
  std::vector<Digest> diff_ids{};  // rootfs.diff_ids, one per layer, bottom first
  nlohmann::json raw{};            // the whole document (for run: config.Env, Cmd, ...)
};

// A manifest or an index, and the media type it was read as.
struct Document {
  std::string media_type{};
  std::variant<Manifest, Index> body{};
  bool is_index() const { return std::holds_alternative<Index>(body); }
  const Manifest& manifest() const { return std::get<Manifest>(body); }
  const Index& index() const { return std::get<Index>(body); }
};

// Parses a manifest or index reached through a descriptor of `media_type`. When `media_type` is
// not a manifest or index type (e.g. "application/json" from a registry), the document's own
// mediaType field decides, then its shape (manifests -> OCI index, config -> OCI manifest).
Result<Document> ParseDocument(std::string_view media_type, std::string_view bytes);
Result<Manifest> ParseManifest(std::string_view media_type, std::string_view bytes);
Result<Index> ParseIndex(std::string_view media_type, std::string_view bytes);
Result<ImageConfig> ParseImageConfig(std::string_view bytes);

Result<Descriptor> DescriptorFromJson(const nlohmann::json& json);
Result<Platform> PlatformFromJson(const nlohmann::json& json);
nlohmann::json ToJson(const Descriptor& descriptor);
nlohmann::json ToJson(const Platform& platform);
// Serialised documents (schemaVersion 2, mediaType set), as bytes to hash and store.
std::string Serialize(const Manifest& manifest);
std::string Serialize(const Index& index);

// Checks that `bytes` are exactly what `descriptor` names (size, then digest). DATA_LOSS with
// both digests in the message on a mismatch.
Status VerifyBytes(const Descriptor& descriptor, std::string_view bytes);

// Chain IDs of the OCI image spec: chain[0] = diff[0], chain[n] = sha256(chain[n-1] + " " +
// diff[n]). Snapshots of image layers are committed under these.
std::vector<Digest> ChainIds(const std::vector<Digest>& diff_ids);

}  // namespace berth::client
