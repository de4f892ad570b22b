#include "ipc/frame.h"

#include <cstring>

namespace berth::ipc {

namespace {
void PutU32(char* out, uint32_t v) {
  out[0] = static_cast<char>(v >> 24);
  out[1] = static_cast<char>(v >> 16);
  out[2] = static_cast<char>(v >> 8);
  out[3] = static_cast<char>(v);
}
uint32_t GetU32(const char* in) {
  auto b = reinterpret_cast<const unsigned char*>(in);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}
}  // namespace

void EncodeHeader(const FrameHeader& header, char out[kHeaderSize]) {
  PutU32(out, header.length);
  PutU32(out + 4, header.stream_id);
  out[8] = static_cast<char>(header.type);
  out[9] = static_cast<char>(header.flags);
}

FrameHeader DecodeHeader(const char in[kHeaderSize]) {
  FrameHeader h;
  h.length = GetU32(in);
  h.stream_id = GetU32(in + 4);
  h.type = static_cast<uint8_t>(in[8]);
  h.flags = static_cast<uint8_t>(in[9]);
  return h;
}

void AppendFrame(std::string& out, uint32_t stream_id, FrameType type, uint8_t flags,
                 std::string_view body) {
  char header[kHeaderSize];
  EncodeHeader({static_cast<uint32_t>(body.size()), stream_id, static_cast<uint8_t>(type), flags},
               header);
  out.append(header, kHeaderSize);
  out.append(body);
}

void FrameDecoder::Feed(const char* data, size_t size, std::vector<UniqueFd> fds) {
  // A unix socket read may glue bytes sent without fds in front of the message that carried
  // them, but always stops right after that message: the fds belong to the frame holding the
  // last byte read (the sender starts each fd-carrying message with its frame).
  uint64_t last_byte = consumed_total_ + buffered() + (size > 0 ? size - 1 : 0);
  if (!fds.empty()) pending_fds_.push_back({last_byte, std::move(fds)});
  // Discard what belongs to an oversize body without buffering it.
  if (skip_remaining_ > 0) {
    size_t skip = static_cast<size_t>(std::min<uint64_t>(skip_remaining_, size));
    skip_remaining_ -= skip;
    consumed_total_ += skip;
    data += skip;
    size -= skip;
  }
  buffer_.append(data, size);
}

std::optional<Frame> FrameDecoder::Next() {
  if (skip_remaining_ > 0 || buffered() < kHeaderSize) {
    Compact();
    return std::nullopt;
  }
  FrameHeader header = DecodeHeader(buffer_.data() + read_pos_);
  uint64_t frame_start = consumed_total_;
  Frame frame;
  frame.header = header;
  if (header.length > kMaxBody) {
    // Consume the header and whatever part of the body is here; skip the rest as it arrives.
    size_t available = buffered() - kHeaderSize;
    size_t take = static_cast<size_t>(std::min<uint64_t>(available, header.length));
    read_pos_ += kHeaderSize + take;
    consumed_total_ += kHeaderSize + take;
    skip_remaining_ = header.length - take;
    frame.oversize = true;
  } else {
    if (buffered() < kHeaderSize + header.length) {
      Compact();
      return std::nullopt;
    }
    frame.body.assign(buffer_.data() + read_pos_ + kHeaderSize, header.length);
    read_pos_ += kHeaderSize + header.length;
    consumed_total_ += kHeaderSize + header.length;
  }
  // Hand over the fds that arrived with a byte of this frame (or of an earlier one).
  uint64_t frame_end = frame_start + kHeaderSize + header.length;
  while (!pending_fds_.empty() && pending_fds_.front().offset < frame_end) {
    for (auto& fd : pending_fds_.front().fds) frame.fds.push_back(std::move(fd));
    pending_fds_.erase(pending_fds_.begin());
  }
  Compact();
  return frame;
}

void FrameDecoder::Compact() {
  if (read_pos_ == 0) return;
  if (read_pos_ == buffer_.size()) {
    buffer_.clear();
    read_pos_ = 0;
  } else if (read_pos_ > 64 * 1024 && read_pos_ * 2 > buffer_.size()) {
    buffer_.erase(0, read_pos_);
    read_pos_ = 0;
  }
}

}  // namespace berth::ipc
