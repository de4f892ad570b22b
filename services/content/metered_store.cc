#include "services/content/metered_store.h"

namespace berth::content {

namespace {

class MeteredWriter : public Writer {
 public:
  MeteredWriter(std::unique_ptr<Writer> inner, MeteredStore::Counters counters)
      : inner_(std::move(inner)), counters_(counters) {}

  Status Write(std::string_view data) override {
    Status status = inner_->Write(data);
    if (status.ok()) counters_.ingested.Add(data.size());
    return status;
  }
  Status WriteFrom(uint64_t source_offset, uint64_t size) override {
    // Whole chunks may be kept before an error: count what the offset says was taken.
    Result<IngestStatus> before = inner_->GetStatus();
    Status status = inner_->WriteFrom(source_offset, size);
    Result<IngestStatus> after = inner_->GetStatus();
    if (before.ok() && after.ok() && after->offset > before->offset) {
      counters_.ingested.Add(after->offset - before->offset);
    }
    return status;
  }
  Status Commit(uint64_t size, const Digest& expected, const Labels& labels) override {
    Result<IngestStatus> state = inner_->GetStatus();
    Status status = inner_->Commit(size, expected, labels);
    if (status.ok()) {
      counters_.commits.Add();
      if (state.ok()) counters_.committed_bytes.Add(state->offset);
    }
    return status;
  }
  Result<IngestStatus> GetStatus() override { return inner_->GetStatus(); }
  Result<Digest> CurrentDigest() override { return inner_->CurrentDigest(); }
  Status Truncate(uint64_t size) override { return inner_->Truncate(size); }

 private:
  std::unique_ptr<Writer> inner_;
  MeteredStore::Counters counters_;
};

}  // namespace

MeteredStore::MeteredStore(Store& inner, metrics::Registry& registry)
    : inner_(inner),
      counters_{registry.GetCounter("berth_content_ingested_bytes_total",
                                    "Bytes written into the content store (pulls, imports)."),
                registry.GetCounter("berth_content_commits_total", "Blobs committed."),
                registry.GetCounter("berth_content_committed_bytes_total",
                                    "Bytes of the blobs committed."),
                registry.GetCounter("berth_content_deletes_total",
                                    "Blobs deleted (mostly by garbage collection)."),
                registry.GetCounter("berth_content_deleted_bytes_total",
                                    "Bytes of the blobs deleted: what garbage collection freed "
                                    "in the content store.")} {}

Status MeteredStore::Delete(const Digest& digest) {
  Result<Info> info = inner_.GetInfo(digest);
  Status status = inner_.Delete(digest);
  if (status.ok()) {
    counters_.deletes.Add();
    if (info.ok()) counters_.deleted_bytes.Add(static_cast<uint64_t>(info->size));
  }
  return status;
}

Result<std::unique_ptr<Writer>> MeteredStore::OpenWriter(const WriterOptions& options) {
  BERTH_ASSIGN_OR_RETURN(std::unique_ptr<Writer> writer, inner_.OpenWriter(options));
  return std::unique_ptr<Writer>(std::make_unique<MeteredWriter>(std::move(writer), counters_));
}

void AddContentCollector(Store& store, metrics::Registry& registry) {
  registry.AddCollector([&store](metrics::Families& out) {
    double blobs = 0, bytes = 0;
    Status walked = store.Walk([&](const Info& info) {
      blobs++;
      bytes += static_cast<double>(info.size);
      return Status::Ok();
    });
    if (walked.ok()) {
      out.push_back({"berth_content_blobs",
                     "Committed blobs in the content store.",
                     metrics::Type::kGauge,
                     {{{}, blobs}}});
      out.push_back({"berth_content_blob_bytes",
                     "Bytes of the committed blobs.",
                     metrics::Type::kGauge,
                     {{{}, bytes}}});
    }
    if (auto ingests = store.ListStatuses(); ingests.ok()) {
      out.push_back({"berth_content_ingests",
                     "Writes in flight (resumable ingests).",
                     metrics::Type::kGauge,
                     {{{}, static_cast<double>(ingests->size())}}});
    }
  });
}

}  // namespace berth::content
