#include "client/push.h"

#include <atomic>
#include <mutex>
#include <thread>

#include "client/archive.h"
#include "client/image_store.h"
#include "client/local_image.h"
#include "client/media_types.h"

namespace berth::client {
namespace {

bool IsDocument(const Descriptor& d) {
  return media::IsIndex(d.media_type) || media::IsManifest(d.media_type);
}

// Repositories of `domain` the blob came from ("containerd.io/distribution.source.<domain>").
std::vector<std::string> Sources(content::Store& store, const Digest& digest,
                                 const std::string& domain) {
  std::vector<std::string> out;
  auto info = store.GetInfo(digest);
  if (!info.ok()) return out;
  auto it = info->labels.find(std::string(kDistributionSource) + "." + domain);
  if (it == info->labels.end()) return out;
  size_t start = 0;
  while (start <= it->second.size()) {
    size_t comma = it->second.find(',', start);
    if (comma == std::string::npos) comma = it->second.size();
    if (comma > start) out.push_back(it->second.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

class BlobPusher {
 public:
  BlobPusher(Registry& registry, content::Store& store, const PushOptions& options)
      : registry_(registry), store_(store), options_(options) {}

  Status PushAll(const std::vector<Descriptor>& blobs, PushResult& result) {
    blobs_ = &blobs;
    size_t workers = std::min<size_t>(std::max(1, options_.max_concurrent), blobs.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < workers; ++i) threads.emplace_back([this] { Work(); });
    for (auto& t : threads) t.join();
    result.uploaded += uploaded_;
    result.existed += existed_;
    result.mounted += mounted_;
    return error_;
  }

 private:
  void Work() {
    while (true) {
      size_t i;
      {
        std::lock_guard lock(mu_);
        if (next_ >= blobs_->size() || !error_.ok()) return;
        i = next_++;
      }
      Status s = PushOne((*blobs_)[i]);
      if (!s.ok()) {
        std::lock_guard lock(mu_);
        if (error_.ok()) error_ = s;
      }
    }
  }

  Status PushOne(const Descriptor& d) {
    size_t id = options_.progress ? options_.progress->Add("blob", d.digest, d.size) : 0;
    BERTH_ASSIGN_OR_RETURN(auto reader, store_.OpenReader(d.digest));
    if (options_.progress) options_.progress->Start(id, 0);
    ReadAtFn read = [&](uint64_t offset, void* buffer, size_t size) -> Result<size_t> {
      BERTH_ASSIGN_OR_RETURN(size_t n, reader->ReadAt(offset, buffer, size));
      if (options_.progress) options_.progress->SetOffset(id, offset + n);
      return n;
    };
    PushBlobOptions o{Sources(store_, d.digest, registry_.reference().domain), options_.chunk_size};
    auto pushed = registry_.PushBlob(d, read, o);
    if (options_.progress) {
      options_.progress->SetState(id, !pushed.ok()      ? BlobState::kFailed
                                      : pushed->existed ? BlobState::kExists
                                                        : BlobState::kDone);
    }
    if (!pushed.ok()) return pushed.status();
    if (pushed->existed)
      ++existed_;
    else if (pushed->mounted)
      ++mounted_;
    else
      ++uploaded_;
    return Status::Ok();
  }

  Registry& registry_;
  content::Store& store_;
  const PushOptions& options_;
  const std::vector<Descriptor>* blobs_ = nullptr;
  std::mutex mu_;
  size_t next_ = 0;
  Status error_;
  std::atomic<uint64_t> uploaded_{0}, existed_{0}, mounted_{0};
};

}  // namespace

Result<PushResult> PushImage(Registry& registry, content::Store& store, const Descriptor& target,
                             const PushOptions& options) {
  PushResult result;
  result.target = target;
  auto reach = ReachableBlobs(store, target, std::nullopt);
  bool partial = !reach.ok() && reach.status().code() == Code::kNotFound;
  if (media::IsIndex(target.media_type) && (options.platform || partial)) {
    // One platform, or a partial index: push the platform's manifest in its place.
    PlatformMatcher matcher(options.platform.value_or(HostPlatform()));
    BERTH_ASSIGN_OR_RETURN(LocalImage image, LoadImage(store, target, matcher));
    result.target = image.manifest_descriptor;
    reach = ReachableBlobs(store, result.target, std::nullopt);
  }
  if (!reach.ok()) return reach.status();
  std::vector<Descriptor> blobs, documents;
  for (const Descriptor& d : *reach) (IsDocument(d) ? documents : blobs).push_back(d);
  BlobPusher pusher(registry, store, options);
  BERTH_RETURN_IF_ERROR(pusher.PushAll(blobs, result));
  // Children before parents; the root under the tag.
  for (auto it = documents.rbegin(); it != documents.rend(); ++it) {
    BERTH_ASSIGN_OR_RETURN(std::string bytes, content::ReadBlob(store, it->digest));
    bool root = it->digest == result.target.digest;
    std::string object = root ? registry.reference().Object() : it->digest.ToString();
    BERTH_RETURN_IF_ERROR(registry.PushManifest(object, *it, bytes));
  }
  return result;
}

}  // namespace berth::client
