#pragma once
// WriteSession: one Write stream of the content service (see WriteContentRequest in
// content.proto for the protocol).
//
// Messages are queued on the loop thread and processed one at a time on the threadpool, each in
// order, each answered once; while one chunk is written and hashed the loop keeps reading the
// next. The client bounds what is in flight (Proxy: a window of unacknowledged bytes), so the
// queue stays small. The first error ends the stream with that status. The Writer (and so the
// ref's lock) is released when the stream ends: the client closes its side, the connection
// drops (OnCancel), an error ends it, or right after a successful commit.
//
// A source file for COPY messages comes as the one fd attached to the stream's Request frame; the
// session owns it until the stream ends.
//
// Loop-thread object, kept alive by the callbacks it registers on the stream.

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "berth/content/v1/content.berth.h"
#include "common/unique_fd.h"
#include "services/content/blocking.h"
#include "services/content/content.h"

namespace berth::content {

class WriteSession : public std::enable_shared_from_this<WriteSession> {
 public:
  using Stream = ipc::ServerBidi<v1::WriteContentRequest, v1::WriteContentResponse>;

  static void Start(BlockingRunner& runner, Store& store, Stream stream);

 private:
  WriteSession(BlockingRunner& runner, Store& store, Stream stream)
      : runner_(runner), store_(store), stream_(std::move(stream)) {}

  void OnMessage(v1::WriteContentRequest request);
  void OnEnd();
  void OnCancel();
  void Pump();
  void End(const Status& status);
  // Threadpool: one message.
  Result<v1::WriteContentResponse> Process(const v1::WriteContentRequest& request);
  Status Open(const v1::WriteContentRequest& request);
  Status SeekTo(int64_t offset);
  Status WriteAt(const v1::WriteContentRequest& request);
  Status CopyAt(const v1::WriteContentRequest& request);
  Result<v1::WriteContentResponse> Commit(const v1::WriteContentRequest& request);
  Result<v1::WriteContentResponse> Describe(v1::WriteAction action);

  BlockingRunner& runner_;
  Store& store_;
  Stream stream_;
  // Loop thread.
  std::deque<v1::WriteContentRequest> queue_;
  bool busy_ = false;
  bool remote_ended_ = false;
  bool ended_ = false;
  // Threadpool (one Process at a time), or the loop when not busy.
  std::vector<UniqueFd> source_fds_;  // came with the Request frame: the source file (COPY)
  std::unique_ptr<Writer> writer_;    // borrows source_fds_[0]
  std::string ref_;
  bool committed_ = false;
};

}  // namespace berth::content
