#include "ipc/testing/echo_server.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

namespace berth::ipc::testing {

using namespace ::berth::testing::v1;

void EchoServer::Echo(const EchoRequest& request, Reply<EchoResponse> reply) {
  EchoResponse response;
  response.set_payload(request.payload());
  response.set_tag(request.tag());
  response.set_namespace_(reply.call().GetMetadata(kNamespaceKey));
  if (request.tag() == "with-fd") {
    // Hand the payload over as a file descriptor too (exercises SCM_RIGHTS).
    UniqueFd fd(::memfd_create("echo", MFD_CLOEXEC));
    if (::write(fd.get(), request.payload().data(), request.payload().size()) < 0) {
      reply.Fail(ErrnoStatus(errno, "write memfd"));
      return;
    }
    std::vector<UniqueFd> fds;
    fds.push_back(std::move(fd));
    reply.Ok(response, std::move(fds));
    return;
  }
  reply.Ok(response);
}

void EchoServer::Sleep(const SleepRequest& request, Reply<EchoResponse> reply) {
  reply.call().OnCancel([this] { cancelled++; });
  std::string tag = request.tag();
  loop_.After(request.delay_ms(), [reply, tag] {
    EchoResponse response;
    response.set_tag(tag);
    reply.Ok(response);
  });
}

void EchoServer::Count(const CountRequest& request, ServerWriter<CountResponse> writer) {
  for (uint32_t i = 0; i < request.count(); ++i) {
    CountResponse message;
    message.set_value(i);
    writer.Send(message);
  }
  writer.Close();
}

void EchoServer::Sum(ServerReader<CountResponse, SumResponse> stream) {
  auto total = std::make_shared<SumResponse>();
  stream.OnMessage([total](CountResponse message) {
    total->set_total(total->total() + message.value());
    total->set_messages(total->messages() + 1);
  });
  stream.OnEnd([stream, total] { stream.Finish(*total); });
}

void EchoServer::Chat(ServerBidi<EchoRequest, EchoResponse> stream) {
  stream.OnMessage([stream](EchoRequest message) {
    EchoResponse response;
    response.set_payload(message.payload());
    response.set_tag(message.tag());
    stream.Send(response);
  });
  stream.OnEnd([stream] { stream.Close(); });
}

}  // namespace berth::ipc::testing
