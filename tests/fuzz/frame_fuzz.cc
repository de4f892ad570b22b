// libFuzzer target: arbitrary bytes into ipc::FrameDecoder.
//
// Input: byte 0 seeds the fragment sizes, the rest is the byte stream. The stream is decoded
// twice, in one piece and in fragments, and the two must agree frame for frame; every frame is
// checked against the framing rules and re-encoded with AppendFrame, which must give back the
// input bytes. Any disagreement aborts (libFuzzer reports it as a crash).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/frame.h"

namespace {

using berth::ipc::Frame;
using berth::ipc::FrameDecoder;
using berth::ipc::kHeaderSize;
using berth::ipc::kMaxBody;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "frame_fuzz: %s\n", what);
    std::abort();
  }
}

struct Decoded {
  std::vector<Frame> frames;
  size_t buffered = 0;
};

// Feeds `stream` in pieces whose sizes come from `seed` (0: one piece), taking every frame as
// soon as it is complete.
Decoded Decode(std::string_view stream, uint8_t seed) {
  FrameDecoder decoder;
  Decoded out;
  uint32_t state = seed;
  size_t offset = 0;
  while (offset < stream.size()) {
    size_t piece = stream.size() - offset;
    if (seed != 0) {
      state = state * 1103515245u + 12345u;
      piece = std::min<size_t>(piece, 1 + (state >> 16) % 32);
    }
    decoder.Feed(stream.data() + offset, piece);
    offset += piece;
    while (auto frame = decoder.Next()) out.frames.push_back(std::move(*frame));
  }
  out.buffered = decoder.buffered();
  return out;
}

uint32_t GetU32(std::string_view bytes, size_t at) {
  auto b = reinterpret_cast<const unsigned char*>(bytes.data() + at);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

// Checks the frames against the stream they came from.
void CheckFrames(std::string_view stream, const Decoded& decoded) {
  uint64_t consumed = 0;  // stream offset where the next frame starts
  for (const Frame& frame : decoded.frames) {
    Check(consumed + kHeaderSize <= stream.size(), "frame header beyond the input");
    Check(frame.header.length == GetU32(stream, consumed), "length differs from the input");
    if (frame.oversize) {
      Check(frame.header.length > kMaxBody, "oversize flag on a frame within the limit");
      Check(frame.body.empty(), "oversize frame kept its body");
    } else {
      Check(frame.header.length <= kMaxBody, "frame over the limit not flagged oversize");
      Check(frame.body.size() == frame.header.length, "body size differs from its length");
      std::string encoded;
      berth::ipc::AppendFrame(encoded, frame.header.stream_id,
                              static_cast<berth::ipc::FrameType>(frame.header.type),
                              frame.header.flags, frame.body);
      Check(stream.substr(consumed, encoded.size()) == encoded, "re-encoded frame differs");
    }
    consumed += kHeaderSize + frame.header.length;
  }
  if (consumed >= stream.size()) {
    Check(decoded.buffered == 0, "bytes buffered while skipping an oversize body");
    return;
  }
  Check(consumed + decoded.buffered == stream.size(), "bytes lost or duplicated");
  if (decoded.buffered >= kHeaderSize) {
    uint32_t length = GetU32(stream, consumed);
    Check(length <= kMaxBody && decoded.buffered < kHeaderSize + length,
          "a complete frame was left in the buffer");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t seed = data[0];
  std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  Decoded whole = Decode(stream, 0);
  CheckFrames(stream, whole);
  Decoded pieces = Decode(stream, seed == 0 ? 1 : seed);
  CheckFrames(stream, pieces);
  Check(whole.frames.size() == pieces.frames.size(), "fragmenting changed the frame count");
  for (size_t i = 0; i < whole.frames.size(); ++i) {
    const Frame& a = whole.frames[i];
    const Frame& b = pieces.frames[i];
    Check(a.header.length == b.header.length && a.header.stream_id == b.header.stream_id &&
              a.header.type == b.header.type && a.header.flags == b.header.flags &&
              a.oversize == b.oversize && a.body == b.body,
          "fragmenting changed a frame");
  }
  Check(whole.buffered == pieces.buffered, "fragmenting changed what stays buffered");
  return 0;
}
