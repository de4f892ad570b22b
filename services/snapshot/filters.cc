#include "services/snapshot/filters.h"

#include <cctype>

namespace berth::snapshot {
namespace {

class Scanner {
 public:
  explicit Scanner(const std::string& text) : text_(text) {}

  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ >= text_.size();
  }
  bool Consume(std::string_view token) {
    SkipSpace();
    if (text_.compare(pos_, token.size(), token) != 0) return false;
    pos_ += token.size();
    return true;
  }
  bool Peek(char c) {
    SkipSpace();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  Result<std::string> Quoted() {
    ++pos_;  // opening quote
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      out += text_[pos_++];
    }
    if (pos_ >= text_.size()) return Fail("unterminated quoted string");
    ++pos_;
    return out;
  }
  Result<std::string> Field() {
    SkipSpace();
    if (Peek('"')) return Quoted();
    size_t start = pos_;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '/') break;
      ++pos_;
    }
    if (pos_ == start) return Fail("expected a field name");
    return text_.substr(start, pos_ - start);
  }
  Result<std::string> Value() {
    SkipSpace();
    if (Peek('"')) return Quoted();
    size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',') ++pos_;
    std::string value = text_.substr(start, pos_ - start);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
      value.pop_back();
    }
    return value;
  }
  Status Fail(std::string_view why) const {
    return Error(Code::kInvalidArgument, "invalid filter \"{}\" at offset {}: {}", text_, pos_,
                 why);
  }

 private:
  const std::string& text_;
  size_t pos_ = 0;
};

std::optional<std::string> Lookup(const Info& info, const std::vector<std::string>& path) {
  if (path.size() == 1) {
    if (path[0] == "name") return info.name;
    if (path[0] == "parent") return info.parent;
    if (path[0] == "kind") return std::string(KindName(info.kind));
    return std::nullopt;
  }
  if (path[0] == "labels") {
    std::string key = path[1];
    for (size_t i = 2; i < path.size(); ++i) key += "." + path[i];
    auto it = info.labels.find(key);
    if (it != info.labels.end()) return it->second;
  }
  return std::nullopt;
}

}  // namespace

Result<InfoFilter> InfoFilter::Parse(const std::vector<std::string>& filters) {
  InfoFilter filter;
  for (const std::string& text : filters) {
    BERTH_ASSIGN_OR_RETURN(auto conjunction, ParseFilter(text));
    filter.alternatives_.push_back(std::move(conjunction));
  }
  return filter;
}

Result<InfoFilter::Conjunction> InfoFilter::ParseFilter(const std::string& text) {
  Scanner scanner(text);
  Conjunction conjunction;
  do {
    Selector selector;
    do {
      BERTH_ASSIGN_OR_RETURN(auto field, scanner.Field());
      selector.path.push_back(std::move(field));
    } while (scanner.Consume("."));
    if (scanner.Consume("==")) {
      selector.op = Op::kEqual;
    } else if (scanner.Consume("!=")) {
      selector.op = Op::kNotEqual;
    } else if (scanner.Consume("~=")) {
      selector.op = Op::kMatches;
    }
    if (selector.op != Op::kPresent) {
      BERTH_ASSIGN_OR_RETURN(selector.value, scanner.Value());
    }
    if (selector.op == Op::kMatches) {
      try {
        selector.regex = std::make_shared<const std::regex>(selector.value);
      } catch (const std::regex_error& e) {
        return scanner.Fail(std::string("bad regular expression: ") + e.what());
      }
    }
    conjunction.push_back(std::move(selector));
  } while (scanner.Consume(","));
  if (!scanner.AtEnd()) return scanner.Fail("unexpected characters");
  return conjunction;
}

bool InfoFilter::MatchSelector(const Selector& selector, const Info& info) {
  std::optional<std::string> value = Lookup(info, selector.path);
  switch (selector.op) {
    case Op::kPresent:
      return value.has_value() && !value->empty();
    case Op::kEqual:
      return value.value_or("") == selector.value;
    case Op::kNotEqual:
      return value.value_or("") != selector.value;
    case Op::kMatches:
      return value.has_value() && std::regex_search(*value, *selector.regex);
  }
  return false;
}

bool InfoFilter::Match(const Info& info) const {
  if (alternatives_.empty()) return true;
  for (const Conjunction& conjunction : alternatives_) {
    bool all = true;
    for (const Selector& selector : conjunction) {
      if (!MatchSelector(selector, info)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

}  // namespace berth::snapshot
