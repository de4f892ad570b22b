// ImageStore over IPC to berth-metadata, and in memory for tests.
#include "client/image_store.h"

#include <unistd.h>

#include <ctime>
#include <mutex>
#include <random>

#include "berth/metadata/v1/images.berth.h"
#include "berth/metadata/v1/leases.berth.h"

namespace berth::client {
namespace {

namespace v1 = ::berth::metadata::v1;

std::string NewLeaseId() {
  std::random_device rd;
  return fmt::format("berth-{}-{:08x}{:08x}", ::getpid(), rd(), rd());
}

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int64_t Nanos(const google::protobuf::Timestamp& t) { return t.seconds() * 1000000000 + t.nanos(); }

v1::Image ToProto(const ImageRecord& r) {
  v1::Image image;
  image.set_name(r.name);
  for (auto& [k, v] : r.labels) (*image.mutable_labels())[k] = v;
  v1::Descriptor* d = image.mutable_target();
  d->set_media_type(r.target.media_type);
  d->set_digest(r.target.digest.ToString());
  d->set_size(r.target.size);
  for (auto& [k, v] : r.target.annotations) (*d->mutable_annotations())[k] = v;
  return image;
}

Result<ImageRecord> FromProto(const v1::Image& image) {
  ImageRecord r;
  r.name = image.name();
  r.labels.insert(image.labels().begin(), image.labels().end());
  r.target.media_type = image.target().media_type();
  BERTH_ASSIGN_OR_RETURN(r.target.digest, ParseDigest(image.target().digest()));
  r.target.size = image.target().size();
  r.target.annotations.insert(image.target().annotations().begin(),
                              image.target().annotations().end());
  r.created_at = Nanos(image.created_at());
  r.updated_at = Nanos(image.updated_at());
  return r;
}

class MetadataImageStore final : public ImageStore {
 public:
  MetadataImageStore(ipc::Client& client, std::string ns, std::chrono::milliseconds timeout)
      : images_(client), leases_(client), ns_(std::move(ns)), timeout_(timeout) {}

  Result<std::optional<ImageRecord>> Get(const std::string& name) override {
    v1::GetImageRequest req;
    req.set_name(name);
    auto resp = images_.Get(req, Options());
    if (!resp.ok() && resp.status().code() == Code::kNotFound) {
      return std::optional<ImageRecord>();
    }
    if (!resp.ok()) return resp.status();
    BERTH_ASSIGN_OR_RETURN(ImageRecord r, FromProto(resp->image()));
    return std::optional<ImageRecord>(std::move(r));
  }

  Result<std::vector<ImageRecord>> List(const std::vector<std::string>& filters) override {
    v1::ListImagesRequest req;
    for (auto& f : filters) req.add_filters(f);
    auto stream = images_.ListStream(req, Options());
    std::vector<ImageRecord> out;
    while (true) {
      BERTH_ASSIGN_OR_RETURN(auto batch, stream.Recv());
      if (!batch) break;
      for (const v1::Image& image : batch->images()) {
        BERTH_ASSIGN_OR_RETURN(ImageRecord r, FromProto(image));
        out.push_back(std::move(r));
      }
    }
    return out;
  }

  Status Put(const ImageRecord& image) override {
    v1::CreateImageRequest create;
    *create.mutable_image() = ToProto(image);
    auto created = images_.Create(create, Options());
    if (created.ok() || created.status().code() != Code::kAlreadyExists) {
      return created.status();
    }
    v1::UpdateImageRequest update;
    *update.mutable_image() = ToProto(image);
    update.mutable_update_mask()->add_paths("target");
    update.mutable_update_mask()->add_paths("labels");
    return images_.Update(update, Options()).status();
  }

  Status Delete(const std::string& name) override {
    v1::DeleteImageRequest req;
    req.set_name(name);
    return images_.Delete(req, Options()).status();
  }

