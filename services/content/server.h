#pragma once
// ContentServer: serves berth.content.v1.Content over any Store (proto -> interface). The only
// place, with proxy.cc, that converts between the interface and the wire.
//
// Every Store call runs on libuv's threadpool (BlockingRunner); answers go out from the loop.
// Malformed digests are INVALID_ARGUMENT before they reach the store. Delete publishes
// /content/delete through `publish`. The Write protocol is documented in content.proto and
// implemented by WriteSession (write_session.h).
//
// Loop-thread object: construct, register and destroy it on the loop thread. The Store must
// outlive it; destroying it waits for Store calls in flight.

#include <google/protobuf/message.h>

#include <functional>
#include <memory>
#include <string>

#include "berth/content/v1/content.berth.h"
#include "ipc/event_loop.h"
#include "services/content/blocking.h"
#include "services/content/content.h"

namespace berth::content {

class ContentServer final : public v1::ContentService {
 public:
  using Publisher = std::function<void(const std::string& ns, const std::string& topic,
                                       const google::protobuf::Message& event)>;

  ContentServer(ipc::EventLoop& loop, Store& store, Publisher publish = {});
  ~ContentServer() override;

  void Info(const v1::InfoRequest& request, ipc::Reply<v1::InfoResponse> reply) override;
  void Update(const v1::UpdateRequest& request, ipc::Reply<v1::UpdateResponse> reply) override;
  void List(const v1::ListContentRequest& request,
            ipc::ServerWriter<v1::ListContentResponse> writer) override;
  void Delete(const v1::DeleteContentRequest& request,
              ipc::Reply<v1::DeleteContentResponse> reply) override;
  void Read(const v1::ReadContentRequest& request,
            ipc::ServerWriter<v1::ReadContentResponse> writer) override;
  void ReadFd(const v1::ReadFdRequest& request, ipc::Reply<v1::ReadFdResponse> reply) override;
  void Status(const v1::StatusRequest& request, ipc::Reply<v1::StatusResponse> reply) override;
  void ListStatuses(const v1::ListStatusesRequest& request,
                    ipc::Reply<v1::ListStatusesResponse> reply) override;
  void Write(ipc::ServerBidi<v1::WriteContentRequest, v1::WriteContentResponse> stream) override;
  void Abort(const v1::AbortRequest& request, ipc::Reply<v1::AbortResponse> reply) override;

  BlockingRunner& runner() { return *runner_; }

 private:
  struct ReadState;
  void ReadNext(std::shared_ptr<ReadState> state);

  ipc::EventLoop& loop_;
  Store& store_;
  Publisher publish_;
  std::unique_ptr<BlockingRunner> runner_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for timers
};

}  // namespace berth::content
