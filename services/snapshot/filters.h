#pragma once
// containerd-style filters over snapshot Info (github.com/containerd/containerd/filters):
//
//   filters   := filter strings, ORed (none: everything matches)
//   filter    := selector ("," selector)*          selectors ANDed
//   selector  := fieldpath [op value]               no op: the field is present and non-empty
//   fieldpath := field ("." field)*                 field: [A-Za-z0-9_/-]+ or "quoted"
//   op        := "==" | "!=" | "~="                 ~= is an ECMAScript regex search
//   value     := "quoted" or everything up to the next ","
//
// Fields of a snapshot: name, parent, kind (view|active|committed), labels.<key>.
// Examples: `kind==committed`, `labels."containerd.io/gc.root"`, `name~=^sha256:,parent==`.
//
// Match is const and thread-safe.

#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "common/status.h"
#include "services/snapshot/snapshotter.h"

namespace berth::snapshot {

class InfoFilter {
 public:
  // INVALID_ARGUMENT quoting the filter that does not parse.
  static Result<InfoFilter> Parse(const std::vector<std::string>& filters);

  bool Match(const Info& info) const;
  bool empty() const { return alternatives_.empty(); }

 private:
  enum class Op { kPresent, kEqual, kNotEqual, kMatches };
  struct Selector {
    std::vector<std::string> path;
    Op op = Op::kPresent;
    std::string value;
    std::shared_ptr<const std::regex> regex;
  };
  using Conjunction = std::vector<Selector>;

  static Result<Conjunction> ParseFilter(const std::string& text);
  static bool MatchSelector(const Selector& selector, const Info& info);

  std::vector<Conjunction> alternatives_;
};

}  // namespace berth::snapshot
