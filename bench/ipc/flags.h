#pragma once
// Command-line flags of berth-ipc-bench, spelled like the Go peer's: "--name value" or
// "--name=value". Durations take Go's units (ns, us, ms, s, m): "3s", "500ms", "1.5s".

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth::bench {

class Flags {
 public:
  // INVALID_ARGUMENT for a flag outside `known`, a positional word or a flag without a value.
  static Result<Flags> Parse(int argc, char** argv, const std::set<std::string>& known);

  std::string Get(const std::string& name, std::string fallback = {}) const;
  // INVALID_ARGUMENT when the value is not a whole number.
  Result<int64_t> GetInt(const std::string& name, int64_t fallback) const;
  // INVALID_ARGUMENT when the value is not a Go-style duration.
  Result<std::chrono::nanoseconds> GetDuration(const std::string& name,
                                               std::chrono::nanoseconds fallback) const;

 private:
  std::map<std::string, std::string> values_;
};

// "3s" -> 3e9 ns. Exposed for tests.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);

}  // namespace berth::bench
