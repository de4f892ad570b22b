#pragma once
// ProxyWriter: a Writer over one Write stream (see proxy.h for the pipelining and error rules).
// Internal to the Proxy.

#include <deque>
#include <memory>

#include "berth/content/v1/content.pb.h"
#include "ipc/client.h"
#include "services/content/content.h"

namespace berth::content {

class ProxyWriter final : public Writer {
 public:
  // Sends the opening STAT and waits for its answer (the ref's lock, or its error).
  static Result<std::unique_ptr<Writer>> Open(std::unique_ptr<ipc::Client::Stream> stream,
                                              const WriterOptions& options, size_t chunk_size,
                                              size_t window);
  // Closes the stream and waits for the server to end it, so the ref is free on return.
  ~ProxyWriter() override;

  Status Write(std::string_view data) override;
  Status Commit(uint64_t size, const Digest& expected, const Labels& labels) override;
  Result<IngestStatus> GetStatus() override;
  Result<Digest> CurrentDigest() override;
  Status Truncate(uint64_t size) override;

 private:
  ProxyWriter(std::unique_ptr<ipc::Client::Stream> stream, size_t chunk_size, size_t window)
      : stream_(std::move(stream)), chunk_size_(chunk_size), window_(window) {}

  Status Usable() const;
  // Queues one message (its answer is awaited later).
  Status Send(const v1::WriteContentRequest& request, std::string_view data = {});
  // Waits for the oldest unanswered message's answer.
  Status AwaitOne();
  // Sends `request` and waits for every answer up to its own.
  Result<v1::WriteContentResponse> Exchange(const v1::WriteContentRequest& request);
  void Absorb(const v1::WriteContentResponse& response);

  std::unique_ptr<ipc::Client::Stream> stream_;
  size_t chunk_size_;
  size_t window_;
  IngestStatus status_;
  std::deque<size_t> in_flight_;  // bytes of each unanswered message
  size_t in_flight_bytes_ = 0;
  v1::WriteContentResponse last_;
  Status broken_;
  bool committed_ = false;
};

}  // namespace berth::content
