#pragma once
// ProxyWriter: a Writer over one Write stream (see proxy.h for the pipelining and error rules).
// Internal to the Proxy.

#include <algorithm>
#include <deque>
#include <memory>

#include "berth/content/v1/content.pb.h"
#include "ipc/client.h"
#include "services/content/content.h"

namespace berth::content {

class ProxyWriter final : public Writer {
 public:
  struct Sizes {
    size_t chunk;       // bytes of data per WRITE message
    size_t window;      // unacknowledged data bytes allowed in flight
    size_t copy_chunk;  // bytes per COPY message
  };
  // Sends the opening STAT and waits for its answer (the ref's lock, or its error). The stream
  // carries the source fd, if options.source_fd names one.
  static Result<std::unique_ptr<Writer>> Open(std::unique_ptr<ipc::Client::Stream> stream,
                                              const WriterOptions& options, Sizes sizes);
  // Closes the stream and waits for the server to end it, so the ref is free on return.
  ~ProxyWriter() override;

  Status Write(std::string_view data) override;
  Status WriteFrom(uint64_t source_offset, uint64_t size) override;
  Status Commit(uint64_t size, const Digest& expected, const Labels& labels) override;
  Result<IngestStatus> GetStatus() override;
  Result<Digest> CurrentDigest() override;
  Status Truncate(uint64_t size) override;

 private:
  ProxyWriter(std::unique_ptr<ipc::Client::Stream> stream, Sizes sizes)
      : stream_(std::move(stream)), sizes_(sizes) {
    sizes_.chunk = std::max<size_t>(sizes_.chunk, 1);
    sizes_.copy_chunk = std::max<size_t>(sizes_.copy_chunk, 1);
  }

  Status Usable() const;
  // Queues one message (its answer is awaited later).
  Status Send(const v1::WriteContentRequest& request, std::string_view data = {});
  // Waits for the oldest unanswered message's answer.
  Status AwaitOne();
  // Sends `request` and waits for every answer up to its own.
  Result<v1::WriteContentResponse> Exchange(const v1::WriteContentRequest& request);
  void Absorb(const v1::WriteContentResponse& response);

  std::unique_ptr<ipc::Client::Stream> stream_;
  Sizes sizes_;
  bool has_source_ = false;
  IngestStatus status_;
  std::deque<size_t> in_flight_;  // bytes of each unanswered message
  size_t in_flight_bytes_ = 0;
  v1::WriteContentResponse last_;
  Status broken_;
  bool committed_ = false;
};

}  // namespace berth::content
