#pragma once
// The ttrpc Request envelope (api/ttrpc/request.proto) encoded and parsed without a protobuf
// message object: the hot path of every call, where a ttrpc::Request would cost about ten heap
// allocations for strings that are copied once more anyway.
//
// AppendRequest writes exactly what ttrpc::Request::SerializeToString writes for the same
// fields (fields in number order, proto3 defaults left out). ParseRequest accepts exactly what
// ttrpc::Request::ParseFromString accepts and yields the same fields: unknown fields (and known
// fields with another wire type) are skipped, a repeated singular field keeps its last value,
// string fields must be UTF-8, a message must end exactly at its length.

#include <cstdint>
#include <string>
#include <string_view>

#include "ipc/server_call.h"

namespace berth::ipc {

struct RequestFields {
  std::string_view service;
  std::string_view method;
  std::string_view payload;
  int64_t timeout_nano = 0;
  // Sent first as {kNamespaceKey, ns} when not empty, then `metadata` in order.
  std::string_view ns;
  const Metadata* metadata = nullptr;
};

// Appends the encoded Request to `out`.
void AppendRequest(std::string& out, const RequestFields& fields);

struct ParsedRequest {
  std::string_view service;  // views into the parsed bytes
  std::string_view method;
  std::string_view payload;
  int64_t timeout_nano = 0;
  Metadata metadata;  // every KeyValue, namespace included, in wire order
};

// Parses `bytes` into `out`; false when protobuf would reject them.
bool ParseRequest(std::string_view bytes, ParsedRequest& out);

}  // namespace berth::ipc
