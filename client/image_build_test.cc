// CompareLayer against a garbage collection that runs between the diff service's commit of the
// layer and the flow's AddLeaseResource: the layer must survive it (client/image_build.h).
#include "client/image_build.h"

#include <gtest/gtest.h>

#include "common/digest.h"
#include "common/temp_dir.h"
#include "services/content/local_store.h"

namespace berth::client {
namespace {

constexpr char kLayer[] = "the layer's bytes";

// Commits kLayer with the labels Compare is given, as the diff service does.
class CommittingDiffer : public snapshot::Differ {
 public:
  explicit CommittingDiffer(content::Store& store) : store_(store) {}
  Result<snapshot::ApplyResult> Apply(const snapshot::Descriptor&,
                                      const std::vector<snapshot::Mount>&,
                                      const snapshot::DiffApplyOptions&) override {
    return Status(Code::kUnimplemented, "apply");
  }
  Result<snapshot::CompareResult> Compare(const std::vector<snapshot::Mount>&,
                                          const std::vector<snapshot::Mount>&,
                                          const snapshot::CompareOptions& options) override {
    Digest digest = DigestBytes(kLayer).value();
    content::Labels labels(options.labels.begin(), options.labels.end());
    BERTH_RETURN_IF_ERROR(content::WriteBlob(store_, "compare", kLayer, digest, labels));
    snapshot::CompareResult result;
    result.descriptor.media_type = options.media_type;
    result.descriptor.digest = digest;
    result.descriptor.size = sizeof(kLayer) - 1;
    result.diff_id = digest;
    return result;
  }

 private:
  content::Store& store_;
};

// A lease store whose AddLeaseResource is preceded by a collection: every blob that neither a
// lease nor a containerd.io/gc.root label holds is deleted, as berth-metadata's GC would.
class CollectingLeases : public ImageStore {
 public:
  explicit CollectingLeases(content::Store& store) : store_(store) {}
  Result<std::optional<ImageRecord>> Get(const std::string& name) override {
    return images_->Get(name);
  }
  Result<std::vector<ImageRecord>> List(const std::vector<std::string>& filters) override {
    return images_->List(filters);
  }
  Status Put(const ImageRecord& image) override { return images_->Put(image); }
  Status Delete(const std::string& name) override { return images_->Delete(name); }
  Result<std::string> CreateLease(std::chrono::seconds expire, std::string id) override {
    return images_->CreateLease(expire, std::move(id));
  }
  Status AddLeaseResource(const std::string& lease, const std::string& type,
                          const std::string& id) override {
    std::vector<Digest> garbage;
    BERTH_RETURN_IF_ERROR(store_.Walk([&](const content::Info& info) {
      if (!info.labels.contains(kBuildGcRootLabel) && !Leased(info.digest)) {
        garbage.push_back(info.digest);
      }
      return Status::Ok();
    }));
    for (const Digest& digest : garbage) BERTH_RETURN_IF_ERROR(store_.Delete(digest));
    swept += garbage.size();
    return images_->AddLeaseResource(lease, type, id);
  }
  Status DeleteLease(const std::string& lease) override { return images_->DeleteLease(lease); }

  MemoryImageStore& memory() { return *images_; }
  size_t swept = 0;

 private:
  bool Leased(const Digest& digest) {
    for (const std::string& lease : images_->Leases()) {
      for (const auto& [type, id] : images_->LeaseResources(lease)) {
        if (type == "content" && id == digest.ToString()) return true;
      }
    }
    return false;
  }

  content::Store& store_;
  std::unique_ptr<MemoryImageStore> images_ = NewMemoryImageStore();
};

TEST(CompareLayerTest, LayerSurvivesACollectionBeforeTheLeaseHoldsIt) {
  auto dir = TempDir::Create("b-build").value();
  auto store = content::LocalStore::Open(dir.Join("content")).value();
  CommittingDiffer differ(*store);
  CollectingLeases leases(*store);
  // An unreferenced blob: the collection does run and sweep.
  Digest stray = DigestBytes("stray").value();
  ASSERT_TRUE(content::WriteBlob(*store, "stray", "stray", stray, {}).ok());
  auto lease = leases.CreateLease(std::chrono::hours(1), "");
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();

  auto layer = CompareLayer(differ, *store, {}, {}, "application/vnd.oci.image.layer.v1.tar+gzip",
                            &leases, *lease);
  ASSERT_TRUE(layer.ok()) << layer.status().ToString();
  EXPECT_EQ(leases.swept, 1u);
  EXPECT_EQ(store->GetInfo(stray).status().code(), Code::kNotFound);
  auto info = store->GetInfo(layer->descriptor.digest);
  ASSERT_TRUE(info.ok()) << "the layer was swept: " << info.status().ToString();
  // The lease holds it now, and nothing else does.
  EXPECT_FALSE(info->labels.contains(kBuildGcRootLabel));
  auto resources = leases.memory().LeaseResources(*lease);
  ASSERT_EQ(resources.size(), 1u);
  EXPECT_EQ(resources[0].first, "content");
  EXPECT_EQ(resources[0].second, layer->descriptor.digest.ToString());
}

TEST(CompareLayerTest, WithoutALeaseNoRootLabelIsSet) {
  auto dir = TempDir::Create("b-build").value();
  auto store = content::LocalStore::Open(dir.Join("content")).value();
  CommittingDiffer differ(*store);
  auto layer =
      CompareLayer(differ, *store, {}, {}, "application/vnd.oci.image.layer.v1.tar", nullptr, "");
  ASSERT_TRUE(layer.ok()) << layer.status().ToString();
  auto info = store->GetInfo(layer->descriptor.digest);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(info->labels.empty());
}

}  // namespace
}  // namespace berth::client
