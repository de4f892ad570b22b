#include "common/time.h"

#include <time.h>

#include <limits>

namespace berth {
namespace {

Status BadTime(std::string_view text, std::string_view why) {
  return Error(Code::kInvalidArgument, "invalid time \"{}\": {}", text.substr(0, 100), why);
}

// Reads exactly `n` digits at `pos`.
bool Digits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

bool Expect(std::string_view s, size_t& pos, std::string_view chars) {
  if (pos >= s.size() || chars.find(s[pos]) == std::string_view::npos) return false;
  ++pos;
  return true;
}

}  // namespace

int64_t NowUnixNanos() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::string FormatRfc3339Nano(int64_t unix_nanos) {
  int64_t secs = unix_nanos / 1'000'000'000;
  int64_t nanos = unix_nanos % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    secs -= 1;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm;
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanos);
}

Result<int64_t> ParseRfc3339(std::string_view s) {
  size_t pos = 0;
  int year, mon, day, hour, min, sec;
  if (!Digits(s, pos, 4, year) || !Expect(s, pos, "-") || !Digits(s, pos, 2, mon) ||
      !Expect(s, pos, "-") || !Digits(s, pos, 2, day) || !Expect(s, pos, "Tt") ||
      !Digits(s, pos, 2, hour) || !Expect(s, pos, ":") || !Digits(s, pos, 2, min) ||
      !Expect(s, pos, ":") || !Digits(s, pos, 2, sec)) {
    return BadTime(s, "want YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm)");
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) {
    return BadTime(s, "field out of range");
  }
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, ++digits) {
      if (digits >= 9) return BadTime(s, "more than 9 fractional digits");
      nanos = nanos * 10 + (s[pos] - '0');
    }
    if (digits == 0) return BadTime(s, "empty fraction");
    for (; digits < 9; ++digits) nanos *= 10;
  }
  int offset_minutes = 0;
  if (Expect(s, pos, "Zz")) {
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos++] == '-' ? -1 : 1, oh, om;
    if (!Digits(s, pos, 2, oh) || !Expect(s, pos, ":") || !Digits(s, pos, 2, om) || oh > 23 ||
        om > 59) {
      return BadTime(s, "bad zone offset");
    }
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return BadTime(s, "missing zone (Z or +hh:mm)");
  }
  if (pos != s.size()) return BadTime(s, "trailing characters");
  struct tm tm = {};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  int64_t secs = ::timegm(&tm) - int64_t{offset_minutes} * 60;
  return secs * 1'000'000'000 + nanos;
}

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Error(Code::kInvalidArgument, "invalid duration \"{}\": {}", text.substr(0, 100), why);
  };
  if (text == "0") return std::chrono::nanoseconds(0);
  if (text.empty()) return bad("empty");
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"ns", 1},
      {"us", 1'000},
      {"\xc2\xb5s", 1'000},
      {"ms", 1'000'000},
      {"s", 1'000'000'000},
      {"m", 60'000'000'000},
      {"h", 3'600'000'000'000},
  };
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    int64_t value = 0;
    size_t digits = 0;
    for (; digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9'; ++digits) {
      if (value > (kMax - 9) / 10)
        return Error(Code::kOutOfRange, "duration \"{}\" too large", text);
      value = value * 10 + (rest[digits] - '0');
    }
    if (digits == 0) return bad("expected a number");
    rest.remove_prefix(digits);
    int64_t scale = 0;
    size_t unit_len = 0;
    for (const auto& [unit, factor] : kUnits) {
      if (rest.substr(0, unit.size()) == unit && unit.size() > unit_len) {
        scale = factor;
        unit_len = unit.size();
      }
    }
    if (scale == 0) return bad("expected a unit (ns, us, ms, s, m, h)");
    rest.remove_prefix(unit_len);
    if (value > (kMax - total) / scale) {
      return Error(Code::kOutOfRange, "duration \"{}\" too large", text);
    }
    total += value * scale;
  }
  return std::chrono::nanoseconds(total);
}

}  // namespace berth
