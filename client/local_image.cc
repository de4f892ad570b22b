#include "client/local_image.h"

#include <unistd.h>

#include <random>
#include <set>

#include "client/archive.h"
#include "client/media_types.h"

namespace berth::client {
namespace {

Result<std::string> ReadDocument(content::Store& store, const Descriptor& d) {
  auto bytes = content::ReadBlob(store, d.digest);
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kNotFound) {
      return Error(Code::kNotFound, "content {} ({}) is not in the content store", d.digest,
                   d.media_type);
    }
    return bytes.status();
  }
  BERTH_RETURN_IF_ERROR(VerifyBytes(d, *bytes));
  return bytes;
}

std::string ExtractKey(const std::string& chain) {
  std::random_device rd;
  return fmt::format("extract-{}-{:08x} {}", ::getpid(), rd(), chain);
}

}  // namespace

content::Labels ManifestLabels(const Manifest& m) {
  content::Labels labels;
  labels[std::string(kGcRefContent) + ".config"] = m.config.digest.ToString();
  for (size_t i = 0; i < m.layers.size(); ++i) {
    labels[fmt::format("{}.l.{}", kGcRefContent, i)] = m.layers[i].digest.ToString();
  }
  return labels;
}

content::Labels IndexLabels(const std::vector<Descriptor>& children) {
  content::Labels labels;
  for (size_t i = 0; i < children.size(); ++i) {
    labels[fmt::format("{}.m.{}", kGcRefContent, i)] = children[i].digest.ToString();
  }
  return labels;
}

content::Labels SnapshotLabel(const std::string& snapshotter, const std::string& chain) {
  if (chain.empty()) return {};
  return {{std::string(kGcRefSnapshot) + "." + snapshotter, chain}};
}

Status AddContentLabels(content::Store& store, const Digest& digest,
                        const content::Labels& labels) {
  if (labels.empty()) return Status::Ok();
  content::Info info{.digest = digest, .labels = labels};
  std::vector<std::string> paths;
  for (auto& [key, value] : labels) paths.push_back("labels." + key);
  return store.Update(info, paths).status();
}

namespace {

// Labels one manifest (and its layers); its config must be in the store.
Status LabelManifest(content::Store& store, const Descriptor& d, const Manifest& m) {
  LocalImage image{d, m, {}, {}};
  BERTH_RETURN_IF_ERROR(ReadImageConfig(store, image));
  BERTH_RETURN_IF_ERROR(LabelLayers(store, image));
  return AddContentLabels(store, d.digest, ManifestLabels(m));
}

}  // namespace

Status LabelLayers(content::Store& store, const LocalImage& image) {
  for (size_t i = 0; i < image.manifest.layers.size(); ++i) {
    const Digest& layer = image.manifest.layers[i].digest;
    Status s =
        AddContentLabels(store, layer, {{kUncompressedLabel, image.config.diff_ids[i].ToString()}});
    if (!s.ok()) {
      return s.Annotate(fmt::format("layer {} of {}", layer, image.manifest_descriptor.digest));
    }
  }
  return Status::Ok();
}

Status LabelImageContent(content::Store& store, const Descriptor& target) {
  std::vector<std::pair<Descriptor, bool>> todo{{target, false}};  // (document, optional)
  std::set<Digest> seen;  // each document once, even if indexes repeat or loop
  while (!todo.empty()) {
    auto [d, optional] = std::move(todo.back());
    todo.pop_back();
    if (!seen.insert(d.digest).second) continue;
    if (optional && store.GetInfo(d.digest).status().code() == Code::kNotFound) continue;
    BERTH_ASSIGN_OR_RETURN(std::string bytes, ReadDocument(store, d));
    BERTH_ASSIGN_OR_RETURN(Document doc, ParseDocument(d.media_type, bytes));
    if (!doc.is_index()) {
      BERTH_RETURN_IF_ERROR(LabelManifest(store, d, doc.manifest()));
      continue;
    }
    const std::vector<Descriptor>& children = doc.index().manifests;
    BERTH_RETURN_IF_ERROR(AddContentLabels(store, d.digest, IndexLabels(children)));
    for (const Descriptor& child : children) {
      if (media::IsIndex(child.media_type) || media::IsManifest(child.media_type)) {
        todo.push_back({child, true});
      }
    }
  }
  return Status::Ok();
}

Result<LocalImage> LoadImage(content::Store& store, const Descriptor& target,
                             const PlatformMatcher& platform) {
  LocalImage image;
  image.manifest_descriptor = target;
  BERTH_ASSIGN_OR_RETURN(std::string bytes, ReadDocument(store, target));
  BERTH_ASSIGN_OR_RETURN(Document doc, ParseDocument(target.media_type, bytes));
  if (doc.is_index()) {
    BERTH_ASSIGN_OR_RETURN(image.manifest_descriptor, SelectManifest(doc.index(), platform));
    BERTH_ASSIGN_OR_RETURN(bytes, ReadDocument(store, image.manifest_descriptor));
    BERTH_ASSIGN_OR_RETURN(doc, ParseDocument(image.manifest_descriptor.media_type, bytes));
    if (doc.is_index()) return Status(Code::kUnimplemented, "nested indexes are not supported");
  }
  image.manifest = doc.manifest();
  BERTH_RETURN_IF_ERROR(ReadImageConfig(store, image));
  return image;
}

