// libFuzzer target: ipc::ParseRequest (the server's hand-written ttrpc Request parser) against
// protobuf's own ttrpc::Request parser. Both must accept or reject the same bytes, and agree
// on every field; an accepted request re-encoded with AppendRequest must parse back the same.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ipc/request_encoding.h"
#include "ttrpc/request.pb.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "request_fuzz: %s\n", what);
    std::abort();
  }
}

void CheckSame(const berth::ipc::ParsedRequest& ours, const ::ttrpc::Request& reference) {
  Check(ours.service == reference.service(), "service differs");
  Check(ours.method == reference.method(), "method differs");
  Check(ours.payload == reference.payload(), "payload differs");
  Check(ours.timeout_nano == reference.timeout_nano(), "timeout differs");
  Check(ours.metadata.size() == static_cast<size_t>(reference.metadata_size()),
        "metadata count differs");
  for (size_t i = 0; i < ours.metadata.size(); ++i) {
    const auto& kv = reference.metadata(static_cast<int>(i));
    Check(ours.metadata[i].first == kv.key() && ours.metadata[i].second == kv.value(),
          "metadata entry differs");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static google::protobuf::LogSilencer silencer;  // protobuf logs every invalid UTF-8 string
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  ::ttrpc::Request reference;
  bool reference_ok = reference.ParseFromString(bytes);
  berth::ipc::ParsedRequest ours;
  bool ours_ok = berth::ipc::ParseRequest(bytes, ours);
  Check(ours_ok == reference_ok,
        ours_ok ? "accepted what protobuf rejects" : "rejected what protobuf accepts");
  if (!ours_ok) return 0;
  CheckSame(ours, reference);

  // Round trip through the encoder (the namespace rides in metadata, so pass none).
  std::string encoded;
  berth::ipc::AppendRequest(encoded, {.service = ours.service,
                                      .method = ours.method,
                                      .payload = ours.payload,
                                      .timeout_nano = ours.timeout_nano,
                                      .metadata = &ours.metadata});
  // Protobuf keeps unknown fields when it re-serializes; the canonical form has none.
  ::ttrpc::Request known;
  known.set_service(reference.service());
  known.set_method(reference.method());
  known.set_payload(reference.payload());
  known.set_timeout_nano(reference.timeout_nano());
  for (const auto& kv : reference.metadata()) {
    auto* copy = known.add_metadata();
    copy->set_key(kv.key());
    copy->set_value(kv.value());
  }
  std::string canonical;
  Check(known.SerializeToString(&canonical), "protobuf cannot serialize what it parsed");
  Check(encoded == canonical, "AppendRequest differs from protobuf's encoding");
  berth::ipc::ParsedRequest again;
  Check(berth::ipc::ParseRequest(encoded, again), "cannot parse our own encoding");
  CheckSame(again, reference);
  return 0;
}
