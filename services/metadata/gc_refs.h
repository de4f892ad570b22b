#pragma once
// The edges of the garbage collection graph that metadata records contribute, and the labels
// that name them (containerd's labels, same meaning).

#include <google/protobuf/map.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace berth::metadata {

// containerd.io/gc.root on content or a snapshot: keep it (and what it references).
inline constexpr std::string_view kLabelGcRoot = "containerd.io/gc.root";
// containerd.io/gc.ref.content, or .content.<anything> / .content/<anything>: value = digest.
inline constexpr std::string_view kLabelGcRefContent = "containerd.io/gc.ref.content";
// containerd.io/gc.ref.snapshot.<snapshotter>[/<anything>]: value = snapshot key.
inline constexpr std::string_view kLabelGcRefSnapshot = "containerd.io/gc.ref.snapshot.";
// On a lease: RFC 3339 time after which the lease protects nothing and is deleted.
inline constexpr std::string_view kLabelGcExpire = "containerd.io/gc.expire";
// On a lease: protect the leased objects only, not what their labels reference.
inline constexpr std::string_view kLabelGcFlat = "containerd.io/gc.flat";

// Lease resource types.
inline constexpr std::string_view kResourceContent = "content";
inline constexpr std::string_view kResourceSnapshotsPrefix = "snapshots/";
inline constexpr std::string_view kResourceIngests = "ingests";

// A reference from a metadata record (or a label) to a content blob or a snapshot.
struct GcRef {
  enum class Kind : uint8_t { kContent, kSnapshot };
  Kind kind = Kind::kContent;
  std::string ns;           // namespace of the referrer
  std::string snapshotter;  // snapshots only
  std::string key;          // digest, or snapshot key
  bool flat = false;        // from a gc.flat lease: do not follow the target's labels

  static GcRef Content(std::string ns, std::string digest, bool flat = false) {
    return {Kind::kContent, std::move(ns), {}, std::move(digest), flat};
  }
  static GcRef Snapshot(std::string ns, std::string snapshotter, std::string key,
                        bool flat = false) {
    return {Kind::kSnapshot, std::move(ns), std::move(snapshotter), std::move(key), flat};
  }
};

// Appends the references the gc.ref labels in `labels` name.
void AppendLabelRefs(const std::string& ns,
                     const google::protobuf::Map<std::string, std::string>& labels,
                     std::vector<GcRef>* out);
template <typename Labels>
void AppendLabelRefsFrom(const std::string& ns, const Labels& labels, std::vector<GcRef>* out);

// Parses one label into a reference; nullopt when it is not a gc.ref label.
std::optional<GcRef> LabelRef(const std::string& ns, std::string_view key, std::string_view value);

// Parses a containerd.io/gc.expire value (RFC 3339) to Unix nanoseconds. Times past the int64
// range (after 2262) are "never" (INT64_MAX). INVALID_ARGUMENT for anything else malformed.
Result<int64_t> ParseExpiry(std::string_view text);

// The roots of a collection, read from the metadata database in one transaction.
struct GcRoots {
  std::vector<GcRef> refs;  // from images, containers and unexpired leases
  std::vector<std::pair<std::string, std::string>> expired_leases;  // (namespace, id)
  std::optional<int64_t> next_expiry_ns;  // earliest expiry of an unexpired lease
};

template <typename Labels>
void AppendLabelRefsFrom(const std::string& ns, const Labels& labels, std::vector<GcRef>* out) {
  for (const auto& [key, value] : labels) {
    if (auto ref = LabelRef(ns, key, value)) out->push_back(std::move(*ref));
  }
}

}  // namespace berth::metadata
