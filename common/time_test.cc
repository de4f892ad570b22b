#include "common/time.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

using namespace std::chrono_literals;

TEST(TimeTest, NowIsRecent) {
  int64_t now = NowUnixNanos();
  EXPECT_GT(now, int64_t{1'700'000'000} * 1'000'000'000);  // after Nov 2023
  EXPECT_LE(now, NowUnixNanos());
}

TEST(TimeTest, FormatRfc3339Nano) {
  EXPECT_EQ(FormatRfc3339Nano(0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(FormatRfc3339Nano(1'714'557'600'000'000'123), "2024-05-01T10:00:00.000000123Z");
  EXPECT_EQ(FormatRfc3339Nano(-1), "1969-12-31T23:59:59.999999999Z");
}

TEST(TimeTest, ParseRfc3339) {
  EXPECT_EQ(*ParseRfc3339("2024-05-01T10:00:00.000000123Z"), 1'714'557'600'000'000'123);
  EXPECT_EQ(*ParseRfc3339("2024-05-01T12:00:00.5+02:00"), 1'714'557'600'500'000'000);
  EXPECT_EQ(*ParseRfc3339("1970-01-01t00:00:01z"), 1'000'000'000);
  int64_t now = NowUnixNanos();
  EXPECT_EQ(*ParseRfc3339(FormatRfc3339Nano(now)), now);
  for (const char* bad :
       {"", "2024-05-01", "2024-05-01T10:00:00", "2024-13-01T10:00:00Z", "2024-05-01T10:00:00.Z",
        "2024-05-01T10:00:00.1234567890Z", "2024-05-01T10:00:00Zjunk", "2024-05-01 10:00:00Z"}) {
    auto r = ParseRfc3339(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    }
  }
}

TEST(TimeTest, ParseDuration) {
  EXPECT_EQ(*ParseDuration("10s"), 10s);
  EXPECT_EQ(*ParseDuration("5m"), 5min);
  EXPECT_EQ(*ParseDuration("24h"), 24h);
  EXPECT_EQ(*ParseDuration("1h30m"), 90min);
  EXPECT_EQ(*ParseDuration("250ms"), 250ms);
  EXPECT_EQ(*ParseDuration("7us"), 7us);
  EXPECT_EQ(*ParseDuration("7\xc2\xb5s"), 7us);
  EXPECT_EQ(*ParseDuration("3ns"), 3ns);
  EXPECT_EQ(*ParseDuration("0"), 0ns);
  for (const char* bad : {"", "10", "s", "-5s", "1.5h", "5 m", "5d", "10s ", "m5"}) {
    auto r = ParseDuration(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
    }
  }
  EXPECT_EQ(ParseDuration("9999999999h").status().code(), Code::kOutOfRange);
  EXPECT_EQ(ParseDuration("99999999999999999999s").status().code(), Code::kOutOfRange);
}

}  // namespace
}  // namespace berth
