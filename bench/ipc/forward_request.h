#pragma once
// The benchmark's message: the same Events/Forward request the Go peer sends
// (tests/go/ttrpcpeer/bench.go and common.go), so both sides measure the same bytes.

#include <string>

#include "containerd/services/ttrpc/events/v1/events.pb.h"

namespace berth::bench {

inline constexpr char kBenchNamespace[] = "bench";
inline constexpr char kBenchTopic[] = "/berth/bench";
inline constexpr int kBenchPayloadBytes = 16;
inline constexpr char kEventTypeUrl[] = "containerd.events.TaskOOM";

// A complete ForwardRequest stamped now: envelope {timestamp, namespace, topic, event =
// Any{containerd.events.TaskOOM, TaskOOM{container_id: payload_bytes times 'x'}}}.
containerd::services::events::ttrpc::v1::ForwardRequest MakeForwardRequest(const std::string& ns,
                                                                           const std::string& topic,
                                                                           int payload_bytes);

// TaskOOM{container_id(1) = id} encoded by hand; empty for an empty id (as the Go peer does).
std::string EncodeTaskOom(const std::string& container_id);

}  // namespace berth::bench
