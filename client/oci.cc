#include "client/oci.h"

#include "client/media_types.h"

namespace berth::client {
namespace {

using json = nlohmann::json;

Status Invalid(std::string_view what) { return Status(Code::kInvalidArgument, std::string(what)); }

// Reads an optional string field; INVALID_ARGUMENT when present with another type.
Status OptString(const json& obj, const char* key, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return Invalid(fmt::format("field \"{}\" must be a string", key));
  out = it->get<std::string>();
  return Status::Ok();
}

Status OptStrings(const json& obj, const char* key, std::vector<std::string>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return Invalid(fmt::format("field \"{}\" must be an array", key));
  for (const json& v : *it) {
    if (!v.is_string()) return Invalid(fmt::format("field \"{}\" must hold strings", key));
    out.push_back(v.get<std::string>());
  }
  return Status::Ok();
}

Status OptAnnotations(const json& obj, const char* key, Annotations& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return Invalid(fmt::format("field \"{}\" must be an object", key));
  for (auto& [k, v] : it->items()) {
    if (!v.is_string()) return Invalid(fmt::format("\"{}\" values must be strings", key));
    out[k] = v.get<std::string>();
  }
  return Status::Ok();
}

Result<json> ParseObject(std::string_view bytes, std::string_view what) {
  json doc = json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Invalid(fmt::format("{} is not valid JSON", what));
  if (!doc.is_object()) return Invalid(fmt::format("{} is not a JSON object", what));
  return doc;
}

Status CheckSchemaVersion(const json& doc, std::string_view what) {
  auto it = doc.find("schemaVersion");
  if (it == doc.end() || !it->is_number_integer()) {
    return Invalid(fmt::format("{}: missing integer schemaVersion", what));
  }
  if (it->get<int64_t>() == 1) {
    return Status(Code::kUnimplemented,
                  "Docker schema 1 manifests are not supported: push the image again with a "
                  "current client (schema 2 or OCI)");
  }
  if (it->get<int64_t>() != 2) return Invalid(fmt::format("{}: schemaVersion must be 2", what));
  return Status::Ok();
}

// The document's own mediaType must agree with the descriptor's (when both are known).
Status CheckMediaType(const json& doc, std::string_view expected, std::string& out) {
  BERTH_RETURN_IF_ERROR(OptString(doc, "mediaType", out));
  if (!out.empty() && !expected.empty() && out != expected) {
    return Invalid(fmt::format("document mediaType \"{}\" disagrees with its descriptor's \"{}\"",
                               out, expected));
  }
  return Status::Ok();
}

Result<std::vector<Descriptor>> DescriptorArray(const json& doc, const char* key, bool required) {
  std::vector<Descriptor> out;
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) {
    if (required) return Invalid(fmt::format("missing field \"{}\"", key));
    return out;
  }
  if (!it->is_array()) return Invalid(fmt::format("field \"{}\" must be an array", key));
  for (size_t i = 0; i < it->size(); ++i) {
    auto d = DescriptorFromJson((*it)[i]);
    if (!d.ok()) return d.status().Annotate(fmt::format("{}[{}]", key, i));
    out.push_back(std::move(d).value());
  }
  return out;
}

std::string GuessType(const json& doc) {
  std::string type;
  if (auto it = doc.find("mediaType"); it != doc.end() && it->is_string()) {
    type = it->get<std::string>();
  }
  if (media::IsIndex(type) || media::IsManifest(type)) return type;
  if (doc.contains("manifests")) return std::string(media::kOciIndex);
  if (doc.contains("config")) return std::string(media::kOciManifest);
  return type;
}

}  // namespace

Result<Platform> PlatformFromJson(const json& j) {
  if (!j.is_object()) return Invalid("platform must be an object");
  Platform p;
  BERTH_RETURN_IF_ERROR(OptString(j, "os", p.os));
  BERTH_RETURN_IF_ERROR(OptString(j, "architecture", p.architecture));
  BERTH_RETURN_IF_ERROR(OptString(j, "variant", p.variant));
  BERTH_RETURN_IF_ERROR(OptString(j, "os.version", p.os_version));
  BERTH_RETURN_IF_ERROR(OptStrings(j, "os.features", p.os_features));
  return p;
}

