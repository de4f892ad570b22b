#pragma once
// Filters in containerd's syntax, for List calls.
//
//   filter    := selector ("," selector)*        every selector must match (and)
//   selector  := fieldpath [operator value]      without operator: the field is present
//   fieldpath := field ("." field)*              e.g. labels."com.example.key"
//   field     := quoted | [A-Za-z0-9_-]+
//   operator  := "==" | "!=" | "~="              ~= is a regular expression (searched)
//   value     := quoted | [^\s,]+
//   quoted    := "..." | /.../ | |...|            Go escapes inside (\" \\ \n \t \xNN ...)
//
// Several filter strings are or-ed: an object passes when any of them matches; no filter (or
// only empty strings) matches everything. As in containerd, != and ~= compare an absent field
// as the empty string.
//
// Matching asks a FieldGetter for the value at a field path; each object type (image,
// container...) provides one (see the adaptors in store code).

#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth::metadata {

using FieldPath = std::vector<std::string>;
// The value at `path`, or nullopt when the object has no such field.
using FieldGetter = std::function<std::optional<std::string_view>(const FieldPath& path)>;

class Filter {
 public:
  Filter() = default;  // matches everything
  // INVALID_ARGUMENT quoting the filter and the position of the error.
  template <typename Strings>
  static Result<Filter> Parse(const Strings& filters) {
    std::vector<std::string> copy(filters.begin(), filters.end());
    return ParseAll(copy);
  }
  static Result<Filter> ParseAll(const std::vector<std::string>& filters);

  bool Match(const FieldGetter& fields) const;
  bool matches_all() const { return alternatives_.empty(); }

 private:
  enum class Op { kPresent, kEqual, kNotEqual, kMatches };
  struct Selector {
    FieldPath path;
    Op op = Op::kPresent;
    std::string value;
    std::shared_ptr<std::regex> regex;
  };
  static Result<std::vector<Selector>> ParseOne(std::string_view text);

  std::vector<std::vector<Selector>> alternatives_;
};

// Helper for adaptors: the value of `key` = path[from..] joined with '.' in a label map.
template <typename Map>
std::optional<std::string_view> MapField(const Map& map, const FieldPath& path, size_t from) {
  if (path.size() <= from) return std::nullopt;
  std::string key = path[from];
  for (size_t i = from + 1; i < path.size(); ++i) key += "." + path[i];
  auto it = map.find(key);
  if (it == map.end()) return std::nullopt;
  return std::string_view(it->second);
}

}  // namespace berth::metadata
