#pragma once
// containerd-style filters (github.com/containerd/containerd/filters), the subset Berth uses:
//
//   filters   := one or more filter strings, ORed
//   filter    := selector ("," selector)*            selectors ANDed
//   selector  := fieldpath [op value]                 no op: the field is present (non-empty)
//   fieldpath := field ("." field)*                   field: [A-Za-z0-9_/-]+ or "quoted"
//   op        := "==" | "!=" | "~="                   ~= is an ECMAScript regex search
//   value     := "quoted" or everything up to the next ","
//
// Examples: `digest==sha256:...`, `labels."containerd.io/gc.root"`, `ref~=^pull-,total==0`.
// Quoted strings use backslash escapes (\" and \\). Whitespace around tokens is ignored.
// Not thread-compatible for writing; Match is const and thread-safe.

#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::content {

// Field lookup used by Match: the value at a field path, nullopt when absent.
using FieldLookup = std::function<std::optional<std::string>(const std::vector<std::string>&)>;

class Filter {
 public:
  // An empty list matches everything. INVALID_ARGUMENT quoting the bad filter.
  static Result<Filter> Parse(const std::vector<std::string>& filters);

  bool Match(const FieldLookup& lookup) const;
  bool empty() const { return alternatives_.empty(); }

 private:
  enum class Op { kPresent, kEqual, kNotEqual, kMatches };
  struct Selector {
    std::vector<std::string> path;
    Op op = Op::kPresent;
    std::string value;
    std::shared_ptr<std::regex> regex;
  };
  using Conjunction = std::vector<Selector>;

  static Result<Conjunction> ParseOne(const std::string& text);
  static bool MatchSelector(const Selector& selector, const FieldLookup& lookup);

  std::vector<Conjunction> alternatives_;
};

}  // namespace berth::content
