// Images built from a snapshot difference (see image_build.h).
#include "client/image_build.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "client/media_types.h"
#include "client/pull.h"
#include "common/time.h"

namespace berth::client {
namespace {

using json = nlohmann::json;

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// JSON form ["a","b"] or shell form (run by /bin/sh -c), as a Dockerfile reads them.
Result<std::vector<std::string>> ParseCommandForm(const std::string& instruction,
                                                  const std::string& value) {
  if (value.starts_with("[")) {
    json parsed = json::parse(value, nullptr, false);
    bool strings = parsed.is_array();
    for (const auto& item : parsed) strings = strings && item.is_string();
    if (!strings) {
      return Error(Code::kInvalidArgument, "--change {}: {:?} is not a JSON array of strings",
                   instruction, value);
    }
    return parsed.get<std::vector<std::string>>();
  }
  if (value.empty()) return std::vector<std::string>{};
  return std::vector<std::string>{"/bin/sh", "-c", value};
}

Result<std::pair<std::string, std::string>> KeyValue(const std::string& instruction,
                                                     const std::string& value) {
  size_t eq = value.find('=');
  if (eq == 0 || eq == std::string::npos) {
    return Error(Code::kInvalidArgument, "--change {} {:?}: expected KEY=VALUE", instruction,
                 value);
  }
  return std::make_pair(value.substr(0, eq), value.substr(eq + 1));
}

// Env with KEY=VALUE set (replacing an earlier KEY).
void SetEnv(json& env, const std::string& entry) {
  std::string key = entry.substr(0, entry.find('='));
  for (auto& e : env) {
    if (e.is_string() && e.get<std::string>().substr(0, e.get<std::string>().find('=')) == key) {
      e = entry;
      return;
    }
  }
  env.push_back(entry);
}

void ApplyChanges(const ConfigChanges& c, json& config) {
  if (!config.is_object()) config = json::object();
  if (c.entrypoint) config["Entrypoint"] = c.entrypoint->empty() ? json() : json(*c.entrypoint);
  if (c.cmd) config["Cmd"] = c.cmd->empty() ? json() : json(*c.cmd);
  if (c.env) config["Env"] = *c.env;
  if (!c.add_env.empty()) {
    if (!config["Env"].is_array()) config["Env"] = json::array();
    for (const auto& e : c.add_env) SetEnv(config["Env"], e);
  }
  if (c.working_dir) config["WorkingDir"] = *c.working_dir;
  if (c.user) config["User"] = *c.user;
  for (const auto& [k, v] : c.labels) {
    if (!config["Labels"].is_object()) config["Labels"] = json::object();
    config["Labels"][k] = v;
  }
}

json NewConfig(const ImageSpec& spec) {
  if (spec.base != nullptr && spec.base->config.raw.is_object()) return spec.base->config.raw;
  json config = {{"architecture", spec.platform.architecture},
                 {"os", spec.platform.os},
                 {"config", json::object()},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}},
                 {"history", json::array()}};
  if (!spec.platform.variant.empty()) config["variant"] = spec.platform.variant;
  return config;
}

// The config document of the new image.
std::string ConfigBytes(const ImageSpec& spec) {
  json config = NewConfig(spec);
  std::string now = FormatRfc3339Nano(NowUnixNanos());
  config["created"] = now;
  ApplyChanges(spec.changes, config["config"]);
  if (!config["rootfs"].is_object()) config["rootfs"] = {{"type", "layers"}};
  json& diff_ids = config["rootfs"]["diff_ids"];
  if (!diff_ids.is_array()) diff_ids = json::array();
  diff_ids.push_back(spec.layer.diff_id.ToString());
  json entry = {{"created", now}, {"created_by", spec.history.created_by}};
  if (!spec.history.comment.empty()) entry["comment"] = spec.history.comment;
  if (!spec.history.author.empty()) {
    entry["author"] = spec.history.author;
    config["author"] = spec.history.author;
  }
  if (!config["history"].is_array()) config["history"] = json::array();
  config["history"].push_back(entry);
  return config.dump();
}

// Writes `bytes` (a document) under its digest, after adding it to the lease.
Result<Descriptor> WriteDocument(content::Store& store, std::string_view media_type,
                                 const std::string& bytes, const content::Labels& labels,
                                 ImageStore* leases, const std::string& lease) {
  Descriptor d{std::string(media_type), DigestBytes(bytes).value(),
               static_cast<int64_t>(bytes.size())};
  if (leases != nullptr) {
    BERTH_RETURN_IF_ERROR(leases->AddLeaseResource(lease, "content", d.digest.ToString()));
  }
  BERTH_RETURN_IF_ERROR(
      content::WriteBlob(store, "build-" + d.digest.hex, bytes, d.digest, labels));
  return d;
}

}  // namespace

