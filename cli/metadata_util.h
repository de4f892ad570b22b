#pragma once
// Helpers shared by berthctl's metadata command groups (namespaces, image, container, lease,
// gc): KEY=VALUE arguments, label columns, timestamps.

#include <google/protobuf/map.h>
#include <google/protobuf/timestamp.pb.h>

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/time.h"

namespace berth::cli {

// "K=V" arguments to a map; "K=" gives an empty value (which label commands treat as removal).
// INVALID_ARGUMENT naming the argument without '='.
inline Result<std::map<std::string, std::string>> ParseKeyValues(
    const std::vector<std::string>& args) {
  std::map<std::string, std::string> out;
  for (const auto& arg : args) {
    size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error(Code::kInvalidArgument, "expected KEY=VALUE, got \"{}\"", arg);
    }
    out[arg.substr(0, eq)] = arg.substr(eq + 1);
  }
  return out;
}

// "k1=v1,k2=v2" sorted by key, "-" when empty.
inline std::string JoinLabels(const google::protobuf::Map<std::string, std::string>& labels) {
  std::map<std::string, std::string> sorted(labels.begin(), labels.end());
  std::string out;
  for (const auto& [key, value] : sorted) out += (out.empty() ? "" : ",") + key + "=" + value;
  return out.empty() ? "-" : out;
}

inline std::map<std::string, std::string> LabelMap(
    const google::protobuf::Map<std::string, std::string>& labels) {
  return {labels.begin(), labels.end()};
}

inline std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return FormatRfc3339Nano(ts.seconds() * 1000000000 + ts.nanos());
}

}  // namespace berth::cli
