// The blob pipeline of a pull: concurrent resumable downloads of configs and layers into the
// content store, and unpacking in order while later layers still download.
#include <thread>

#include "client/pull_internal.h"

namespace berth::client {
namespace {

constexpr size_t kFlushSize = 1 << 20;  // bytes per content Write (one IPC message)

// Buffers registry bytes into ~1 MiB writes to the content store.
class WriterTarget : public FetchTarget {
 public:
  WriterTarget(content::Writer& writer, Progress* progress, size_t id, uint64_t offset,
               const std::atomic<bool>& abort, std::atomic<uint64_t>& fetched)
      : writer_(writer),
        progress_(progress),
        id_(id),
        offset_(offset),
        abort_(abort),
        fetched_(fetched) {
    buffer_.reserve(kFlushSize);
  }

  Status Write(std::string_view chunk) override {
    if (abort_.load(std::memory_order_relaxed)) return Status(Code::kCancelled, "pull failed");
    buffer_.append(chunk);
    fetched_ += chunk.size();
    if (buffer_.size() >= kFlushSize) return Flush();
    return Status::Ok();
  }

  Status Restart() override {
    buffer_.clear();
    offset_ = 0;
    if (progress_) progress_->Start(id_, 0);
    return writer_.Truncate(0);
  }

  Status Flush() {
    if (buffer_.empty()) return Status::Ok();
    BERTH_RETURN_IF_ERROR(writer_.Write(buffer_));
    offset_ += buffer_.size();
    buffer_.clear();
    if (progress_) progress_->SetOffset(id_, offset_);
    return Status::Ok();
  }

 private:
  content::Writer& writer_;
  Progress* progress_;
  size_t id_;
  uint64_t offset_;
  const std::atomic<bool>& abort_;
  std::atomic<uint64_t>& fetched_;
  std::string buffer_;
};

bool Cancelled(const PullOptions& o) { return o.cancel != nullptr && o.cancel->load(); }

}  // namespace

void LayerPipeline::Fail(const Status& status) {
  std::lock_guard lock(mu_);
  if (error_.ok()) error_ = status;
  abort_ = true;
  cv_.notify_all();
}

// One attempt: open (or resume) the ingest, download the rest, commit.
Status LayerPipeline::FetchOnce(LayerTask& task, bool* retry) {
  content::Store& store = *services->content;
  const Descriptor& d = task.descriptor;
  content::WriterOptions wo{"pull-" + d.digest.hex, static_cast<uint64_t>(d.size), d.digest};
  auto writer = store.OpenWriter(wo);
  if (!writer.ok() && writer.status().code() == Code::kAlreadyExists) return Status::Ok();
  if (!writer.ok() && writer.status().code() == Code::kUnavailable &&
      writer.status().message().find("locked") != std::string::npos) {
    *retry = true;  // another pull writes it: wait for it
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return writer.status();
  }
  if (!writer.ok()) return writer.status();
  BERTH_ASSIGN_OR_RETURN(content::IngestStatus status, (*writer)->GetStatus());
  uint64_t offset = status.offset;
  if (offset > static_cast<uint64_t>(d.size)) {
    BERTH_RETURN_IF_ERROR((*writer)->Truncate(0));
    offset = 0;
  }
  if (progress) progress->Start(task.progress_id, offset);
  WriterTarget target(**writer, progress, task.progress_id, offset, abort_, fetched);
  Status s = registry->FetchBlob(d, offset, target);
  if (s.ok()) s = target.Flush();
  if (s.ok()) s = (*writer)->Commit(static_cast<uint64_t>(d.size), d.digest, task.labels);
  if (s.ok()) return s;
  writer->reset();  // releases the ref
  if (s.code() == Code::kFailedPrecondition || s.code() == Code::kDataLoss) {
    (void)store.Abort(wo.ref);  // bad bytes are never resumed
    return Error(Code::kDataLoss,
                 "{} {}: the registry sent bytes that do not match it ({}); "
                 "nothing was committed",
                 task.is_layer ? "layer" : "config", d.digest, s.message());
  }
  *retry = s.code() == Code::kUnavailable && !abort_ && !Cancelled(*options);
  return s;
}

Status LayerPipeline::FetchLayer(LayerTask& task) {
  const Descriptor& d = task.descriptor;
  // Leased first: a blob that is already there may have nothing else keeping it.
  ImageStore& leases = *services->images;
  BERTH_RETURN_IF_ERROR(leases.AddLeaseResource(lease, "content", d.digest.ToString()));
  if (services->content->GetInfo(d.digest).ok()) {
    if (progress) progress->SetState(task.progress_id, BlobState::kExists);
    return Status::Ok();
  }
  BERTH_RETURN_IF_ERROR(leases.AddLeaseResource(lease, "ingests", "pull-" + d.digest.hex));
  Status s;
  for (int attempt = 0, transient = 0; transient < 4; ++attempt) {
    bool retry = false;
    s = FetchOnce(task, &retry);
    if (s.ok() || !retry || abort_ || Cancelled(*options)) break;
    if (s.message().find("locked") == std::string::npos) ++transient;
  }
  if (progress) {
    BlobState done = task.is_layer ? BlobState::kDownloaded : BlobState::kDone;
    progress->SetState(task.progress_id, s.ok() ? done : BlobState::kFailed);
  }
  if (s.ok() && task.is_layer) ++layers_fetched;
  return s;
}

void LayerPipeline::FetchWorker() {
  while (true) {
    size_t i;
    {
      std::lock_guard lock(mu_);
      if (next_ >= tasks.size() || abort_) return;
      i = next_++;
    }
    Status s = FetchLayer(tasks[i]);
    std::lock_guard lock(mu_);
    done_[i] = s.ok() ? 1 : -1;
    if (!s.ok() && error_.ok()) error_ = s;
    if (!s.ok()) abort_ = true;
    cv_.notify_all();
  }
}

bool LayerPipeline::WaitFor(size_t i) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return done_[i] != 0 || abort_; });
  return !abort_;
}

