// AppendRequest must produce exactly protobuf's encoding of ttrpc.Request.
#include "ipc/request_encoding.h"

#include <gtest/gtest.h>

#include "ttrpc/request.pb.h"

namespace berth::ipc {
namespace {

std::string Protobuf(const RequestFields& fields) {
  ::ttrpc::Request request;
  request.set_service(std::string(fields.service));
  request.set_method(std::string(fields.method));
  request.set_payload(std::string(fields.payload));
  request.set_timeout_nano(fields.timeout_nano);
  if (!fields.ns.empty()) {
    auto* kv = request.add_metadata();
    kv->set_key(kNamespaceKey);
    kv->set_value(std::string(fields.ns));
  }
  if (fields.metadata != nullptr) {
    for (const auto& [key, value] : *fields.metadata) {
      auto* kv = request.add_metadata();
      kv->set_key(key);
      kv->set_value(value);
    }
  }
  std::string out;
  EXPECT_TRUE(request.SerializeToString(&out));
  return out;
}

std::string Ours(const RequestFields& fields) {
  std::string out = "prefix";  // appends, never replaces
  AppendRequest(out, fields);
  EXPECT_EQ(out.substr(0, 6), "prefix");
  return out.substr(6);
}

TEST(RequestEncodingTest, MatchesProtobufForTypicalCalls) {
  Metadata metadata = {{"trace", "abc"}, {"", "empty-key"}, {"empty-value", ""}};
  RequestFields fields{.service = "containerd.services.events.ttrpc.v1.Events",
                       .method = "Forward",
                       .payload = "\x0a\x03\x08\x01\x02",
                       .timeout_nano = 10'000'000'000,
                       .ns = "default",
                       .metadata = &metadata};
  EXPECT_EQ(Ours(fields), Protobuf(fields));
}

TEST(RequestEncodingTest, LeavesDefaultsOutLikeProto3) {
  EXPECT_EQ(Ours({}), "");
  EXPECT_EQ(Ours({}), Protobuf({}));
  RequestFields only_method{.method = "M"};
  EXPECT_EQ(Ours(only_method), Protobuf(only_method));
}

TEST(RequestEncodingTest, LongFieldsAndNegativeTimeoutsUseFullVarints) {
  std::string big(300000, 'x');  // three-byte length varint
  std::string ns(130, 'n');
  Metadata metadata = {{std::string(200, 'k'), std::string(70000, 'v')}};
  RequestFields fields{.service = big,
                       .method = "m",
                       .payload = big,
                       .timeout_nano = -5,
                       .ns = ns,
                       .metadata = &metadata};
  EXPECT_EQ(Ours(fields), Protobuf(fields));
  ::ttrpc::Request parsed;
  ASSERT_TRUE(parsed.ParseFromString(Ours(fields)));
  EXPECT_EQ(parsed.timeout_nano(), -5);
  ASSERT_EQ(parsed.metadata_size(), 2);
  EXPECT_EQ(parsed.metadata(0).key(), kNamespaceKey);
  EXPECT_EQ(parsed.metadata(1).value().size(), 70000u);
}

// ParseRequest and protobuf must agree: both accept with the same fields, or both reject.
void ExpectSameAsProtobuf(const std::string& bytes, bool expect_ok) {
  ::ttrpc::Request reference;
  bool reference_ok = reference.ParseFromString(bytes);
  ParsedRequest ours;
  bool ours_ok = ParseRequest(bytes, ours);
  ASSERT_EQ(reference_ok, expect_ok) << "test input is not what it claims";
  ASSERT_EQ(ours_ok, reference_ok);
  if (!ours_ok) return;
  EXPECT_EQ(ours.service, reference.service());
  EXPECT_EQ(ours.method, reference.method());
  EXPECT_EQ(ours.payload, reference.payload());
  EXPECT_EQ(ours.timeout_nano, reference.timeout_nano());
  ASSERT_EQ(ours.metadata.size(), static_cast<size_t>(reference.metadata_size()));
  for (size_t i = 0; i < ours.metadata.size(); ++i) {
    EXPECT_EQ(ours.metadata[i].first, reference.metadata(static_cast<int>(i)).key());
    EXPECT_EQ(ours.metadata[i].second, reference.metadata(static_cast<int>(i)).value());
  }
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(RequestParsingTest, ReadsWhatAppendRequestWrites) {
  Metadata metadata = {{"k", "v"}, {"", ""}};
  std::string payload("\0\1", 2);
  RequestFields fields{.service = "svc",
                       .method = "M",
                       .payload = payload,
                       .timeout_nano = -1,
                       .ns = "ns",
                       .metadata = &metadata};
  std::string bytes;
  AppendRequest(bytes, fields);
  ParsedRequest parsed;
  ASSERT_TRUE(ParseRequest(bytes, parsed));
  EXPECT_EQ(parsed.service, "svc");
  EXPECT_EQ(parsed.method, "M");
  EXPECT_EQ(parsed.payload, payload);
  EXPECT_EQ(parsed.timeout_nano, -1);
  EXPECT_EQ(parsed.metadata, (Metadata{{kNamespaceKey, "ns"}, {"k", "v"}, {"", ""}}));
  ExpectSameAsProtobuf(bytes, true);
}

TEST(RequestParsingTest, SkipsUnknownFieldsAndMismatchedWireTypesLikeProtobuf) {
  // service "a"; field 9 varint; field 10 fixed64; field 11 bytes; field 12 fixed32; an
  // unknown group 13 holding a varint; method given as a varint (wrong wire type: skipped).
  ExpectSameAsProtobuf(
      Bytes({0x0a, 1, 'a', 0x48, 0x96, 0x01, 0x51, 1, 2, 3,    4,    5,    6,    7,    8,
             0x5a, 2, 'x', 'y',  0x65, 1,    2,    3, 4, 0x6b, 0x08, 0x01, 0x6c, 0x10, 0x05}),
      true);
  // A field given twice keeps its last value; metadata entries accumulate; a KeyValue with an
  // unknown field.
  ExpectSameAsProtobuf(Bytes({0x0a, 1, 'a', 0x0a, 1, 'b', 0x2a, 5, 0x0a, 1, 'k', 0x18, 0x01, 0x2a,
                              0x00, 0x20, 0x7f}),
                       true);
  // Non-canonical encodings: a two-byte tag, a padded length.
  ExpectSameAsProtobuf(Bytes({0x8a, 0x00, 0x81, 0x00, 'z'}), true);
  ExpectSameAsProtobuf("", true);
}

TEST(RequestParsingTest, RejectsWhatProtobufRejects) {
  ExpectSameAsProtobuf(Bytes({0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01}), false);  // huge length
  ExpectSameAsProtobuf(Bytes({0x0a, 5, 'a'}), false);                              // truncated
  ExpectSameAsProtobuf(Bytes({0x00}), false);                                      // tag 0
  ExpectSameAsProtobuf(Bytes({0x02, 0x00}), false);                                // field 0
  ExpectSameAsProtobuf(Bytes({0x0e}), false);                                      // wire type 6
  ExpectSameAsProtobuf(Bytes({0x0c}), false);                       // end group nobody opened
  ExpectSameAsProtobuf(Bytes({0x6b, 0x74}), false);                 // group 13 closed as 14
  ExpectSameAsProtobuf(Bytes({0x6b, 0x08, 0x01}), false);           // group never closed
  ExpectSameAsProtobuf(Bytes({0x0a, 2, 0xc3, 0x28}), false);        // service not UTF-8
  ExpectSameAsProtobuf(Bytes({0x2a, 3, 0x12, 1, 0xff}), false);     // metadata value not UTF-8
  ExpectSameAsProtobuf(Bytes({0x2a, 2, 0x08, 0x01, 0x0a}), false);  // KeyValue overruns
  ExpectSameAsProtobuf(
      Bytes({0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}),
      false);  // an 11-byte varint
  // Payload is bytes, not a string: anything goes.
  ExpectSameAsProtobuf(Bytes({0x1a, 2, 0xc3, 0x28}), true);
}

}  // namespace
}  // namespace berth::ipc