Result<Descriptor> DescriptorFromJson(const json& j) {
  if (!j.is_object()) return Invalid("descriptor must be an object");
  Descriptor d;
  BERTH_RETURN_IF_ERROR(OptString(j, "mediaType", d.media_type));
  if (d.media_type.empty()) return Invalid("descriptor without mediaType");
  auto digest = j.find("digest");
  if (digest == j.end() || !digest->is_string()) return Invalid("descriptor without digest");
  BERTH_ASSIGN_OR_RETURN(d.digest, ParseDigest(digest->get<std::string>()));
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
    return Invalid("descriptor size must be a non-negative integer");
  }
  d.size = size->get<int64_t>();
  BERTH_RETURN_IF_ERROR(OptStrings(j, "urls", d.urls));
  BERTH_RETURN_IF_ERROR(OptAnnotations(j, "annotations", d.annotations));
  BERTH_RETURN_IF_ERROR(OptString(j, "artifactType", d.artifact_type));
  if (auto p = j.find("platform"); p != j.end() && !p->is_null()) {
    BERTH_ASSIGN_OR_RETURN(d.platform, PlatformFromJson(*p));
  }
  return d;
}

json ToJson(const Platform& p) {
  json j = {{"architecture", p.architecture}, {"os", p.os}};
  if (!p.variant.empty()) j["variant"] = p.variant;
  if (!p.os_version.empty()) j["os.version"] = p.os_version;
  if (!p.os_features.empty()) j["os.features"] = p.os_features;
  return j;
}

json ToJson(const Descriptor& d) {
  json j = {{"mediaType", d.media_type}, {"digest", d.digest.ToString()}, {"size", d.size}};
  if (!d.urls.empty()) j["urls"] = d.urls;
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (d.platform) j["platform"] = ToJson(*d.platform);
  if (!d.artifact_type.empty()) j["artifactType"] = d.artifact_type;
  return j;
}

Result<Manifest> ParseManifest(std::string_view media_type, std::string_view bytes) {
  BERTH_ASSIGN_OR_RETURN(json doc, ParseObject(bytes, "manifest"));
  BERTH_RETURN_IF_ERROR(CheckSchemaVersion(doc, "manifest"));
  if (doc.contains("manifests")) {
    return Invalid("ambiguous document: a manifest with an index's \"manifests\" field");
  }
  Manifest m;
  BERTH_RETURN_IF_ERROR(CheckMediaType(doc, media_type, m.media_type));
  if (!m.media_type.empty() && !media::IsManifest(m.media_type)) {
    return Invalid(fmt::format("mediaType \"{}\" is not an image manifest", m.media_type));
  }
  auto config = doc.find("config");
  if (config == doc.end()) return Invalid("manifest without config");
  auto cd = DescriptorFromJson(*config);
  if (!cd.ok()) return cd.status().Annotate("manifest config");
  m.config = std::move(cd).value();
  BERTH_ASSIGN_OR_RETURN(m.layers, DescriptorArray(doc, "layers", true));
  BERTH_RETURN_IF_ERROR(OptAnnotations(doc, "annotations", m.annotations));
  return m;
}

Result<Index> ParseIndex(std::string_view media_type, std::string_view bytes) {
  BERTH_ASSIGN_OR_RETURN(json doc, ParseObject(bytes, "index"));
  BERTH_RETURN_IF_ERROR(CheckSchemaVersion(doc, "index"));
  if (doc.contains("config") || doc.contains("layers")) {
    return Invalid("ambiguous document: an index with a manifest's \"config\"/\"layers\" fields");
  }
  Index index;
  BERTH_RETURN_IF_ERROR(CheckMediaType(doc, media_type, index.media_type));
  if (!index.media_type.empty() && !media::IsIndex(index.media_type)) {
    return Invalid(fmt::format("mediaType \"{}\" is not an index", index.media_type));
  }
  BERTH_ASSIGN_OR_RETURN(index.manifests, DescriptorArray(doc, "manifests", true));
  BERTH_RETURN_IF_ERROR(OptAnnotations(doc, "annotations", index.annotations));
  return index;
}

