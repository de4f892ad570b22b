#include "bench/ipc/forward_request.h"

#include <chrono>

namespace berth::bench {

using containerd::services::events::ttrpc::v1::ForwardRequest;

std::string EncodeTaskOom(const std::string& container_id) {
  if (container_id.empty()) return {};
  std::string out(1, '\x0a');  // field 1, wire type 2
  for (uint64_t n = container_id.size();; n >>= 7) {
    if (n < 0x80) {
      out.push_back(static_cast<char>(n));
      break;
    }
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
  }
  return out + container_id;
}

ForwardRequest MakeForwardRequest(const std::string& ns, const std::string& topic,
                                  int payload_bytes) {
  ForwardRequest request;
  auto* envelope = request.mutable_envelope();
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now);
  envelope->mutable_timestamp()->set_seconds(seconds.count());
  envelope->mutable_timestamp()->set_nanos(static_cast<int32_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - seconds).count()));
  envelope->set_namespace_(ns);
  envelope->set_topic(topic);
  envelope->mutable_event()->set_type_url(kEventTypeUrl);
  envelope->mutable_event()->set_value(
      EncodeTaskOom(std::string(static_cast<size_t>(std::max(payload_bytes, 0)), 'x')));
  return request;
}

}  // namespace berth::bench
