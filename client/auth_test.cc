#include "client/auth.h"

#include <gtest/gtest.h>

#include "common/fs.h"
#include "common/temp_dir.h"

namespace berth::client {
namespace {

TEST(AuthTest, ParsesChallenges) {
  auto c = ParseChallenges({R"(Bearer realm="https://auth.example/token",service="reg.example",)"
                            R"(scope="repository:a/b:pull,push")"});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].params["realm"], "https://auth.example/token");
  EXPECT_EQ(c[0].params["service"], "reg.example");
  EXPECT_EQ(c[0].params["scope"], "repository:a/b:pull,push");

  auto two = ParseChallenges({R"(Basic realm="Registry Realm", Bearer realm=x, error="a\"b")"});
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].scheme, "basic");
  EXPECT_EQ(two[0].params["realm"], "Registry Realm");
  EXPECT_EQ(two[1].scheme, "bearer");
  EXPECT_EQ(two[1].params["realm"], "x");
  EXPECT_EQ(two[1].params["error"], "a\"b");

  EXPECT_TRUE(ParseChallenges({""}).empty());
  EXPECT_EQ(ParseChallenges({"Basic"}).size(), 1u);
  EXPECT_EQ(ParseChallenges({"Basic abc=="}).at(0).scheme, "basic");  // token68 tolerated
}

TEST(AuthTest, LoadsDockerConfig) {
  auto dir = TempDir::Create("b-auth").value();
  std::string path = dir.Join("config.json");
  // "alice:s3:cret" in base64, a username/password entry, and Docker Hub's legacy key.
  ASSERT_TRUE(WriteFileAtomic(path, R"({"auths": {
      "https://reg.example:5000/v1/": {"auth": "YWxpY2U6czM6Y3JldA=="},
      "other.example": {"username": "bob", "password": "pw"},
      "https://index.docker.io/v1/": {"auth": "aHViOmh1YnB3"}}})")
                  .ok());
  auto store = CredentialStore::Load(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto alice = store->Lookup("reg.example:5000");
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->username, "alice");
  EXPECT_EQ(alice->password, "s3:cret");
  EXPECT_EQ(store->Lookup("other.example")->username, "bob");
  EXPECT_EQ(store->Lookup("registry-1.docker.io")->username, "hub");
  EXPECT_EQ(store->Lookup("docker.io")->password, "hubpw");
  EXPECT_FALSE(store->Lookup("reg.example").has_value());  // another port: another host
  EXPECT_FALSE(store->Lookup("evil.example").has_value());

  EXPECT_TRUE(CredentialStore::Load(dir.Join("missing.json")).ok());
  ASSERT_TRUE(WriteFileAtomic(path, R"({"auths": {"h": {"auth": "!!"}}})").ok());
  EXPECT_EQ(CredentialStore::Load(path).status().code(), Code::kInvalidArgument);
}

TEST(AuthTest, UserFlag) {
  auto c = ParseUserFlag("u:p:q");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->username, "u");
  EXPECT_EQ(c->password, "p:q");
  EXPECT_FALSE(ParseUserFlag("nopassword").ok());
}

TEST(AuthTest, HeadersOnlyForTheRegistryOrigin) {
  Authorizer auth("https://reg.example:5000", Credentials{"u", "p", ""}, nullptr);
  HttpSession session;
  HttpResponse challenge;
  challenge.status = 401;
  challenge.headers.emplace_back("www-authenticate", R"(Basic realm="r")");
  ASSERT_TRUE(auth.HandleUnauthorized(session, challenge, "repository:a:pull").ok());
  auto header = auth.HeaderFor("https://reg.example:5000/v2/a/blobs/x", "repository:a:pull");
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(*header, "Basic " + Base64Encode("u:p"));
  EXPECT_FALSE(auth.HeaderFor("https://reg.example/v2/", "repository:a:pull"));
  EXPECT_FALSE(auth.HeaderFor("http://reg.example:5000/v2/", "repository:a:pull"));
  EXPECT_FALSE(auth.HeaderFor("https://cdn.example/blob", "repository:a:pull"));
  // A request sent without credentials before the scheme was known (a concurrent one) is
  // simply retried with them...
  EXPECT_TRUE(auth.HandleUnauthorized(session, challenge, "repository:a:pull", "").ok());
  // ... but a refusal of the credentials themselves is final, with a clear message.
  Status again = auth.HandleUnauthorized(session, challenge, "repository:a:pull", *header);
  EXPECT_EQ(again.code(), Code::kUnauthenticated);
  EXPECT_NE(again.message().find("wrong username or password"), std::string::npos);
}

TEST(AuthTest, BasicWithoutCredentialsSaysWhatToDo) {
  Authorizer auth("https://reg.example", std::nullopt, nullptr);
  HttpSession session;
  HttpResponse challenge;
  challenge.headers.emplace_back("www-authenticate", R"(Basic realm="r")");
  Status s = auth.HandleUnauthorized(session, challenge, "repository:a:pull");
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  EXPECT_NE(s.message().find("--user"), std::string::npos);
}

TEST(AuthTest, RefusesPlainHttpRealmForHttpsRegistry) {
  Authorizer auth("https://reg.example", Credentials{"u", "p", ""}, nullptr);
  HttpSession session;
  HttpResponse challenge;
  challenge.headers.emplace_back("www-authenticate",
                                 R"(Bearer realm="http://127.0.0.1:1/token",service="s")");
  Status s = auth.HandleUnauthorized(session, challenge, "repository:a:pull");
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  EXPECT_NE(s.message().find("plain-http realm"), std::string::npos);
}

}  // namespace
}  // namespace berth::client
