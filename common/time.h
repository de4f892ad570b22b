#pragma once
// Time helpers: wall-clock nanoseconds, RFC 3339 timestamps, Go-style durations.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth {

// Wall-clock time (CLOCK_REALTIME) in nanoseconds since the Unix epoch.
int64_t NowUnixNanos();

// UTC, always nine fractional digits: "2024-05-01T10:00:00.000000123Z". Sorts as text.
std::string FormatRfc3339Nano(int64_t unix_nanos);

// Parses RFC 3339 ("2024-05-01T10:00:00Z", "2024-05-01T12:00:00.5+02:00"; 0-9 fractional
// digits; 'T'/'t' and 'Z'/'z') into Unix nanoseconds. INVALID_ARGUMENT quoting the input.
Result<int64_t> ParseRfc3339(std::string_view text);

// A duration as in Go and containerd configs: one or more <integer><unit> with units ns, us
// (or µs), ms, s, m, h, e.g. "10s", "5m", "24h", "1h30m", "250ms"; "0" alone is zero. No sign,
// no spaces, no fractions. INVALID_ARGUMENT quoting the input; OUT_OF_RANGE past ~292 years.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);

}  // namespace berth
