// Pull: resolve, documents, then the layer pipeline (pull_layers.cc), then the image record.
#include "client/pull.h"

#include <set>

#include "client/media_types.h"
#include "client/pull_internal.h"

namespace berth::client {
namespace {

class PullJob {
 public:
  PullJob(Registry& registry, const Reference& ref, const PullServices& services,
          const PullOptions& options)
      : registry_(registry),
        ref_(ref),
        services_(services),
        options_(options),
        matcher_(options.platform.value_or(HostPlatform())) {}

  Result<PullResult> Run();

 private:
  Result<bool> AlreadyThere(const Descriptor& root);
  // A document: from the store when present, else from the registry; stored with `labels`.
  Result<std::string> Document(const Descriptor& d, const char* kind, const content::Labels& labels,
                               const std::string* bytes);
  Status Manifest(const Descriptor& d, const std::string* bytes, bool unpack_this);

  Registry& registry_;
  const Reference& ref_;
  const PullServices& services_;
  const PullOptions& options_;
  PlatformMatcher matcher_;
  LayerPipeline pipeline_;
  std::set<Digest> queued_;
  PullResult result_;
};

Result<bool> PullJob::AlreadyThere(const Descriptor& root) {
  if (options_.all_platforms) return false;
  BERTH_ASSIGN_OR_RETURN(auto existing, services_.images->Get(ref_.String()));
  if (!existing || existing->target.digest != root.digest) return false;
  auto check = CheckImage(*services_.content, options_.unpack ? services_.snapshots : nullptr, root,
                          matcher_);
  if (!check.ok() || !check->complete() || (options_.unpack && !check->unpacked)) return false;
  BERTH_ASSIGN_OR_RETURN(result_.local, LoadImage(*services_.content, root, matcher_));
  result_.image = *existing;
  result_.already_present = true;
  return true;
}

Result<std::string> PullJob::Document(const Descriptor& d, const char* kind,
                                      const content::Labels& labels, const std::string* bytes) {
  content::Store& store = *services_.content;
  size_t id = options_.progress ? options_.progress->Add(kind, d.digest, d.size) : 0;
  std::string data;
  bool present = store.GetInfo(d.digest).ok();
  if (bytes != nullptr) {
    data = *bytes;
  } else if (present) {
    BERTH_ASSIGN_OR_RETURN(data, content::ReadBlob(store, d.digest));
    BERTH_RETURN_IF_ERROR(VerifyBytes(d, data));
  } else {
    BERTH_ASSIGN_OR_RETURN(data, registry_.FetchDocument(d));
    result_.fetched += data.size();
  }
  BERTH_RETURN_IF_ERROR(
      services_.images->AddLeaseResource(pipeline_.lease, "content", d.digest.ToString()));
  if (!present) {
    BERTH_RETURN_IF_ERROR(
        content::WriteBlob(store, "pull-" + d.digest.hex, data, d.digest, labels));
  } else if (!labels.empty()) {
    content::Info info{.digest = d.digest, .labels = labels};
    std::vector<std::string> paths;
    for (auto& [k, v] : labels) paths.push_back("labels." + k);
    BERTH_RETURN_IF_ERROR(store.Update(info, paths).status());
  }
  if (options_.progress) {
    options_.progress->SetState(id, present ? BlobState::kExists : BlobState::kDone);
  }
  return data;
}

Status PullJob::Manifest(const Descriptor& d, const std::string* bytes, bool unpack_this) {
  std::string data;
  if (bytes == nullptr) {
    // Fetched (and verified) before its labels are known: stored after its children below.
    auto local = content::ReadBlob(*services_.content, d.digest);
    if (local.ok()) {
      data = std::move(local).value();
    } else {
      BERTH_ASSIGN_OR_RETURN(data, registry_.FetchDocument(d));
      result_.fetched += data.size();
    }
    BERTH_RETURN_IF_ERROR(VerifyBytes(d, data));
  } else {
    data = *bytes;
  }
  BERTH_ASSIGN_OR_RETURN(client::Manifest m, ParseManifest(d.media_type, data));
  BERTH_ASSIGN_OR_RETURN(std::string config_bytes, Document(m.config, "config", {}, nullptr));
  BERTH_ASSIGN_OR_RETURN(ImageConfig config, ParseImageConfig(config_bytes));
  if (config.diff_ids.size() != m.layers.size()) {
    return Error(Code::kInvalidArgument, "image {}: {} layers but {} diff_ids in its config",
                 d.digest, m.layers.size(), config.diff_ids.size());
  }
  LocalImage local{d, m, std::move(config), {}};
  local.chain_ids = ChainIds(local.config.diff_ids);
  if (unpack_this) {
    result_.local = local;
    if (options_.unpack) {
      content::Info info{.digest = m.config.digest,
                         .labels = SnapshotLabel(options_.snapshotter, local.TopChain())};
      if (!info.labels.empty()) {
        BERTH_RETURN_IF_ERROR(
            services_.content->Update(info, {"labels." + info.labels.begin()->first}).status());
      }
    }
  }
  BERTH_RETURN_IF_ERROR(Document(d, "manifest", ManifestLabels(m), &data).status());
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const Descriptor& layer = m.layers[i];
    if (queued_.insert(layer.digest).second) {
      LayerTask task{layer, {}, 0};
      task.labels[kUncompressedLabel] = local.config.diff_ids[i].ToString();
      task.labels[std::string(kDistributionSource) + "." + ref_.domain] = ref_.path;
      if (options_.progress)
        task.progress_id = options_.progress->Add("layer", layer.digest, layer.size);
      pipeline_.tasks.push_back(std::move(task));
    }
    if (unpack_this && options_.unpack) {
      for (size_t t = 0; t < pipeline_.tasks.size(); ++t) {
        if (pipeline_.tasks[t].descriptor.digest == layer.digest) {
          pipeline_.unpack_tasks.push_back(t);
          break;
        }
      }
    }
  }
  return Status::Ok();
}

Result<PullResult> PullJob::Run() {
  BERTH_ASSIGN_OR_RETURN(ResolvedManifest resolved, registry_.Resolve(ref_));
  const Descriptor& root = resolved.descriptor;
  BERTH_ASSIGN_OR_RETURN(bool there, AlreadyThere(root));
  if (there) return result_;
  BERTH_ASSIGN_OR_RETURN(pipeline_.lease, services_.images->CreateLease(options_.lease_expire));
  struct DropLease {
    ImageStore* images;
    std::string id;
    ~DropLease() { (void)images->DeleteLease(id); }
  } drop{services_.images, pipeline_.lease};
  result_.fetched += resolved.bytes.size();
  BERTH_ASSIGN_OR_RETURN(client::Document doc, ParseDocument(root.media_type, resolved.bytes));
  if (doc.is_index()) {
    std::vector<Descriptor> chosen;
    auto best = SelectManifest(doc.index(), matcher_);
    if (options_.all_platforms) {
      for (const Descriptor& d : doc.index().manifests) {
        if (media::IsManifest(d.media_type)) chosen.push_back(d);
      }
    } else {
      if (!best.ok()) return best.status();
      chosen.push_back(*best);
    }
    for (const Descriptor& d : chosen) {
      BERTH_RETURN_IF_ERROR(Manifest(d, nullptr, best.ok() && d.digest == best->digest));
    }
    BERTH_RETURN_IF_ERROR(Document(root, "index", IndexLabels(chosen), &resolved.bytes).status());
  } else {
    BERTH_RETURN_IF_ERROR(Manifest(root, &resolved.bytes, true));
  }
  pipeline_.registry = &registry_;
  pipeline_.services = &services_;
  pipeline_.options = &options_;
  pipeline_.progress = options_.progress;
  if (options_.unpack && !result_.local.manifest.layers.empty()) {
    pipeline_.unpack_image = &result_.local;
  }
  BERTH_RETURN_IF_ERROR(pipeline_.Run());
  result_.fetched += pipeline_.fetched;
  result_.layers_fetched = pipeline_.layers_fetched;
  result_.layers_unpacked = pipeline_.layers_unpacked;
  result_.image.name = ref_.String();
  result_.image.target = root;
  result_.image.target.annotations.clear();
  result_.image.labels = ImageLabels(options_.snapshotter, result_.local, options_.unpack);
  BERTH_RETURN_IF_ERROR(services_.images->Put(result_.image));
  return result_;
}

}  // namespace

std::map<std::string, std::string> ImageLabels(const std::string& snapshotter,
                                               const LocalImage& image, bool unpacked) {
  if (!unpacked) return {};
  return SnapshotLabel(snapshotter, image.TopChain());
}

Result<PullResult> Pull(Registry& registry, const Reference& ref, const PullServices& services,
                        const PullOptions& options) {
  if (options.unpack && (services.snapshots == nullptr || services.differ == nullptr)) {
    return Status(Code::kInvalidArgument, "unpacking needs the snapshot and diff services");
  }
  PullJob job(registry, ref, services, options);
  return job.Run();
}

}  // namespace berth::client
