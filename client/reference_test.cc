#include "client/reference.h"

#include <gtest/gtest.h>

namespace berth::client {
namespace {

const std::string kHex(64, 'a');

std::string Normal(std::string_view text) {
  auto ref = ParseReference(text);
  EXPECT_TRUE(ref.ok()) << text << ": " << ref.status().ToString();
  return ref.ok() ? ref->String() : "";
}

TEST(ReferenceTest, DockerHubNormalisation) {
  EXPECT_EQ(Normal("busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(Normal("busybox:1.36"), "docker.io/library/busybox:1.36");
  EXPECT_EQ(Normal("user/app"), "docker.io/user/app:latest");
  EXPECT_EQ(Normal("docker.io/busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(Normal("index.docker.io/library/busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(Normal("docker.io/library/busybox:latest"), "docker.io/library/busybox:latest");
}

TEST(ReferenceTest, HostsPortsAndPaths) {
  auto ref = ParseReference("127.0.0.1:5000/berth/busybox:v2s2");
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  EXPECT_EQ(ref->domain, "127.0.0.1:5000");
  EXPECT_EQ(ref->path, "berth/busybox");
  EXPECT_EQ(ref->tag, "v2s2");
  EXPECT_EQ(Normal("localhost/app"), "localhost/app:latest");
  EXPECT_EQ(Normal("localhost:5000/a/b/c"), "localhost:5000/a/b/c:latest");
  EXPECT_EQ(Normal("registry.example.com/a.b/c_d/e__f/g-h--i"),
            "registry.example.com/a.b/c_d/e__f/g-h--i:latest");
  EXPECT_EQ(Normal("[::1]:5000/app:1"), "[::1]:5000/app:1");
  // A single component with a port-like tag is a name and a tag, as in docker.
  EXPECT_EQ(Normal("localhost:5000"), "docker.io/library/localhost:5000");
}

TEST(ReferenceTest, Digests) {
  auto ref = ParseReference("busybox@sha256:" + kHex);
  ASSERT_TRUE(ref.ok());
  EXPECT_TRUE(ref->tag.empty());
  EXPECT_EQ(ref->digest.ToString(), "sha256:" + kHex);
  EXPECT_EQ(ref->Object(), "sha256:" + kHex);
  EXPECT_EQ(ref->String(), "docker.io/library/busybox@sha256:" + kHex);
  auto both = ParseReference("host:1/app:v1@sha256:" + kHex);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->tag, "v1");
  EXPECT_EQ(both->Object(), "sha256:" + kHex);  // the digest wins
}

TEST(ReferenceTest, MalformedReferencesAreRefusedClearly) {
  struct Case {
    std::string text, fragment;
  } cases[] = {
      {"", "empty"},
      {"Busybox", "must be lowercase"},
      {"docker.io/Library/busybox", "must be lowercase"},
      {"busybox:", "invalid tag"},
      {"busybox:-bad", "invalid tag"},
      {"busybox:" + std::string(129, 'a'), "invalid tag"},
      {"busybox@sha256:abc", "invalid digest"},
      {"busybox@md5:" + kHex, "invalid digest"},
      {"host:99999/app", "invalid port"},
      {"host:/app", "invalid port"},
      {"-host.com/app", "invalid registry host"},
      {"a//b", "component"},
      {"a/b/", "component"},
      {"app/-x", "component"},
      {"app/x..y", "component"},
      {"app/x___y", "component"},
      {"app name", "component"},
      {"host.com/" + std::string(250, 'a'), "longer than 255"},
  };
  for (const Case& c : cases) {
    auto ref = ParseReference(c.text);
    ASSERT_FALSE(ref.ok()) << c.text;
    EXPECT_EQ(ref.status().code(), Code::kInvalidArgument) << c.text;
    EXPECT_NE(ref.status().message().find(c.fragment), std::string::npos)
        << c.text << " -> " << ref.status().message();
  }
}

TEST(ReferenceTest, FamiliarString) {
  EXPECT_EQ(FamiliarString(ParseReference("busybox").value()), "busybox:latest");
  EXPECT_EQ(FamiliarString(ParseReference("user/app:1").value()), "user/app:1");
  EXPECT_EQ(FamiliarString(ParseReference("h.io/x:1").value()), "h.io/x:1");
}

}  // namespace
}  // namespace berth::client
