#pragma once
// State of one outgoing call or stream inside AsyncClient (loop thread only).

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ipc/client.h"

namespace berth::ipc::detail {

struct PendingCall {
  std::string service;
  std::string method;
  std::string payload;
  std::optional<StreamKind> stream_kind;  // nullopt: unary
  CallOptions options;
  std::function<void(Result<Response>)> done;  // unary
  StreamCallbacks stream;                      // streams
  std::optional<std::chrono::steady_clock::time_point> deadline;
  EventLoop::TimerId deadline_timer = 0;
  uint32_t stream_id = 0;   // 0 until transmitted
  uint64_t generation = 0;  // connection it went out on
  bool completed = false;
  bool abandoned = false;
  // Data frames (payload, flags) sent by the caller before the Request went out. A vector: an
  // empty std::deque would cost two allocations for every call.
  std::vector<std::pair<std::string, uint8_t>> outbox;
};

}  // namespace berth::ipc::detail
