#include "services/content/filters.h"

#include <gtest/gtest.h>

#include <map>

namespace berth::content {
namespace {

// A record with fields "name", "size" and labels.<key>.
struct Record {
  std::string name;
  std::string size;
  std::map<std::string, std::string> labels;
};

bool Matches(const std::vector<std::string>& filters, const Record& record) {
  auto filter = Filter::Parse(filters);
  EXPECT_TRUE(filter.ok()) << filter.status().ToString();
  if (!filter.ok()) return false;
  return filter->Match([&](const std::vector<std::string>& path) -> std::optional<std::string> {
    if (path.size() == 1 && path[0] == "name") return record.name;
    if (path.size() == 1 && path[0] == "size") return record.size;
    if (path.size() >= 2 && path[0] == "labels") {
      std::string key = path[1];
      for (size_t i = 2; i < path.size(); ++i) key += "." + path[i];
      auto it = record.labels.find(key);
      if (it != record.labels.end()) return it->second;
    }
    return std::nullopt;
  });
}

TEST(FilterTest, Operators) {
  Record r{"alpine", "42", {{"io.x/root", "yes"}, {"tier", "gold"}}};
  EXPECT_TRUE(Matches({}, r));
  EXPECT_TRUE(Matches({"name==alpine"}, r));
  EXPECT_FALSE(Matches({"name==busybox"}, r));
  EXPECT_TRUE(Matches({"name!=busybox"}, r));
  EXPECT_TRUE(Matches({"name~=^alp"}, r));
  EXPECT_FALSE(Matches({"name~=^pine"}, r));
  EXPECT_TRUE(Matches({"labels.tier"}, r));
  EXPECT_FALSE(Matches({"labels.missing"}, r));
  EXPECT_TRUE(Matches({"labels.missing!=x"}, r));
  EXPECT_TRUE(Matches({"labels.\"io.x/root\"==yes"}, r));
  EXPECT_TRUE(Matches({"labels.io.x/root==yes"}, r));  // unquoted dots join the key
}

TEST(FilterTest, AndWithinOrAcross) {
  Record r{"alpine", "42", {{"tier", "gold"}}};
  EXPECT_TRUE(Matches({"name==alpine,size==42"}, r));
  EXPECT_FALSE(Matches({"name==alpine,size==43"}, r));
  EXPECT_TRUE(Matches({"name==busybox", "size==42"}, r));
  EXPECT_FALSE(Matches({"name==busybox", "size==43"}, r));
  EXPECT_TRUE(Matches({" name == alpine , labels.tier == \"gold\" "}, r));
}

TEST(FilterTest, QuotedValuesKeepCommasAndEscapes) {
  Record r{"a,b \"c\"", "1", {}};
  EXPECT_TRUE(Matches({"name==\"a,b \\\"c\\\"\""}, r));
}

TEST(FilterTest, SyntaxErrorsAreInvalidArgument) {
  for (std::string bad : {"", "==x", "name==a,", "name=x", "labels.\"open", "name~=(", "a..b"}) {
    auto filter = Filter::Parse({bad});
    EXPECT_EQ(filter.status().code(), Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace berth::content
