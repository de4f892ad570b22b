// containerd-style filters: parsing, matching, errors.
#include "supervisor/filter.h"

#include <gtest/gtest.h>

#include <map>

namespace berth::supervisor {
namespace {

// An object with string fields (several values per field allowed).
class Object : public FieldSource {
 public:
  Object(std::multimap<std::string, std::string> fields) : fields_(std::move(fields)) {}
  void Values(const std::vector<std::string>& path,
              std::vector<std::string_view>& out) const override {
    std::string key;
    for (auto& p : path) key += (key.empty() ? "" : ".") + p;
    auto [begin, end] = fields_.equal_range(key);
    for (auto it = begin; it != end; ++it) out.push_back(it->second);
  }

 private:
  std::multimap<std::string, std::string> fields_;
};

bool Matches(const std::vector<std::string>& filters, const Object& object) {
  auto filter = Filter::Parse(filters);
  EXPECT_TRUE(filter.ok()) << filter.status().ToString();
  return filter.ok() && filter->Match(object);
}

const Object kExit({{"topic", "/tasks/exit"}, {"namespace", "default"}});
const Object kImage({{"topic", "/images/create"}, {"namespace", "team-a"}});

TEST(SupervisorFilterTest, EmptyListAndEmptyStringMatchEverything) {
  EXPECT_TRUE(Matches({}, kExit));
  EXPECT_TRUE(Matches({""}, kExit));
  EXPECT_TRUE(Filter().Match(kExit));
}

TEST(SupervisorFilterTest, EqualityWithQuotedAndBareValues) {
  EXPECT_TRUE(Matches({R"(topic=="/tasks/exit")"}, kExit));
  EXPECT_FALSE(Matches({R"(topic=="/tasks/exit")"}, kImage));
  EXPECT_TRUE(Matches({"namespace==default"}, kExit));
  EXPECT_TRUE(Matches({"topic==/tasks/exit"}, kExit));  // bare value starting with '/'
  EXPECT_TRUE(Matches({" topic == \"/tasks/exit\" "}, kExit));
}

TEST(SupervisorFilterTest, CommaIsAndListIsOr) {
  EXPECT_TRUE(Matches({R"(topic=="/tasks/exit",namespace==default)"}, kExit));
  EXPECT_FALSE(Matches({R"(topic=="/tasks/exit",namespace==team-a)"}, kExit));
  EXPECT_TRUE(Matches({"namespace==team-a", "namespace==default"}, kExit));
  EXPECT_TRUE(Matches({"namespace==team-a", "namespace==default"}, kImage));
}

TEST(SupervisorFilterTest, NotEqualPresenceAndRegex) {
  EXPECT_TRUE(Matches({"namespace!=team-a"}, kExit));
  EXPECT_FALSE(Matches({"namespace!=default"}, kExit));
  EXPECT_TRUE(Matches({"missing!=x"}, kExit));  // as containerd: absent is "not equal"
  EXPECT_TRUE(Matches({"topic"}, kExit));
  EXPECT_FALSE(Matches({"missing"}, kExit));
  EXPECT_TRUE(Matches({R"(topic~="^/tasks/")"}, kExit));
  EXPECT_FALSE(Matches({R"(topic~="^/tasks/")"}, kImage));
  EXPECT_TRUE(Matches({"topic~=/ex.t$/"}, kExit));              // /regex/ quoting
  EXPECT_TRUE(Matches({R"(namespace~=/^team-\w$/)"}, kImage));  // backslash kept for the regex
  EXPECT_TRUE(Matches({"topic~=create"}, kImage));              // unanchored search
}

TEST(SupervisorFilterTest, AnyValueOfAMultiValuedField) {
  Object plugin({{"type", "berth.snapshotter.v1"},
                 {"platforms", "linux/amd64"},
                 {"platforms", "linux/arm64"}});
  EXPECT_TRUE(Matches({"platforms==linux/arm64"}, plugin));
  EXPECT_FALSE(Matches({"platforms!=linux/arm64"}, plugin));
  EXPECT_TRUE(Matches({"platforms!=linux/s390x"}, plugin));
}

TEST(SupervisorFilterTest, QuotedFieldsAndDottedPaths) {
  Object labeled(std::multimap<std::string, std::string>{{"labels.a.b", "x"}});
  auto parsed = ParseSelectors(R"(labels."a.b"==x)");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].fieldpath, (std::vector<std::string>{"labels", "a.b"}));
  EXPECT_EQ((*parsed)[0].op, FilterOp::kEqual);
  EXPECT_EQ((*parsed)[0].value, "x");
  EXPECT_TRUE(Matches({"labels.a.b==x"}, labeled));  // the object joins its path with '.'
}

TEST(SupervisorFilterTest, GoEscapesInDoubleQuotes) {
  auto parsed = ParseSelectors(R"(topic=="a\"b\\c\n\x41\u00e9")");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ((*parsed)[0].value, "a\"b\\c\nA\xc3\xa9");
}

TEST(SupervisorFilterTest, QuoteFilterValueRoundTrips) {
  for (std::string value : {"/tasks/exit", "with \"quotes\"", "back\\slash", "a,b c"}) {
    auto parsed = ParseSelectors("topic==" + QuoteFilterValue(value));
    ASSERT_TRUE(parsed.ok()) << value << ": " << parsed.status().ToString();
    EXPECT_EQ((*parsed)[0].value, value);
  }
}

TEST(SupervisorFilterTest, ErrorsSayWhatAndWhere) {
  struct Case {
    std::string filter;
    std::string fragment;
  };
  for (const Case& c : std::vector<Case>{
           {"topic==", "expected a value"},
           {"topic=", "unsupported operator"},
           {"topic===x", "unsupported operator"},
           {"topic=>x", "unsupported operator"},
           {"topic==\"open", "not terminated"},
           {"==x", "expected a field name"},
           {"topic==x,", "expected a field name"},
           {"topic==x y", "unexpected 'y'"},
           {R"(topic=="\q")", "illegal escape"},
           {"topic~=\"(\"", "bad regular expression"},
       }) {
    auto parsed = Filter::Parse({c.filter});
    ASSERT_FALSE(parsed.ok()) << c.filter;
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(c.fragment), std::string::npos)
        << c.filter << " -> " << parsed.status().message();
  }
}

TEST(SupervisorFilterTest, UnknownFieldsAreRefusedWhenFieldsAreKnown) {
  auto parsed = Filter::Parse({"topc==x"}, {"topic", "namespace"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("unknown field \"topc\""), std::string::npos)
      << parsed.status().message();
  EXPECT_TRUE(Filter::Parse({"topic==x"}, {"topic", "namespace"}).ok());
}

}  // namespace
}  // namespace berth::supervisor
