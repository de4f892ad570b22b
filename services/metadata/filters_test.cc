// Filters: containerd's syntax and matching rules.
#include "services/metadata/filters.h"

#include <gtest/gtest.h>

#include <map>

namespace berth::metadata {
namespace {

struct Object {
  std::string name;
  std::map<std::string, std::string> labels;
};

bool Matches(const std::vector<std::string>& filters, const Object& object) {
  auto filter = Filter::ParseAll(filters);
  EXPECT_TRUE(filter.ok()) << filter.status().ToString();
  if (!filter.ok()) return false;
  return filter->Match([&](const FieldPath& path) -> std::optional<std::string_view> {
    if (path.size() == 1 && path[0] == "name") return object.name;
    if (path[0] == "labels") return MapField(object.labels, path, 1);
    return std::nullopt;
  });
}

const Object kBusybox{"docker.io/library/busybox:latest",
                      {{"a.b", "c"}, {"env", "prod"}, {"empty", ""}}};

TEST(FilterTest, NoFilterMatchesEverything) {
  EXPECT_TRUE(Matches({}, kBusybox));
  EXPECT_TRUE(Matches({""}, kBusybox));
}

TEST(FilterTest, EqualityAndInequality) {
  EXPECT_TRUE(Matches({"name==docker.io/library/busybox:latest"}, kBusybox));
  EXPECT_FALSE(Matches({"name==busybox"}, kBusybox));
  EXPECT_TRUE(Matches({"name!=busybox"}, kBusybox));
  EXPECT_FALSE(Matches({"name!=docker.io/library/busybox:latest"}, kBusybox));
}

TEST(FilterTest, QuotedLabelKeysWithDots) {
  EXPECT_TRUE(Matches({R"(labels."a.b"==c)"}, kBusybox));
  EXPECT_FALSE(Matches({R"(labels."a.b"==d)"}, kBusybox));
  // Unquoted, the dotted path is joined back into the key as containerd does.
  EXPECT_TRUE(Matches({"labels.a.b==c"}, kBusybox));
  EXPECT_TRUE(Matches({R"(labels."a.b"=="c")"}, kBusybox));
}

TEST(FilterTest, PresenceOfAField) {
  EXPECT_TRUE(Matches({"labels.env"}, kBusybox));
  EXPECT_TRUE(Matches({"labels.empty"}, kBusybox));
  EXPECT_FALSE(Matches({"labels.missing"}, kBusybox));
}

TEST(FilterTest, RegularExpressionsSearch) {
  EXPECT_TRUE(Matches({"name~=busybox"}, kBusybox));
  EXPECT_TRUE(Matches({"name~=^docker\\.io/"}, kBusybox));
  EXPECT_FALSE(Matches({"name~=^busybox"}, kBusybox));
  EXPECT_TRUE(Matches({R"(name~=/busy.*:latest$/)"}, kBusybox));
}

TEST(FilterTest, CommaIsAndRepeatedFiltersAreOr) {
  EXPECT_TRUE(Matches({"labels.env==prod,name~=busybox"}, kBusybox));
  EXPECT_FALSE(Matches({"labels.env==prod,name~=alpine"}, kBusybox));
  EXPECT_TRUE(Matches({"name~=alpine", "labels.env==prod"}, kBusybox));
  EXPECT_FALSE(Matches({"name~=alpine", "labels.env==dev"}, kBusybox));
}

TEST(FilterTest, AbsentFieldsCompareAsEmpty) {
  EXPECT_TRUE(Matches({"labels.missing!=x"}, kBusybox));
  EXPECT_FALSE(Matches({"labels.missing==x"}, kBusybox));
  EXPECT_FALSE(Matches({"unknown==x"}, kBusybox));
}

TEST(FilterTest, SpacesAroundTokensAreAllowed) {
  EXPECT_TRUE(Matches({" labels.env == prod , name ~= busybox "}, kBusybox));
}

TEST(FilterTest, EscapesInQuotedValues) {
  Object object{"x", {{"q", "say \"hi\"\n"}}};
  EXPECT_TRUE(Matches({R"(labels.q=="say \"hi\"\n")"}, object));
}

TEST(FilterTest, MalformedFiltersAreInvalidArguments) {
  for (const char* bad : {"name=", "name==", "labels.\"unterminated", "name~=/(/", ",name",
                          "name==a,", "name==a b", "name<>a", "labels..x"}) {
    auto filter = Filter::ParseAll({bad});
    EXPECT_FALSE(filter.ok()) << bad;
    if (!filter.ok()) {
      EXPECT_EQ(filter.status().code(), Code::kInvalidArgument) << bad;
      EXPECT_NE(filter.status().message().find("filter"), std::string::npos) << bad;
    }
  }
}

}  // namespace
}  // namespace berth::metadata
