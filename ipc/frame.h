#pragma once
// ttrpc framing: a 10-byte big-endian header followed by the body.
//
//   u32 length | u32 stream id | u8 type | u8 flags | body[length]
//
// FrameDecoder turns a byte stream (in arbitrary fragments) into frames. A frame whose declared
// length exceeds kMaxBody is not buffered: its body is skipped and the frame is delivered with
// `oversize` set (and an empty body), so the caller can answer RESOURCE_EXHAUSTED on that stream
// and keep the connection.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.h"

namespace berth::ipc {

inline constexpr size_t kHeaderSize = 10;
inline constexpr uint32_t kMaxBody = 4u << 20;  // 4 MiB, as ttrpc

enum class FrameType : uint8_t { kRequest = 1, kResponse = 2, kData = 3 };

// Flags are named from the receiver's point of view (ttrpc PROTOCOL.md).
inline constexpr uint8_t kFlagRemoteClosed = 0x01;
inline constexpr uint8_t kFlagRemoteOpen = 0x02;  // Request only
inline constexpr uint8_t kFlagNoData = 0x04;      // Data only

struct FrameHeader {
  uint32_t length = 0;
  uint32_t stream_id = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
};

struct Frame {
  FrameHeader header;
  std::string body;
  bool oversize = false;      // body was larger than kMaxBody and was discarded
  std::vector<UniqueFd> fds;  // descriptors that arrived with this frame (SCM_RIGHTS)
};

void EncodeHeader(const FrameHeader& header, char out[kHeaderSize]);
FrameHeader DecodeHeader(const char in[kHeaderSize]);

// Appends header + body to `out`.
void AppendFrame(std::string& out, uint32_t stream_id, FrameType type, uint8_t flags,
                 std::string_view body);

class FrameDecoder {
 public:
  // Appends received bytes; fds received with them belong to the frame holding the fragment's
  // last byte (a socket read ends with the message that carried fds, but may start with earlier
  // bytes sent without any).
  void Feed(const char* data, size_t size, std::vector<UniqueFd> fds = {});
  // The next complete frame, or nullopt when more bytes are needed.
  std::optional<Frame> Next();
  // Bytes buffered but not yet returned as frames (for tests and truncation checks).
  size_t buffered() const { return buffer_.size() - read_pos_; }

 private:
  void Compact();

  std::string buffer_;
  size_t read_pos_ = 0;
  uint64_t consumed_total_ = 0;  // absolute stream offset of buffer_[read_pos_]
  uint64_t skip_remaining_ = 0;  // bytes of an oversize body still to discard
  struct PendingFds {
    uint64_t offset;  // absolute stream offset of the last byte read with these fds
    std::vector<UniqueFd> fds;
  };
  std::vector<PendingFds> pending_fds_;
};

}  // namespace berth::ipc
