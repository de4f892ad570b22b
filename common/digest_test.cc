#include "common/digest.h"

#include <gtest/gtest.h>

#include "common/fs.h"
#include "common/temp_dir.h"

namespace berth {
namespace {

constexpr char kEmpty256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbc256[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kAbc512[] =
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

TEST(ParseDigestTest, AcceptsValidDigests) {
  auto d = ParseDigest(std::string("sha256:") + kAbc256);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->algorithm, "sha256");
  EXPECT_EQ(d->hex, kAbc256);
  EXPECT_EQ(d->ToString(), std::string("sha256:") + kAbc256);
  EXPECT_EQ(fmt::format("{}", *d), std::string("sha256:") + kAbc256);

  auto d512 = ParseDigest(std::string("sha512:") + kAbc512);
  ASSERT_TRUE(d512.ok()) << d512.status().ToString();
  EXPECT_EQ(d512->algorithm, "sha512");
}

TEST(ParseDigestTest, RefusesMalformedDigests) {
  const std::string good = kAbc256;
  std::string upper = good;
  upper[0] = 'B';
  const std::string cases[] = {
      "",
      "sha256",
      "sha256:",
      "sha256:../../etc",
      "sha256:../../etc/passwd" + good.substr(23),  // 64 characters, with a path
      "sha256:" + upper,
      "SHA256:" + good,
      "sha256:" + good.substr(1),
      "sha256:" + good + "0",
      "sha256:" + good + "\n",
      " sha256:" + good,
      "sha256:" + good.substr(0, 32) + "/" + good.substr(33),
      "md5:d41d8cd98f00b204e9800998ecf8427e",
      "sha384:" + good,
      "sha512:" + good,
      good,
      "sha256:" + good.substr(0, 63) + "g",
  };
  for (const auto& text : cases) {
    auto d = ParseDigest(text);
    EXPECT_FALSE(d.ok()) << "accepted \"" << text << "\"";
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), Code::kInvalidArgument) << text;
    }
  }
}

TEST(ParseDigestTest, ErrorNamesTheInput) {
  auto d = ParseDigest("sha256:../../etc");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("\"sha256:../../etc\""), std::string::npos)
      << d.status().message();
  auto nul = ParseDigest(std::string("sha256:\0x", 9));
  ASSERT_FALSE(nul.ok());
  EXPECT_NE(nul.status().message().find("\\x00"), std::string::npos) << nul.status().message();
}

TEST(HasherTest, KnownVectors) {
  EXPECT_EQ(DigestBytes("")->hex, kEmpty256);
  EXPECT_EQ(DigestBytes("abc")->hex, kAbc256);
  EXPECT_EQ(DigestBytes("abc", "sha512")->hex, kAbc512);
  EXPECT_EQ(DigestBytes("abc", "sha512")->algorithm, "sha512");
  auto bad = DigestBytes("abc", "md5");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

TEST(HasherTest, IncrementalAndReusable) {
  Hasher hasher;
  hasher.Update("a");
  hasher.Update(std::string_view("b"));
  hasher.Update("c", 1);
  EXPECT_EQ(hasher.size(), 3u);
  Digest d = hasher.Finish();
  EXPECT_EQ(d.ToString(), std::string("sha256:") + kAbc256);
  EXPECT_EQ(hasher.size(), 0u);
  EXPECT_EQ(hasher.Finish().hex, kEmpty256);  // reset after Finish

  auto moved = Hasher::Create("sha512");
  ASSERT_TRUE(moved.ok());
  Hasher h512 = std::move(moved).value();
  h512.Update("abc");
  EXPECT_EQ(h512.Finish().hex, kAbc512);
}

TEST(HasherTest, DigestFile) {
  auto dir = TempDir::Create("digest-test");
  ASSERT_TRUE(dir.ok());
  std::string big(3 << 20, 'x');  // spans several read chunks
  ASSERT_TRUE(WriteFileAtomic(dir->Join("big"), big).ok());
  auto from_file = DigestFile(dir->Join("big"));
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  EXPECT_EQ(*from_file, *DigestBytes(big));

  auto missing = DigestFile(dir->Join("missing"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find(dir->Join("missing")), std::string::npos);
}

TEST(DigestTest, OrderingAndHash) {
  Digest a = *DigestBytes("a"), b = *DigestBytes("b");
  EXPECT_NE(a, b);
  EXPECT_EQ(a, *ParseDigest(a.ToString()));
  EXPECT_EQ(std::hash<Digest>()(a), std::hash<Digest>()(*ParseDigest(a.ToString())));
  EXPECT_TRUE(a < b || b < a);
  EXPECT_TRUE(Digest{}.empty());
  EXPECT_EQ(Digest{}.ToString(), "");
}

}  // namespace
}  // namespace berth