  Result<std::string> CreateLease(std::chrono::seconds expire, std::string id) override {
    v1::CreateLeaseRequest req;
    req.set_id(id.empty() ? NewLeaseId() : id);
    if (expire.count() > 0) {
      (*req.mutable_labels())[kGcExpire] = Rfc3339(std::chrono::system_clock::now() + expire);
    }
    BERTH_ASSIGN_OR_RETURN(auto resp, leases_.Create(req, Options()));
    return resp.lease().id();
  }

  Status AddLeaseResource(const std::string& lease, const std::string& type,
                          const std::string& id) override {
    v1::AddLeaseResourceRequest req;
    req.set_id(lease);
    req.mutable_resource()->set_type(type);
    req.mutable_resource()->set_id(id);
    return leases_.AddResource(req, Options()).status();
  }

  Status DeleteLease(const std::string& lease) override {
    v1::DeleteLeaseRequest req;
    req.set_id(lease);
    return leases_.Delete(req, Options()).status();
  }

 private:
  ipc::CallOptions Options() const {
    ipc::CallOptions o;
    o.ns = ns_;
    o.timeout = timeout_;
    return o;
  }

  v1::ImagesClient images_;
  v1::LeasesClient leases_;
  std::string ns_;
  std::chrono::milliseconds timeout_;
};

class MemoryStore final : public MemoryImageStore {
 public:
  Result<std::optional<ImageRecord>> Get(const std::string& name) override {
    std::lock_guard lock(mu_);
    auto it = images_.find(name);
    if (it == images_.end()) return std::optional<ImageRecord>();
    return std::optional<ImageRecord>(it->second);
  }
  Result<std::vector<ImageRecord>> List(const std::vector<std::string>&) override {
    std::lock_guard lock(mu_);
    std::vector<ImageRecord> out;
    for (auto& [name, r] : images_) out.push_back(r);
    return out;
  }
  Status Put(const ImageRecord& image) override {
    std::lock_guard lock(mu_);
    images_[image.name] = image;
    return Status::Ok();
  }
  Status Delete(const std::string& name) override {
    std::lock_guard lock(mu_);
    if (images_.erase(name) == 0) return Error(Code::kNotFound, "image {} not found", name);
    return Status::Ok();
  }
  Result<std::string> CreateLease(std::chrono::seconds, std::string id) override {
    std::lock_guard lock(mu_);
    if (id.empty()) id = NewLeaseId();
    if (leases_.count(id)) return Error(Code::kAlreadyExists, "lease {} exists", id);
    leases_[id];
    return id;
  }
  Status AddLeaseResource(const std::string& lease, const std::string& type,
                          const std::string& id) override {
    std::lock_guard lock(mu_);
    auto it = leases_.find(lease);
    if (it == leases_.end()) return Error(Code::kNotFound, "lease {} not found", lease);
    it->second.emplace_back(type, id);
    return Status::Ok();
  }
  Status DeleteLease(const std::string& lease) override {
    std::lock_guard lock(mu_);
    if (leases_.erase(lease) == 0) return Error(Code::kNotFound, "lease {} not found", lease);
    return Status::Ok();
  }
  std::vector<std::pair<std::string, std::string>> LeaseResources(
      const std::string& lease) override {
    std::lock_guard lock(mu_);
    auto it = leases_.find(lease);
    return it == leases_.end() ? std::vector<std::pair<std::string, std::string>>{} : it->second;
  }
  std::vector<std::string> Leases() override {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (auto& [id, r] : leases_) out.push_back(id);
    return out;
  }

 private:
  std::mutex mu_;
  std::map<std::string, ImageRecord> images_;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> leases_;
};

}  // namespace

std::unique_ptr<ImageStore> NewMetadataImageStore(ipc::Client& client, std::string ns,
                                                  std::chrono::milliseconds timeout) {
  return std::make_unique<MetadataImageStore>(client, std::move(ns), timeout);
}

std::unique_ptr<MemoryImageStore> NewMemoryImageStore() { return std::make_unique<MemoryStore>(); }

}  // namespace berth::client
