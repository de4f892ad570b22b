#include "services/content/filters.h"

#include <cctype>

namespace berth::content {

namespace {

bool IsFieldChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '/';
}

// A cursor over one filter string.
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
  char Peek() { return AtEnd() ? '\0' : text_[pos_]; }

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
    if (Peek() == '"') return Quoted();
    size_t start = pos_;
    while (pos_ < text_.size() && IsFieldChar(text_[pos_])) ++pos_;
    if (pos_ == start) return Fail("expected a field name");
    return text_.substr(start, pos_ - start);
  }

  Result<std::string> Value() {
    if (Peek() == '"') return Quoted();
    size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',') ++pos_;
    std::string value = text_.substr(start, pos_ - start);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
      value.pop_back();
    }
    return value;
  }

  Status Fail(std::string_view what) const {
    return Error(Code::kInvalidArgument, "invalid filter \"{}\": {} at position {}", text_, what,
                 pos_);
  }

 private:
  const std::string& text_;
  size_t pos_ = 0;
};

}  // namespace

Result<Filter> Filter::Parse(const std::vector<std::string>& filters) {
  Filter filter;
  for (const auto& text : filters) {
    BERTH_ASSIGN_OR_RETURN(auto conjunction, ParseOne(text));
    filter.alternatives_.push_back(std::move(conjunction));
  }
  return filter;
}

Result<Filter::Conjunction> Filter::ParseOne(const std::string& text) {
  Scanner scanner(text);
  Conjunction conjunction;
  if (scanner.AtEnd()) return scanner.Fail("empty filter");
  while (true) {
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
      scanner.SkipSpace();
      BERTH_ASSIGN_OR_RETURN(selector.value, scanner.Value());
    }
    if (selector.op == Op::kMatches) {
      try {
        selector.regex = std::make_shared<std::regex>(selector.value);
      } catch (const std::regex_error& e) {
        return scanner.Fail(std::string("bad regular expression: ") + e.what());
      }
    }
    conjunction.push_back(std::move(selector));
    if (scanner.AtEnd()) break;
    if (!scanner.Consume(",")) return scanner.Fail("expected ',' or an operator");
  }
  return conjunction;
}

bool Filter::MatchSelector(const Selector& selector, const FieldLookup& lookup) {
  std::optional<std::string> value = lookup(selector.path);
  switch (selector.op) {
    case Op::kPresent:
      return value.has_value() && !value->empty();
    case Op::kEqual:
      return value.has_value() && *value == selector.value;
    case Op::kNotEqual:
      return !value.has_value() || *value != selector.value;
    case Op::kMatches:
      return value.has_value() && std::regex_search(*value, *selector.regex);
  }
  return false;
}

bool Filter::Match(const FieldLookup& lookup) const {
  if (alternatives_.empty()) return true;
  for (const auto& conjunction : alternatives_) {
    bool all = true;
    for (const auto& selector : conjunction) {
      if (!MatchSelector(selector, lookup)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

}  // namespace berth::content