void LayerPipeline::UnpackWorker() {
  LocalImage& image = *unpack_image;
  if (!WaitFor(unpack_config)) return;
  if (Status s = ReadImageConfig(*services->content, image); !s.ok()) return Fail(s);
  UnpackContext ctx{services->content,    services->snapshots, services->differ,
                    options->snapshotter, services->images,    lease};
  std::string parent;
  for (size_t i = 0; i < unpack_tasks.size(); ++i) {
    LayerTask& task = tasks[unpack_tasks[i]];
    std::string chain = image.chain_ids[i].ToString();
    if (!WaitFor(unpack_tasks[i])) return;  // at once when the blob was there already
    bool unpacked = services->snapshots->Stat(chain).ok();  // then UnpackLayer only leases it
    if (!unpacked && progress) progress->SetState(task.progress_id, BlobState::kUnpacking);
    Status s = UnpackLayer(ctx, task.descriptor, image.config.diff_ids[i], parent, chain);
    if (!s.ok()) {
      if (progress) progress->SetState(task.progress_id, BlobState::kFailed);
      return Fail(s);
    }
    if (!unpacked) ++layers_unpacked;
    if (progress) progress->SetState(task.progress_id, BlobState::kDone);
    parent = chain;
  }
}

Status LayerPipeline::Run() {
  done_.assign(tasks.size(), 0);
  size_t workers = std::min<size_t>(std::max(1, options->max_concurrent), tasks.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < workers; ++i) threads.emplace_back([this] { FetchWorker(); });
  if (unpack_image != nullptr) threads.emplace_back([this] { UnpackWorker(); });
  for (std::thread& t : threads) t.join();
  std::lock_guard lock(mu_);
  if (error_.ok() && Cancelled(*options)) return Status(Code::kCancelled, "pull cancelled");
  return error_;
}

}  // namespace berth::client