Status ReadImageConfig(content::Store& store, LocalImage& image) {
  BERTH_ASSIGN_OR_RETURN(std::string config, ReadDocument(store, image.manifest.config));
  BERTH_ASSIGN_OR_RETURN(image.config, ParseImageConfig(config));
  if (image.config.diff_ids.size() != image.manifest.layers.size()) {
    return Error(Code::kInvalidArgument, "image {} has {} layers but {} diff_ids in its config",
                 image.manifest_descriptor.digest, image.manifest.layers.size(),
                 image.config.diff_ids.size());
  }
  image.chain_ids = ChainIds(image.config.diff_ids);
  return Status::Ok();
}

namespace {

// Counts `d` into `check`: its size when the store has it, else it joins check.missing.
// Returns whether it is present.
Result<bool> CountBlob(content::Store& store, const Descriptor& d, ImageCheck& check) {
  auto info = store.GetInfo(d.digest);
  if (info.ok()) {
    check.size += info->size;
    return true;
  }
  if (info.status().code() != Code::kNotFound) return info.status();
  check.missing.push_back(d);
  return false;
}

// The document `d` if the store has it (counted into `check`), nullopt when it is missing.
Result<std::optional<Document>> CheckDocument(content::Store& store, const Descriptor& d,
                                              ImageCheck& check) {
  BERTH_ASSIGN_OR_RETURN(bool present, CountBlob(store, d, check));
  if (!present) return std::optional<Document>();
  BERTH_ASSIGN_OR_RETURN(std::string bytes, ReadDocument(store, d));
  BERTH_ASSIGN_OR_RETURN(Document doc, ParseDocument(d.media_type, bytes));
  return std::optional<Document>(std::move(doc));
}

}  // namespace

// Walks the image one level at a time (root, the platform's manifest, its config and layers),
// so that an absent piece is reported as missing rather than failing the whole check. What lies
// below an absent document cannot be known and is not listed.
Result<ImageCheck> CheckImage(content::Store& store, snapshot::Snapshotter* snapshots,
                              const Descriptor& target, const PlatformMatcher& platform) {
  ImageCheck check;
  LocalImage image;
  image.manifest_descriptor = target;
  BERTH_ASSIGN_OR_RETURN(std::optional<Document> doc, CheckDocument(store, target, check));
  if (!doc) return check;
  if (doc->is_index()) {
    BERTH_ASSIGN_OR_RETURN(image.manifest_descriptor, SelectManifest(doc->index(), platform));
    BERTH_ASSIGN_OR_RETURN(doc, CheckDocument(store, image.manifest_descriptor, check));
    if (!doc) return check;
    if (doc->is_index()) return Status(Code::kUnimplemented, "nested indexes are not supported");
  }
  image.manifest = doc->manifest();
  BERTH_ASSIGN_OR_RETURN(bool have_config, CountBlob(store, image.manifest.config, check));
  for (const Descriptor& layer : image.manifest.layers) {
    BERTH_RETURN_IF_ERROR(CountBlob(store, layer, check).status());
  }
  // Without the config the chain IDs, and so the rootfs snapshot, are unknown.
  if (have_config && snapshots != nullptr) {
    BERTH_RETURN_IF_ERROR(ReadImageConfig(store, image));
    std::string top = image.TopChain();
    check.unpacked = top.empty() || snapshots->Stat(top).ok();
  }
  return check;
}

Status UnpackLayer(const UnpackContext& ctx, const Descriptor& layer, const Digest& diff_id,
                   const std::string& parent, const std::string& chain) {
  std::string resource = "snapshots/" + ctx.snapshotter;
  if (ctx.snapshots->Stat(chain).ok()) {
    // Already unpacked (by another image): leased all the same, until this image refers to it.
    if (ctx.leases) BERTH_RETURN_IF_ERROR(ctx.leases->AddLeaseResource(ctx.lease, resource, chain));
    return Status::Ok();
  }
  std::string key = ExtractKey(chain);
  if (ctx.leases) BERTH_RETURN_IF_ERROR(ctx.leases->AddLeaseResource(ctx.lease, resource, key));
  BERTH_ASSIGN_OR_RETURN(auto mounts, ctx.snapshots->Prepare(key, parent, {}));
  auto remove = [&](Status s) {
    (void)ctx.snapshots->Remove(key);
    return s;
  };
  snapshot::Descriptor d{layer.media_type, layer.digest, layer.size, {}};
  auto applied = ctx.differ->Apply(d, mounts, {});
  if (!applied.ok())
    return remove(applied.status().Annotate(fmt::format("apply {}", layer.digest)));
  if (applied->diff_id != diff_id) {
    return remove(Error(Code::kDataLoss, "layer {} unpacks to diffID {}, but the config says {}",
                        layer.digest, applied->diff_id, diff_id));
  }
  if (ctx.leases) BERTH_RETURN_IF_ERROR(ctx.leases->AddLeaseResource(ctx.lease, resource, chain));
  Status committed = ctx.snapshots->Commit(chain, key, {});
  if (committed.code() == Code::kAlreadyExists) return remove(Status::Ok());  // a racing unpack
  if (!committed.ok()) return remove(committed);
  return Status::Ok();
}

Status UnpackImage(const UnpackContext& ctx, const LocalImage& image, Progress* progress) {
  std::string parent;
  for (size_t i = 0; i < image.manifest.layers.size(); ++i) {
    const Descriptor& layer = image.manifest.layers[i];
    std::string chain = image.chain_ids[i].ToString();
    size_t id = progress ? progress->Add("layer", layer.digest, layer.size) : 0;
    if (progress) progress->SetState(id, BlobState::kUnpacking);
    Status s = UnpackLayer(ctx, layer, image.config.diff_ids[i], parent, chain);
    if (progress) progress->SetState(id, s.ok() ? BlobState::kDone : BlobState::kFailed);
    BERTH_RETURN_IF_ERROR(s);
    parent = chain;
  }
  return Status::Ok();
}

}  // namespace berth::client
