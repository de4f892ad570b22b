#include "services/metadata/gc_refs.h"

#include <limits>

#include "common/time.h"

namespace berth::metadata {

std::optional<GcRef> LabelRef(const std::string& ns, std::string_view key, std::string_view value) {
  if (value.empty()) return std::nullopt;
  if (key.starts_with(kLabelGcRefContent)) {
    std::string_view rest = key.substr(kLabelGcRefContent.size());
    if (!rest.empty() && rest[0] != '.' && rest[0] != '/') return std::nullopt;
    return GcRef::Content(ns, std::string(value));
  }
  if (key.starts_with(kLabelGcRefSnapshot)) {
    std::string_view snapshotter = key.substr(kLabelGcRefSnapshot.size());
    snapshotter = snapshotter.substr(0, snapshotter.find('/'));
    if (snapshotter.empty()) return std::nullopt;
    return GcRef::Snapshot(ns, std::string(snapshotter), std::string(value));
  }
  return std::nullopt;
}

Result<int64_t> ParseExpiry(std::string_view text) {
  BERTH_ASSIGN_OR_RETURN(int64_t at, ParseRfc3339(text));
  // ParseRfc3339 does not guard the int64 range: judge far-future years by their digits.
  int year = 0;
  for (size_t i = 0; i < 4 && i < text.size(); ++i) year = year * 10 + (text[i] - '0');
  if (year > 2261) return std::numeric_limits<int64_t>::max();
  return at;
}

void AppendLabelRefs(const std::string& ns,
                     const google::protobuf::Map<std::string, std::string>& labels,
                     std::vector<GcRef>* out) {
  AppendLabelRefsFrom(ns, labels, out);
}

}  // namespace berth::metadata
