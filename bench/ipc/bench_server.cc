#include "bench/ipc/bench_server.h"

#include <uv.h>

#include <csignal>
#include <cstdio>

#include "containerd/services/ttrpc/events/v1/events.berth.h"
#include "ipc/event_loop.h"
#include "ipc/server.h"

namespace berth::bench {

namespace {

namespace events = containerd::services::events::ttrpc::v1;

class DiscardEvents : public events::EventsService {
 public:
  void Forward(const events::ForwardRequest&, ipc::Reply<google::protobuf::Empty> reply) override {
    reply.Ok(google::protobuf::Empty());
  }
};

}  // namespace

int RunServe(const Flags& flags) {
  std::string socket = flags.Get("socket");
  if (socket.empty()) {
    std::fprintf(stderr, "berth-ipc-bench serve: --socket is required\n");
    return 2;
  }
  // The signal handles are declared before the loop so that they outlive its destructor, which
  // closes them.
  uv_signal_t sigterm, sigint;
  ipc::EventLoop loop;
  DiscardEvents service;
  auto server = std::make_unique<ipc::Server>(loop);
  service.RegisterWith(*server);
  if (Status status = server->Listen(socket); !status.ok()) {
    std::fprintf(stderr, "berth-ipc-bench serve: %s\n", status.ToString().c_str());
    return 1;
  }
  auto on_signal = [](uv_signal_t* handle, int) {
    static_cast<ipc::EventLoop*>(handle->data)->Stop();
  };
  for (auto [handle, signo] : {std::pair{&sigterm, SIGTERM}, std::pair{&sigint, SIGINT}}) {
    uv_signal_init(loop.uv(), handle);
    handle->data = &loop;
    uv_signal_start(handle, on_signal, signo);
  }
  std::printf("ready\n");
  std::fflush(stdout);
  loop.Run();
  server.reset();  // closes the listener (removing the socket file) and every connection
  return 0;
}

}  // namespace berth::bench
