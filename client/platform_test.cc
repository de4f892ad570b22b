#include "client/platform.h"

#include <gtest/gtest.h>

namespace berth::client {
namespace {

Platform P(std::string os, std::string arch, std::string variant = "") {
  return Platform{.os = os, .architecture = arch, .variant = variant};
}

TEST(PlatformTest, ParseAndNormalize) {
  auto p = ParsePlatform("linux/aarch64/v8");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(FormatPlatform(*p), "linux/arm64");
  EXPECT_EQ(FormatPlatform(ParsePlatform("linux/x86_64").value()), "linux/amd64");
  EXPECT_EQ(FormatPlatform(ParsePlatform("linux/arm").value()), "linux/arm/v7");
  EXPECT_EQ(FormatPlatform(ParsePlatform("linux/armhf").value()), "linux/arm/v7");
  EXPECT_EQ(FormatPlatform(ParsePlatform("Linux/ARM/V6").value()), "linux/arm/v6");
  EXPECT_EQ(ParsePlatform("linux").value().architecture, HostPlatform().architecture);
  EXPECT_FALSE(ParsePlatform("").ok());
  EXPECT_FALSE(ParsePlatform("linux//v7").ok());
  EXPECT_FALSE(ParsePlatform("linux/arm/v7/extra").ok());
  EXPECT_FALSE(ParsePlatform("linux/a rm").ok());
}

TEST(PlatformTest, HostIsLinuxAndNormalised) {
  Platform host = HostPlatform();
  EXPECT_EQ(host.os, "linux");
  EXPECT_EQ(host, Normalize(host));
  EXPECT_NE(host.architecture, "x86_64");
}

TEST(PlatformTest, MatchingRanksVariants) {
  PlatformMatcher v7(P("linux", "arm", "v7"));
  EXPECT_EQ(v7.Rank(P("linux", "arm", "v7")), 0);
  EXPECT_EQ(v7.Rank(P("linux", "arm")), 0);  // arm without variant is v7
  EXPECT_LT(*v7.Rank(P("linux", "arm", "v6")), *v7.Rank(P("linux", "arm", "v5")));
  EXPECT_FALSE(v7.Match(P("linux", "arm", "v8")));
  EXPECT_FALSE(v7.Match(P("linux", "arm64")));
  EXPECT_FALSE(v7.Match(P("windows", "arm", "v7")));
  PlatformMatcher amd(P("linux", "amd64"));
  EXPECT_TRUE(amd.Match(P("linux", "x86_64")));
  EXPECT_FALSE(amd.Match(P("linux", "386")));
  EXPECT_TRUE(PlatformMatcher(P("linux", "arm64")).Match(P("linux", "arm64", "v8")));
}

TEST(PlatformTest, SelectManifest) {
  Index index;
  auto add = [&](Platform p, char c) {
    Descriptor d;
    d.digest = ParseDigest("sha256:" + std::string(64, c)).value();
    d.platform = p;
    index.manifests.push_back(d);
  };
  add(P("linux", "amd64"), 'a');
  add(P("linux", "arm", "v6"), 'b');
  add(P("linux", "arm", "v7"), 'c');
  add(P("unknown", "unknown"), 'd');  // attestation manifests: never chosen
  EXPECT_EQ(SelectManifest(index, PlatformMatcher(P("linux", "arm", "v7")))->digest.hex[0], 'c');
  EXPECT_EQ(SelectManifest(index, PlatformMatcher(P("linux", "amd64")))->digest.hex[0], 'a');
  auto none = SelectManifest(index, PlatformMatcher(P("linux", "s390x")));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  EXPECT_NE(none.status().message().find("linux/arm/v6"), std::string::npos);
}

}  // namespace
}  // namespace berth::client
