#pragma once
// MeteredStore: a Store that counts what passes through it into a metrics Registry, around the
// real store (berth-content wraps its LocalStore in one, so the server and every other caller
// are counted alike):
//   berth_content_ingested_bytes_total   bytes accepted by writers (Write, WriteFrom): the bytes
//                                        a pull fetched or an import read
//   berth_content_commits_total          blobs committed (including ones that already existed)
//   berth_content_committed_bytes_total  their sizes
//   berth_content_deletes_total          blobs deleted (mostly by garbage collection)
//   berth_content_deleted_bytes_total    their sizes: the bytes GC freed in the content store
// and, read at each scrape by AddContentCollector:
//   berth_content_blobs, berth_content_blob_bytes, berth_content_ingests
// Thread-safety: as the wrapped store (counters are lock-free).

#include <memory>

#include "common/metrics.h"
#include "services/content/content.h"

namespace berth::content {

class MeteredStore : public Store {
 public:
  // `inner` and `registry` must outlive this object.
  MeteredStore(Store& inner, metrics::Registry& registry);

  Result<Info> GetInfo(const Digest& digest) override { return inner_.GetInfo(digest); }
  Result<Info> Update(const Info& info, const std::vector<std::string>& fieldpaths) override {
    return inner_.Update(info, fieldpaths);
  }
  Status Walk(const WalkFn& fn, const std::vector<std::string>& filters = {}) override {
    return inner_.Walk(fn, filters);
  }
  Status Delete(const Digest& digest) override;
  Result<std::unique_ptr<ReaderAt>> OpenReader(const Digest& digest) override {
    return inner_.OpenReader(digest);
  }
  Result<std::unique_ptr<Writer>> OpenWriter(const WriterOptions& options) override;
  Result<IngestStatus> GetStatus(const std::string& ref) override { return inner_.GetStatus(ref); }
  Result<std::vector<IngestStatus>> ListStatuses(
      const std::vector<std::string>& filters = {}) override {
    return inner_.ListStatuses(filters);
  }
  Status Abort(const std::string& ref) override { return inner_.Abort(ref); }

  struct Counters {
    metrics::Counter& ingested;
    metrics::Counter& commits;
    metrics::Counter& committed_bytes;
    metrics::Counter& deletes;
    metrics::Counter& deleted_bytes;
  };

 private:
  Store& inner_;
  Counters counters_;
};

// Adds the collector of the store's current size (walks the committed blobs at each scrape).
void AddContentCollector(Store& store, metrics::Registry& registry);

}  // namespace berth::content
