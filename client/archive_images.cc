// The images of an imported archive: OCI index.json entries, or docker manifest.json entries
// turned into OCI manifests.
#include <nlohmann/json.hpp>

#include "client/archive_internal.h"
#include "client/reference.h"

namespace berth::client {
namespace {

constexpr char kContainerdName[] = "io.containerd.image.name";
constexpr char kOciRefName[] = "org.opencontainers.image.ref.name";

std::string NameFor(const Descriptor& d, const ImportOptions& options) {
  if (auto it = d.annotations.find(kContainerdName); it != d.annotations.end()) {
    if (auto ref = ParseReference(it->second); ref.ok()) return ref->String();
  }
  auto it = d.annotations.find(kOciRefName);
  if (it == d.annotations.end()) return "";
  const std::string& ref_name = it->second;
  if (ref_name.find('/') != std::string::npos) {
    if (auto ref = ParseReference(ref_name); ref.ok()) return ref->String();
  }
  if (!options.base_name.empty() && ValidateTag(ref_name).ok()) {
    if (auto ref = ParseReference(options.base_name + ":" + ref_name); ref.ok()) {
      return ref->String();
    }
  }
  return "";
}

// Stores a generated document (config or manifest) and describes it.
Result<Descriptor> PutDocument(content::Store& store, std::string_view type,
                               const std::string& bytes, const ImportOptions& options) {
  Descriptor d;
  d.media_type = std::string(type);
  BERTH_ASSIGN_OR_RETURN(d.digest, DigestBytes(bytes));
  d.size = static_cast<int64_t>(bytes.size());
  if (options.on_blob) BERTH_RETURN_IF_ERROR(options.on_blob(d.digest));
  BERTH_RETURN_IF_ERROR(content::WriteBlob(store, "import-" + d.digest.hex, bytes, d.digest));
  return d;
}

std::string_view LayerType(const StoredBlob& blob) {
  switch (media::SniffCompression(blob.head)) {
    case media::Compression::kGzip:
      return media::kOciLayerGzip;
    case media::Compression::kZstd:
      return media::kOciLayerZstd;
    default:
      return media::kOciLayer;
  }
}

Result<ArchiveImage> DockerEntry(const ArchiveContents& c, content::Store& store,
                                 const nlohmann::json& entry, const ImportOptions& options) {
  if (!entry.is_object() || !entry.contains("Config") || !entry["Config"].is_string() ||
      !entry.contains("Layers") || !entry["Layers"].is_array()) {
    return Status(Code::kInvalidArgument, "manifest.json entry without Config and Layers");
  }
  std::string config_path = CleanArchivePath(entry["Config"].get<std::string>());
  std::string config;
  if (auto it = c.files.find(config_path); it != c.files.end()) {
    config = it->second;
  } else if (const StoredBlob* blob = c.Blob(config_path)) {
    BERTH_ASSIGN_OR_RETURN(config, content::ReadBlob(store, blob->digest));
  } else {
    return Error(Code::kInvalidArgument, "archive lacks the config {}", config_path);
  }
  BERTH_ASSIGN_OR_RETURN(ImageConfig parsed, ParseImageConfig(config));
  const auto& layers = entry["Layers"];
  if (layers.size() != parsed.diff_ids.size()) {
    return Error(Code::kInvalidArgument, "{}: {} layers but {} diff_ids", config_path,
                 layers.size(), parsed.diff_ids.size());
  }
  Manifest m;
  m.media_type = std::string(media::kOciManifest);
  BERTH_ASSIGN_OR_RETURN(m.config, PutDocument(store, media::kOciConfig, config, options));
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!layers[i].is_string()) return Status(Code::kInvalidArgument, "bad Layers entry");
    const StoredBlob* blob = c.Blob(layers[i].get<std::string>());
    if (blob == nullptr) {
      return Error(Code::kInvalidArgument, "archive lacks the layer {}",
                   layers[i].get<std::string>());
    }
    std::string_view type = LayerType(*blob);
    if (type == media::kOciLayer && blob->digest != parsed.diff_ids[i]) {
      return Error(Code::kDataLoss, "layer {} is {}, but the config says {}",
                   layers[i].get<std::string>(), blob->digest, parsed.diff_ids[i]);
    }
    m.layers.push_back(
        Descriptor{.media_type = std::string(type), .digest = blob->digest, .size = blob->size});
  }
  ArchiveImage image;
  BERTH_ASSIGN_OR_RETURN(image.target,
                         PutDocument(store, media::kOciManifest, Serialize(m), options));
  return image;
}

}  // namespace

Result<std::vector<ArchiveImage>> OciLayoutImages(const ArchiveContents& c, content::Store& store,
                                                  const ImportOptions& options) {
  if (auto it = c.files.find("oci-layout"); it != c.files.end()) {
    auto layout = nlohmann::json::parse(it->second, nullptr, false);
    if (!layout.is_object() || !layout.contains("imageLayoutVersion")) {
      return Status(Code::kInvalidArgument, "oci-layout lacks imageLayoutVersion");
    }
  }
  BERTH_ASSIGN_OR_RETURN(Index index, ParseIndex("", c.files.at("index.json")));
  std::vector<ArchiveImage> out;
  for (const Descriptor& d : index.manifests) {
    auto info = store.GetInfo(d.digest);
    if (!info.ok()) {
      return Error(Code::kInvalidArgument, "index.json names {} but the archive lacks it",
                   d.digest);
    }
    if (static_cast<int64_t>(info->size) != d.size) {
      return Error(Code::kDataLoss, "{}: size {} but index.json says {}", d.digest, info->size,
                   d.size);
    }
    BERTH_ASSIGN_OR_RETURN(std::string bytes, content::ReadBlob(store, d.digest));
    BERTH_RETURN_IF_ERROR(
        ParseDocument(d.media_type, bytes).status().Annotate(d.digest.ToString()));
    Descriptor target = d;
    target.annotations.clear();
    target.platform.reset();
    out.push_back({NameFor(d, options), std::move(target)});
  }
  return out;
}

Result<std::vector<ArchiveImage>> DockerImages(const ArchiveContents& c, content::Store& store,
                                               const ImportOptions& options) {
  auto doc = nlohmann::json::parse(c.files.at("manifest.json"), nullptr, false);
  if (!doc.is_array()) return Status(Code::kInvalidArgument, "manifest.json is not an array");
  std::vector<ArchiveImage> out;
  for (const auto& entry : doc) {
    BERTH_ASSIGN_OR_RETURN(ArchiveImage image, DockerEntry(c, store, entry, options));
    std::vector<std::string> names;
    if (entry.contains("RepoTags") && entry["RepoTags"].is_array()) {
      for (const auto& tag : entry["RepoTags"]) {
        if (!tag.is_string()) continue;
        BERTH_ASSIGN_OR_RETURN(Reference ref, ParseReference(tag.get<std::string>()));
        names.push_back(ref.String());
      }
    }
    if (names.empty()) names.push_back("");
    for (const std::string& name : names) out.push_back({name, image.target});
  }
  return out;
}

}  // namespace berth::client
