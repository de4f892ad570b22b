#pragma once
// A real Echo service (api/berth/testing/v1/echo.proto) for IPC tests, fuzzers and benchmarks.

#include <atomic>
#include <string>

#include "berth/testing/v1/echo.berth.h"
#include "ipc/event_loop.h"

namespace berth::ipc::testing {

class EchoServer : public ::berth::testing::v1::EchoService {
 public:
  explicit EchoServer(EventLoop& loop) : loop_(loop) {}

  void Echo(const ::berth::testing::v1::EchoRequest& request,
            Reply<::berth::testing::v1::EchoResponse> reply) override;
  void Sleep(const ::berth::testing::v1::SleepRequest& request,
             Reply<::berth::testing::v1::EchoResponse> reply) override;
  void Count(const ::berth::testing::v1::CountRequest& request,
             ServerWriter<::berth::testing::v1::CountResponse> writer) override;
  void Sum(ServerReader<::berth::testing::v1::CountResponse, ::berth::testing::v1::SumResponse>
               stream) override;
  void Chat(ServerBidi<::berth::testing::v1::EchoRequest, ::berth::testing::v1::EchoResponse>
                stream) override;

  std::atomic<int> cancelled{0};  // calls whose peer went away or whose deadline passed

 private:
  EventLoop& loop_;
};

}  // namespace berth::ipc::testing
