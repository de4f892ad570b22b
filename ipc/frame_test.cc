#include "ipc/frame.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace berth::ipc {
namespace {

std::string MakeFrame(uint32_t id, FrameType type, uint8_t flags, std::string_view body) {
  std::string out;
  AppendFrame(out, id, type, flags, body);
  return out;
}

TEST(FrameTest, HeaderIsBigEndianTenBytes) {
  std::string bytes = MakeFrame(0x01020304, FrameType::kRequest, 0x02, "abc");
  ASSERT_EQ(bytes.size(), 13u);
  EXPECT_EQ(bytes.substr(0, 10), std::string("\x00\x00\x00\x03\x01\x02\x03\x04\x01\x02", 10));
  EXPECT_EQ(bytes.substr(10), "abc");
}

TEST(FrameTest, FragmentedInputYieldsFramesOnlyWhenComplete) {
  std::string bytes = MakeFrame(1, FrameType::kRequest, 0, "hello world");
  FrameDecoder decoder;
  for (size_t i = 0; i + 1 < bytes.size(); ++i) {
    decoder.Feed(&bytes[i], 1);
    EXPECT_FALSE(decoder.Next().has_value()) << "after byte " << i;
  }
  decoder.Feed(&bytes.back(), 1);
  auto frame = decoder.Next();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->header.stream_id, 1u);
  EXPECT_EQ(frame->body, "hello world");
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FrameTest, CoalescedFramesComeOutInOrder) {
  std::string bytes = MakeFrame(1, FrameType::kRequest, 0, "a") +
                      MakeFrame(3, FrameType::kData, kFlagRemoteClosed, "") +
                      MakeFrame(5, FrameType::kResponse, 0, "ccc");
  FrameDecoder decoder;
  decoder.Feed(bytes.data(), bytes.size());
  auto a = decoder.Next();
  auto b = decoder.Next();
  auto c = decoder.Next();
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->body, "a");
  EXPECT_EQ(b->header.stream_id, 3u);
  EXPECT_EQ(b->header.flags, kFlagRemoteClosed);
  EXPECT_TRUE(b->body.empty());
  EXPECT_EQ(c->body, "ccc");
  EXPECT_FALSE(decoder.Next().has_value());
}

TEST(FrameTest, ZeroLengthBodyIsAFrame) {
  std::string bytes = MakeFrame(7, FrameType::kResponse, 0, "");
  FrameDecoder decoder;
  decoder.Feed(bytes.data(), bytes.size());
  auto frame = decoder.Next();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->header.length, 0u);
  EXPECT_TRUE(frame->body.empty());
}

TEST(FrameTest, OversizeBodyIsSkippedAndTheNextFrameDecodes) {
  std::string big(kMaxBody + 100, 'x');
  std::string bytes =
      MakeFrame(9, FrameType::kRequest, 0, big) + MakeFrame(11, FrameType::kRequest, 0, "next");
  FrameDecoder decoder;
  // Feed in chunks so the skip spans several Feed calls.
  size_t chunk = 1 << 20;
  std::vector<Frame> frames;
  for (size_t off = 0; off < bytes.size(); off += chunk) {
    decoder.Feed(bytes.data() + off, std::min(chunk, bytes.size() - off));
    while (auto f = decoder.Next()) frames.push_back(std::move(*f));
    EXPECT_LT(decoder.buffered(), 2 * chunk) << "oversize body must not be buffered";
  }
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_TRUE(frames[0].oversize);
  EXPECT_EQ(frames[0].header.stream_id, 9u);
  EXPECT_TRUE(frames[0].body.empty());
  EXPECT_FALSE(frames[1].oversize);
  EXPECT_EQ(frames[1].body, "next");
}

TEST(FrameTest, FdsAttachToTheFrameTheyArriveWith) {
  std::string first = MakeFrame(1, FrameType::kData, 0, "one");
  std::string second = MakeFrame(1, FrameType::kData, 0, "two");
  FrameDecoder decoder;
  decoder.Feed(first.data(), first.size());
  std::vector<UniqueFd> fds;
  fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  decoder.Feed(second.data(), second.size(), std::move(fds));
  auto a = decoder.Next();
  auto b = decoder.Next();
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->fds.empty());
  ASSERT_EQ(b->fds.size(), 1u);
  EXPECT_TRUE(b->fds[0].valid());
}

// The kernel glues bytes sent without fds in front of the message that carried fds in one read
// (and stops after it): the fds belong to the frame holding the last byte read, also when only
// the start of that frame arrived.
TEST(FrameTest, FdsGluedBehindAnEarlierFrameGoToTheLastFrame) {
  std::string first = MakeFrame(1, FrameType::kData, 0, "one");
  std::string second = MakeFrame(3, FrameType::kData, 0, "two");
  std::string third = MakeFrame(5, FrameType::kData, 0, "three");
  std::string glued = first + second + third.substr(0, 4);
  FrameDecoder decoder;
  std::vector<UniqueFd> fds;
  fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  decoder.Feed(glued.data(), glued.size(), std::move(fds));
  decoder.Feed(third.data() + 4, third.size() - 4);
  auto a = decoder.Next();
  auto b = decoder.Next();
  auto c = decoder.Next();
  ASSERT_TRUE(a && b && c);
  EXPECT_TRUE(a->fds.empty());
  EXPECT_TRUE(b->fds.empty());
  ASSERT_EQ(c->fds.size(), 1u);
  EXPECT_EQ(c->header.stream_id, 5u);
}

}  // namespace
}  // namespace berth::ipc
