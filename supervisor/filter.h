#pragma once
// Filters in containerd's syntax (its filters package), used by `Subscribe` (events) and
// `ListPlugins`.
//
// A request carries a list of filter strings; an object passes when ANY of them matches. One
// filter string is a comma-separated list of selectors that must ALL match:
//
//   selector  := fieldpath [operator value]
//   fieldpath := field ('.' field)*          field := [A-Za-z0-9_-]+ | quoted
//   operator  := "==" | "!=" | "~="          (equal, not equal, regular expression search)
//   value     := quoted | run of characters other than ',' and white space
//   quoted    := "..." (Go escapes: \n \t \\ \" \xHH \uHHHH ...) | /.../ | |...|
//                (in /.../ and |...| only the delimiter is escaped; other backslashes are kept,
//                so regular expressions read naturally: namespace~=/^team-\d+$/)
//
// A selector without operator tests that the field is present (non-empty). As in containerd,
// "!=" also matches an absent field, and "~=" searches (unanchored) the value. Deviation that
// only accepts more input: a value that starts with '/' but does not end there is read as a bare
// value, so `topic==/tasks/exit` works as well as `topic=="/tasks/exit"`.
//
// Objects are seen through a FieldSource (an adaptor): a field may have several values (a
// plugin's platforms); a selector matches when any value matches ("!=": when none is equal).
//
// Thread-safety: a parsed Filter is immutable and may be shared between threads.

#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth::supervisor {

class FieldSource {
 public:
  virtual ~FieldSource() = default;
  // Appends the values of the field at `path` to `out` (nothing when the object lacks it).
  virtual void Values(const std::vector<std::string>& path,
                      std::vector<std::string_view>& out) const = 0;
};

enum class FilterOp { kPresent, kEqual, kNotEqual, kMatches };

struct Selector {
  std::vector<std::string> fieldpath;
  FilterOp op = FilterOp::kPresent;
  std::string value;
  std::shared_ptr<const std::regex> regex;  // set for kMatches
};

class Filter {
 public:
  // Matches everything.
  Filter() = default;

  // Parses `filters` (any of them may match). An empty list matches everything; so does an
  // empty string within the list, as in containerd. When `known_fields` is not empty, every
  // selector's first path element must be one of them. Errors: INVALID_ARGUMENT quoting the
  // filter and the position, e.g.
  //   filter "topic==" at offset 7: expected a value after the operator
  //   filter "topc==x": unknown field "topc" (fields: topic, namespace)
  //   filter "topic~=(": bad regular expression: ...
  static Result<Filter> Parse(const std::vector<std::string>& filters,
                              const std::vector<std::string>& known_fields = {});

  bool Match(const FieldSource& object) const;
  bool MatchesEverything() const { return alternatives_.empty(); }
  // The parsed form (for tests): alternatives of conjunctions.
  const std::vector<std::vector<Selector>>& alternatives() const { return alternatives_; }

 private:
  std::vector<std::vector<Selector>> alternatives_;
};

// Parses one filter string (a conjunction of selectors).
Result<std::vector<Selector>> ParseSelectors(std::string_view filter);

// Quotes `value` so that it parses back as itself: "..." with Go escapes.
std::string QuoteFilterValue(std::string_view value);

}  // namespace berth::supervisor
