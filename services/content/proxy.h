#pragma once
// Proxy: the content interface (content.h) over IPC to berth-content. Other services (snapshot,
// metadata), berthctl and tests use it; with ContentServer on the other end it behaves exactly
// like the Store behind the server (the conformance suite runs against both).
//
// Transport details:
//   - OpenReader uses ReadFd: the blob's read-only fd comes over SCM_RIGHTS and reads are
//     local preads, no copies through the socket;
//   - a Writer is one Write stream; Write() pipelines chunks (chunk_size each) and waits only
//     when more than write_window bytes are unacknowledged, so a fast disk keeps the socket
//     full; an error reported for any chunk fails the next call on the writer (and every one
//     after it: reopen the ref, GetStatus and resume);
//   - a writer's source file (WriterOptions::source_fd) travels as an fd with the stream's
//     Request frame; WriteFrom() sends COPY messages of copy_chunk bytes and waits for their
//     answers, so its errors come back from WriteFrom itself;
//   - UNAVAILABLE when berth-content cannot be reached (see ipc::ClientOptions for retrying).
//
// Thread-safe like any Store (the ipc::Client is); the client must outlive the proxy and its
// writers and readers.

#include <chrono>
#include <string>

#include "ipc/client.h"
#include "services/content/content.h"

namespace berth::content {

struct ProxyOptions {
  std::string ns;                        // namespace sent with every call ("" = none)
  std::chrono::milliseconds timeout{0};  // per unary call; 0 = none (streams never time out)
  size_t chunk_size = 1 << 20;           // bytes per Write message
  size_t write_window = 8 << 20;         // unacknowledged bytes a writer allows in flight
  size_t copy_chunk = 16 << 20;          // bytes per COPY message (WriteFrom)
  const char* service_name = "berth.content.v1.Content";
};

class Proxy final : public Store {
 public:
  explicit Proxy(ipc::Client& client, ProxyOptions options = {});

  Result<Info> GetInfo(const Digest& digest) override;
  Result<Info> Update(const Info& info, const std::vector<std::string>& fieldpaths) override;
  Status Walk(const WalkFn& fn, const std::vector<std::string>& filters = {}) override;
  Status Delete(const Digest& digest) override;
  Result<std::unique_ptr<ReaderAt>> OpenReader(const Digest& digest) override;
  Result<std::unique_ptr<Writer>> OpenWriter(const WriterOptions& options) override;
  Result<IngestStatus> GetStatus(const std::string& ref) override;
  Result<std::vector<IngestStatus>> ListStatuses(
      const std::vector<std::string>& filters = {}) override;
  Status Abort(const std::string& ref) override;

 private:
  ipc::CallOptions Options(bool stream = false) const;

  ipc::Client& client_;
  ProxyOptions options_;
};

}  // namespace berth::content