Status ParseChange(const std::string& text, ConfigChanges& c) {
  size_t split = text.find_first_of(" \t=");
  std::string instruction = text.substr(0, split);
  for (char& ch : instruction) ch = static_cast<char>(std::toupper(ch));
  std::string value = split == std::string::npos ? "" : Trim(text.substr(split + 1));
  if (instruction == "ENV") {
    BERTH_ASSIGN_OR_RETURN(auto kv, KeyValue(instruction, value));
    c.add_env.push_back(kv.first + "=" + kv.second);
  } else if (instruction == "LABEL") {
    BERTH_ASSIGN_OR_RETURN(auto kv, KeyValue(instruction, value));
    c.labels.push_back(kv);
  } else if (instruction == "CMD") {
    BERTH_ASSIGN_OR_RETURN(c.cmd, ParseCommandForm(instruction, value));
  } else if (instruction == "ENTRYPOINT") {
    BERTH_ASSIGN_OR_RETURN(c.entrypoint, ParseCommandForm(instruction, value));
  } else if (instruction == "WORKDIR") {
    if (!value.starts_with("/")) {
      return Error(Code::kInvalidArgument, "--change WORKDIR {:?}: must be an absolute path",
                   value);
    }
    c.working_dir = value;
  } else if (instruction == "USER") {
    if (value.empty()) return Status(Code::kInvalidArgument, "--change USER: missing the user");
    c.user = value;
  } else {
    return Error(Code::kInvalidArgument,
                 "--change {:?}: unsupported instruction (use ENV, CMD, ENTRYPOINT, WORKDIR, "
                 "USER or LABEL, e.g. --change 'ENV KEY=VALUE')",
                 text);
  }
  return Status::Ok();
}

Result<std::string> LayerMediaType(const std::string& compression) {
  if (compression == "gzip" || compression.empty()) return std::string(media::kOciLayerGzip);
  if (compression == "zstd") return std::string(media::kOciLayerZstd);
  if (compression == "none") return std::string(media::kOciLayer);
  return Error(Code::kInvalidArgument, "--compression {:?}: use gzip, zstd or none", compression);
}

Result<NewLayer> CompareLayer(snapshot::Differ& differ, content::Store& content,
                              const std::vector<snapshot::Mount>& lower,
                              const std::vector<snapshot::Mount>& upper,
                              const std::string& media_type, ImageStore* leases,
                              const std::string& lease) {
  snapshot::CompareOptions options;
  options.media_type = media_type;
  // A GC root from its commit until the lease holds it (see image_build.h).
  if (leases != nullptr) options.labels[kBuildGcRootLabel] = FormatRfc3339Nano(NowUnixNanos());
  auto compared = differ.Compare(lower, upper, options);
  if (!compared.ok()) return compared.status().Annotate("compare");
  NewLayer layer;
  layer.descriptor = Descriptor{compared->descriptor.media_type, compared->descriptor.digest,
                                compared->descriptor.size};
  layer.diff_id = compared->diff_id;
  if (leases != nullptr) {
    BERTH_RETURN_IF_ERROR(
        leases->AddLeaseResource(lease, "content", layer.descriptor.digest.ToString()));
    content::Info unroot{.digest = layer.descriptor.digest, .labels = {}};
    auto updated = content.Update(unroot, {std::string("labels.") + kBuildGcRootLabel});
    if (!updated.ok()) return updated.status().Annotate("remove the layer's gc.root label");
  }
  return layer;
}

Result<LocalImage> WriteImage(content::Store& store, const ImageSpec& spec, ImageStore* leases,
                              const std::string& lease) {
  LocalImage image;
  std::string config_bytes = ConfigBytes(spec);
  BERTH_ASSIGN_OR_RETURN(image.config, ParseImageConfig(config_bytes));
  Manifest& manifest = image.manifest;
  manifest.media_type = std::string(media::kOciManifest);
  if (spec.base != nullptr) manifest.layers = spec.base->manifest.layers;
  manifest.layers.push_back(spec.layer.descriptor);
  if (image.config.diff_ids.size() != manifest.layers.size()) {
    return Error(Code::kInvalidArgument, "base image has {} layers but {} diff_ids",
                 manifest.layers.size() - 1, image.config.diff_ids.size() - 1);
  }
  image.chain_ids = ChainIds(image.config.diff_ids);
  BERTH_ASSIGN_OR_RETURN(manifest.config,
                         WriteDocument(store, media::kOciConfig, config_bytes, {}, leases, lease));
  std::string manifest_bytes = Serialize(manifest);
  BERTH_ASSIGN_OR_RETURN(image.manifest_descriptor,
                         WriteDocument(store, media::kOciManifest, manifest_bytes,
                                       ManifestLabels(manifest), leases, lease));
  BERTH_RETURN_IF_ERROR(LabelLayers(store, image));
  return image;
}

Status RecordImage(const UnpackContext& ctx, const std::string& name, const LocalImage& image) {
  BERTH_RETURN_IF_ERROR(UnpackImage(ctx, image, nullptr));
  BERTH_RETURN_IF_ERROR(AddContentLabels(*ctx.content, image.manifest.config.digest,
                                         SnapshotLabel(ctx.snapshotter, image.TopChain())));
  ImageRecord record{name, image.manifest_descriptor,
                     ImageLabels(ctx.snapshotter, image, /*unpacked=*/true)};
  return ctx.leases->Put(record);
}

Result<LocalImage> BuildImage(const UnpackContext& ctx, const std::vector<snapshot::Mount>& lower,
                              const std::vector<snapshot::Mount>& upper,
                              const std::string& media_type, ImageSpec spec,
                              const std::string& name, const std::function<void()>& compared) {
  if (ctx.leases == nullptr || ctx.lease.empty()) {
    return Status(Code::kInvalidArgument, "building an image needs a lease");
  }
  auto layer =
      CompareLayer(*ctx.differ, *ctx.content, lower, upper, media_type, ctx.leases, ctx.lease);
  if (compared) compared();
  if (!layer.ok()) return layer.status();
  spec.layer = std::move(layer).value();
  auto image = WriteImage(*ctx.content, spec, ctx.leases, ctx.lease);
  if (!image.ok()) return image.status().Annotate("write the image");
  Status recorded = RecordImage(ctx, name, *image);
  if (!recorded.ok()) return recorded.Annotate("record " + name);
  return image;
}

}  // namespace berth::client
