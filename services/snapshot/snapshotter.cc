#include "services/snapshot/snapshotter.h"

namespace berth::snapshot {

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kView:
      return "view";
    case Kind::kActive:
      return "active";
    case Kind::kCommitted:
      return "committed";
    case Kind::kUnknown:
      break;
  }
  return "unknown";
}

Result<Kind> ParseKind(std::string_view name) {
  for (Kind kind : {Kind::kView, Kind::kActive, Kind::kCommitted}) {
    if (name == KindName(kind)) return kind;
  }
  return Error(Code::kInvalidArgument,
               "unknown snapshot kind \"{}\" (expected view, active or committed)", name);
}

Status ValidateKey(std::string_view key) {
  if (key.empty()) return Status(Code::kInvalidArgument, "snapshot key must not be empty");
  if (key.size() > kMaxKeySize) {
    return Error(Code::kInvalidArgument, "snapshot key is {} bytes, more than the {} allowed",
                 key.size(), kMaxKeySize);
  }
  return Status::Ok();
}

Status ValidateLabels(const Labels& labels) {
  for (const auto& [key, value] : labels) {
    if (key.empty()) return Status(Code::kInvalidArgument, "label key must not be empty");
    if (key.size() + value.size() > kMaxLabelSize) {
      return Error(Code::kInvalidArgument,
                   "label \"{:.64}\" is {} bytes with its value, more than the {} allowed", key,
                   key.size() + value.size(), kMaxLabelSize);
    }
  }
  return Status::Ok();
}

Status ApplyLabelUpdate(Labels& labels, const Labels& update,
                        const std::vector<std::string>& fieldpaths) {
  if (fieldpaths.empty()) {
    labels = update;
    return Status::Ok();
  }
  Labels result = labels;
  for (const std::string& path : fieldpaths) {
    if (path == "labels") {
      result = update;
      continue;
    }
    constexpr std::string_view kPrefix = "labels.";
    if (path.size() <= kPrefix.size() || path.compare(0, kPrefix.size(), kPrefix) != 0) {
      return Error(Code::kInvalidArgument,
                   "cannot update field \"{}\": only labels and labels.<key> are mutable", path);
    }
    std::string key = path.substr(kPrefix.size());
    auto it = update.find(key);
    if (it == update.end() || it->second.empty()) {
      result.erase(key);
    } else {
      result[key] = it->second;
    }
  }
  BERTH_RETURN_IF_ERROR(ValidateLabels(result));
  labels = std::move(result);
  return Status::Ok();
}

}  // namespace berth::snapshot
