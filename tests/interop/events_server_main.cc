// berth-interop-events-server: containerd's Events/Forward served by Berth's generated
// EventsService, for the interop tests that point the Go ttrpc peer at Berth.
//
//   berth-interop-events-server --socket PATH
//
// Prints "ready" once listening, then one line per accepted event:
//   forward namespace=<envelope ns> metadata_namespace=<call ns> topic=<topic> type_url=<url>
//     event_bytes=<n>
// A Forward without an envelope, or whose topic does not start with '/', gets INVALID_ARGUMENT
// (containerd 1.6 itself crashes on the first). Exits 0 on SIGTERM/SIGINT.
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>

#include "containerd/services/ttrpc/events/v1/events.berth.h"
#include "ipc/event_loop.h"
#include "ipc/server.h"

namespace {

namespace events = containerd::services::events::ttrpc::v1;
using berth::Code;
using berth::Status;

class RecordingEvents : public events::EventsService {
 public:
  void Forward(const events::ForwardRequest& request,
               berth::ipc::Reply<google::protobuf::Empty> reply) override {
    if (!request.has_envelope()) {
      reply.Fail(Status(Code::kInvalidArgument, "forward request has no envelope"));
      return;
    }
    const events::Envelope& envelope = request.envelope();
    if (!envelope.topic().starts_with('/')) {
      reply.Fail(
          Status(Code::kInvalidArgument, "topic \"" + envelope.topic() + "\" must start with '/'"));
      return;
    }
    std::printf("forward namespace=%s metadata_namespace=%s topic=%s type_url=%s event_bytes=%zu\n",
                envelope.namespace_().c_str(), reply.call().Namespace("").c_str(),
                envelope.topic().c_str(), envelope.event().type_url().c_str(),
                envelope.event().value().size());
    std::fflush(stdout);
    reply.Ok(google::protobuf::Empty());
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  if (argc != 3 || std::strcmp(argv[1], "--socket") != 0) {
    std::fprintf(stderr, "usage: berth-interop-events-server --socket PATH\n");
    return 2;
  }
  uv_signal_t sigterm, sigint;  // outlive the loop, whose destructor closes them
  berth::ipc::EventLoop loop;
  RecordingEvents service;
  auto server = std::make_unique<berth::ipc::Server>(loop);
  service.RegisterWith(*server);
  if (Status status = server->Listen(argv[2]); !status.ok()) {
    std::fprintf(stderr, "berth-interop-events-server: %s\n", status.ToString().c_str());
    return 1;
  }
  auto on_signal = [](uv_signal_t* handle, int) {
    static_cast<berth::ipc::EventLoop*>(handle->data)->Stop();
  };
  for (auto [handle, signo] : {std::pair{&sigterm, SIGTERM}, std::pair{&sigint, SIGINT}}) {
    uv_signal_init(loop.uv(), handle);
    handle->data = &loop;
    uv_signal_start(handle, on_signal, signo);
  }
  std::printf("ready\n");
  std::fflush(stdout);
  loop.Run();
  server.reset();
  return 0;
}