Result<Document> ParseDocument(std::string_view media_type, std::string_view bytes) {
  if (media_type == media::kDockerSchema1 || media_type == media::kDockerSchema1Signed) {
    return Status(Code::kUnimplemented, "Docker schema 1 manifests are not supported");
  }
  Document d;
  if (media::IsIndex(media_type) || media::IsManifest(media_type)) {
    d.media_type = std::string(media_type);
  } else {
    BERTH_ASSIGN_OR_RETURN(json doc, ParseObject(bytes, "manifest"));
    BERTH_RETURN_IF_ERROR(CheckSchemaVersion(doc, "manifest"));
    d.media_type = GuessType(doc);
    if (!media::IsIndex(d.media_type) && !media::IsManifest(d.media_type)) {
      return Invalid(fmt::format("unsupported manifest media type \"{}\"", d.media_type));
    }
  }
  if (media::IsIndex(d.media_type)) {
    BERTH_ASSIGN_OR_RETURN(d.body, ParseIndex(d.media_type, bytes));
  } else {
    BERTH_ASSIGN_OR_RETURN(d.body, ParseManifest(d.media_type, bytes));
  }
  return d;
}

Result<ImageConfig> ParseImageConfig(std::string_view bytes) {
  BERTH_ASSIGN_OR_RETURN(json doc, ParseObject(bytes, "image config"));
  ImageConfig c;
  BERTH_RETURN_IF_ERROR(OptString(doc, "os", c.platform.os));
  BERTH_RETURN_IF_ERROR(OptString(doc, "architecture", c.platform.architecture));
  BERTH_RETURN_IF_ERROR(OptString(doc, "variant", c.platform.variant));
  auto rootfs = doc.find("rootfs");
  if (rootfs == doc.end() || !rootfs->is_object()) return Invalid("image config without rootfs");
  std::string type;
  BERTH_RETURN_IF_ERROR(OptString(*rootfs, "type", type));
  if (type != "layers") return Invalid("image config rootfs.type must be \"layers\"");
  std::vector<std::string> ids;
  BERTH_RETURN_IF_ERROR(OptStrings(*rootfs, "diff_ids", ids));
  for (const std::string& id : ids) {
    auto digest = ParseDigest(id);
    if (!digest.ok()) return digest.status().Annotate("image config rootfs.diff_ids");
    c.diff_ids.push_back(std::move(digest).value());
  }
  c.raw = std::move(doc);
  return c;
}

std::string Serialize(const Manifest& m) {
  json j = {{"schemaVersion", 2}};
  j["mediaType"] = m.media_type.empty() ? std::string(media::kOciManifest) : m.media_type;
  j["config"] = ToJson(m.config);
  j["layers"] = json::array();
  for (const Descriptor& l : m.layers) j["layers"].push_back(ToJson(l));
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  return j.dump();
}

std::string Serialize(const Index& index) {
  json j = {{"schemaVersion", 2}};
  j["mediaType"] = index.media_type.empty() ? std::string(media::kOciIndex) : index.media_type;
  j["manifests"] = json::array();
  for (const Descriptor& d : index.manifests) j["manifests"].push_back(ToJson(d));
  if (!index.annotations.empty()) j["annotations"] = index.annotations;
  return j.dump();
}

Status VerifyBytes(const Descriptor& descriptor, std::string_view bytes) {
  if (static_cast<int64_t>(bytes.size()) != descriptor.size) {
    return Error(Code::kDataLoss, "{}: size {} differs from the descriptor's {}", descriptor.digest,
                 bytes.size(), descriptor.size);
  }
  BERTH_ASSIGN_OR_RETURN(Digest actual, DigestBytes(bytes, descriptor.digest.algorithm));
  if (actual != descriptor.digest) {
    return Error(Code::kDataLoss, "digest mismatch: expected {}, got {}", descriptor.digest,
                 actual);
  }
  return Status::Ok();
}

std::vector<Digest> ChainIds(const std::vector<Digest>& diff_ids) {
  std::vector<Digest> out;
  out.reserve(diff_ids.size());
  for (const Digest& diff : diff_ids) {
    if (out.empty()) {
      out.push_back(diff);
    } else {
      out.push_back(DigestBytes(out.back().ToString() + " " + diff.ToString()).value());
    }
  }
  return out;
}

}  // namespace berth::client
