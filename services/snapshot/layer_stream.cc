#include "services/snapshot/layer_stream.h"

namespace berth::snapshot {

LayerStream::LayerStream(ByteSource& source, LayerStreamOptions options)
    : source_(source), options_(options) {
  if (options_.chunks < 2) options_.chunks = 2;
  chunks_.resize(options_.chunks);
  for (size_t i = 0; i < chunks_.size(); ++i) {
    chunks_[i].data.reset(new uint8_t[options_.chunk_size]);
    free_.push_back(i);
  }
  thread_ = std::thread([this] { Produce(); });
}

LayerStream::~LayerStream() {
  Cancel();
  thread_.join();
}

void LayerStream::Cancel() {
  std::lock_guard lock(mutex_);
  cancelled_ = true;
  cv_.notify_all();
}

Status LayerStream::Fill(Decompressor& decompressor, Chunk& chunk, bool& end) {
  chunk.size = 0;
  while (chunk.size < options_.chunk_size) {
    BERTH_ASSIGN_OR_RETURN(size_t n, decompressor.Read(chunk.data.get() + chunk.size,
                                                       options_.chunk_size - chunk.size));
    if (n == 0) {
      end = true;
      break;
    }
    chunk.size += n;
  }
  if (options_.max_bytes && size_ + chunk.size > options_.max_bytes) {
    return Error(Code::kResourceExhausted,
                 "layer expands to more than {} bytes uncompressed (the configured limit)",
                 options_.max_bytes);
  }
  return Status::Ok();
}

void LayerStream::Produce() {
  Hasher hasher;
  Status status;
  auto decompressor = MakeDecompressor(options_.compression, source_);
  if (!decompressor.ok()) status = decompressor.status();
  bool end = !status.ok();
  while (!end) {
    size_t index;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return cancelled_ || !free_.empty(); });
      if (cancelled_) break;
      index = free_.back();
      free_.pop_back();
    }
    Chunk& chunk = chunks_[index];
    status = Fill(**decompressor, chunk, end);
    if (!status.ok()) break;
    hasher.Update(chunk.data.get(), chunk.size);
    size_ += chunk.size;
    std::lock_guard lock(mutex_);
    if (chunk.size > 0) {
      filled_.push_back(index);
    } else {
      free_.push_back(index);
    }
    cv_.notify_all();
  }
  Digest digest = hasher.Finish();
  std::lock_guard lock(mutex_);
  diff_id_ = std::move(digest);
  producer_status_ = status;
  producer_done_ = true;
  cv_.notify_all();
}

Result<std::string_view> LayerStream::Next() {
  std::unique_lock lock(mutex_);
  if (held_ >= 0) {
    free_.push_back(static_cast<size_t>(held_));
    held_ = -1;
    cv_.notify_all();
  }
  if (ended_) return std::string_view();
  cv_.wait(lock, [&] { return cancelled_ || !filled_.empty() || producer_done_; });
  if (!filled_.empty()) {
    held_ = static_cast<int>(filled_.front());
    filled_.pop_front();
    const Chunk& chunk = chunks_[held_];
    return std::string_view(reinterpret_cast<const char*>(chunk.data.get()), chunk.size);
  }
  if (cancelled_ && !producer_done_) return Status(Code::kCancelled, "layer stream cancelled");
  if (!producer_status_.ok()) return producer_status_;
  if (cancelled_) return Status(Code::kCancelled, "layer stream cancelled");
  ended_ = true;
  return std::string_view();
}

Status LayerStream::Drain() {
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(std::string_view chunk, Next());
    if (chunk.empty()) return Status::Ok();
  }
}

}  // namespace berth::snapshot
