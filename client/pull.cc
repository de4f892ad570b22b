// Pull: resolve, manifests, then the blob pipeline (configs and layers, pull_layers.cc), then
// the labels and the image record.
#include "client/pull.h"

#include <map>

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
  // Queues a config or layer download once; returns its task index.
  size_t Queue(const Descriptor& d, bool is_layer);
  // After the pipeline: layer diffID labels, the unpacked image's config label, result_.local.
  Status Finish();

  Registry& registry_;
  const Reference& ref_;
  const PullServices& services_;
  const PullOptions& options_;
  PlatformMatcher matcher_;
  LayerPipeline pipeline_;
  std::map<Digest, size_t> queued_;  // task index by digest
  std::vector<LocalImage> images_;   // the manifests pulled (configs read in Finish)
  LocalImage unpack_;                // the platform's image (config read by the pipeline)
  bool have_unpack_ = false;
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
  // Leased first: a document that is already there may have nothing else keeping it.
  BERTH_RETURN_IF_ERROR(
      services_.images->AddLeaseResource(pipeline_.lease, "content", d.digest.ToString()));
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
  if (!present) {
    BERTH_RETURN_IF_ERROR(
        content::WriteBlob(store, "pull-" + d.digest.hex, data, d.digest, labels));
  } else {
    BERTH_RETURN_IF_ERROR(AddContentLabels(store, d.digest, labels));
  }
  if (options_.progress) {
    options_.progress->SetState(id, present ? BlobState::kExists : BlobState::kDone);
  }
  return data;
}

size_t PullJob::Queue(const Descriptor& d, bool is_layer) {
  auto [it, added] = queued_.emplace(d.digest, pipeline_.tasks.size());
  if (!added) return it->second;
  LayerTask task{d, {}, 0, is_layer};
  if (is_layer) task.labels[std::string(kDistributionSource) + "." + ref_.domain] = ref_.path;
  if (options_.progress) {
    task.progress_id = options_.progress->Add(is_layer ? "layer" : "config", d.digest, d.size);
  }
  pipeline_.tasks.push_back(std::move(task));
  return it->second;
}

Status PullJob::Manifest(const Descriptor& d, const std::string* bytes, bool unpack_this) {
  std::string data;
  if (bytes == nullptr) {
    // Fetched (and verified) before it is stored below, with its labels.
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
  if (m.config.size > static_cast<int64_t>(kMaxDocumentSize)) {
    return Error(Code::kResourceExhausted, "image {}: config {} is {} bytes, more than Berth reads",
                 d.digest, m.config.digest, m.config.size);
  }
  BERTH_RETURN_IF_ERROR(Document(d, "manifest", ManifestLabels(m), &data).status());
  // The config downloads with the layers; the unpacking starts once it is there.
  size_t config_task = Queue(m.config, false);
  std::vector<size_t> layer_tasks;
  for (const Descriptor& layer : m.layers) layer_tasks.push_back(Queue(layer, true));
  images_.push_back(LocalImage{d, m, {}, {}});
  if (unpack_this) {
    unpack_ = LocalImage{d, std::move(m), {}, {}};
    have_unpack_ = true;
    if (options_.unpack && !layer_tasks.empty()) {
      pipeline_.unpack_image = &unpack_;
      pipeline_.unpack_config = config_task;
      pipeline_.unpack_tasks = std::move(layer_tasks);
    }
  }
  return Status::Ok();
}

Status PullJob::Finish() {
  content::Store& store = *services_.content;
  for (LocalImage& image : images_) {
    BERTH_RETURN_IF_ERROR(ReadImageConfig(store, image));
    BERTH_RETURN_IF_ERROR(LabelLayers(store, image));
  }
  if (!have_unpack_) return Status::Ok();  // --all-platforms of an index without this platform
  // Read by the unpack worker when it unpacked layers.
  if (unpack_.config.raw.is_null()) BERTH_RETURN_IF_ERROR(ReadImageConfig(store, unpack_));
  if (options_.unpack) {
    BERTH_RETURN_IF_ERROR(
        AddContentLabels(store, unpack_.manifest.config.digest,
                         SnapshotLabel(options_.snapshotter, unpack_.TopChain())));
  }
  result_.local = unpack_;
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
  BERTH_RETURN_IF_ERROR(pipeline_.Run());
  BERTH_RETURN_IF_ERROR(Finish());
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
