#include "services/metadata/filters.h"

#include <cctype>

namespace berth::metadata {

namespace {

bool IsFieldChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}
bool IsQuote(char c) { return c == '"' || c == '/' || c == '|'; }

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ >= text_.size();
  }
  char Peek() { return AtEnd() ? '\0' : text_[pos_]; }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  Status Fail(std::string_view what) const {
    return Error(Code::kInvalidArgument, "filter \"{}\": {} at position {}", text_, what, pos_);
  }

  Result<std::string> Field() {
    if (IsQuote(Peek())) return Quoted();
    size_t start = pos_;
    while (pos_ < text_.size() && IsFieldChar(text_[pos_])) ++pos_;
    if (start == pos_) return Fail("expected a field name");
    return std::string(text_.substr(start, pos_ - start));
  }

  Result<std::string> Value() {
    if (IsQuote(Peek())) return Quoted();
    size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',' &&
           !std::isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
    if (start == pos_) return Fail("expected a value");
    return std::string(text_.substr(start, pos_ - start));
  }

  Result<std::string> Operator() {
    SkipSpace();
    if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '=') {
      char c = text_[pos_];
      if (c == '=' || c == '!' || c == '~') {
        pos_ += 2;
        return std::string{c, '='};
      }
    }
    return Fail("expected an operator (==, != or ~=)");
  }

 private:
  Result<std::string> Quoted() {
    char quote = text_[pos_++];
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      char c = text_[pos_++];
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      BERTH_RETURN_IF_ERROR(Escape(quote, out));
    }
    if (pos_ >= text_.size()) return Fail("quoted literal not terminated");
    ++pos_;
    return out;
  }

  Status Escape(char quote, std::string& out) {
    char c = text_[pos_++];
    switch (c) {
      case 'a':
        out.push_back('\a');
        return Status::Ok();
      case 'b':
        out.push_back('\b');
        return Status::Ok();
      case 'f':
        out.push_back('\f');
        return Status::Ok();
      case 'n':
        out.push_back('\n');
        return Status::Ok();
      case 'r':
        out.push_back('\r');
        return Status::Ok();
      case 't':
        out.push_back('\t');
        return Status::Ok();
      case 'v':
        out.push_back('\v');
        return Status::Ok();
      case '\\':
        out.push_back('\\');
        return Status::Ok();
      case 'x': {
        if (pos_ + 2 > text_.size()) return Fail("bad \\x escape");
        int value = 0;
        for (int i = 0; i < 2; ++i) {
          char h = text_[pos_++];
          if (!std::isxdigit(static_cast<unsigned char>(h))) return Fail("bad \\x escape");
          value = value * 16 +
                  (std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (h | 0x20) - 'a' + 10);
        }
        out.push_back(static_cast<char>(value));
        return Status::Ok();
      }
      default:
        if (c == quote) {
          out.push_back(c);
          return Status::Ok();
        }
        // Regular expressions keep their own escapes (\d, \.): pass them through.
        if (quote == '/' || quote == '|') {
          out.push_back('\\');
          out.push_back(c);
          return Status::Ok();
        }
        return Fail("unknown escape sequence");
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

Result<std::vector<Filter::Selector>> Filter::ParseOne(std::string_view text) {
  Scanner scanner(text);
  std::vector<Selector> selectors;
  while (true) {
    Selector selector;
    while (true) {
      scanner.SkipSpace();
      BERTH_ASSIGN_OR_RETURN(std::string field, scanner.Field());
      selector.path.push_back(std::move(field));
      if (!scanner.Consume('.')) break;
    }
    char next = scanner.Peek();
    if (next != ',' && next != '\0') {
      BERTH_ASSIGN_OR_RETURN(std::string op, scanner.Operator());
      selector.op = op == "==" ? Op::kEqual : op == "!=" ? Op::kNotEqual : Op::kMatches;
      scanner.SkipSpace();
      BERTH_ASSIGN_OR_RETURN(selector.value, scanner.Value());
      if (selector.op == Op::kMatches) {
        try {
          selector.regex = std::make_shared<std::regex>(selector.value, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
          return scanner.Fail(
              fmt::format("bad regular expression \"{}\" ({})", selector.value, e.what()));
        }
      }
    }
    selectors.push_back(std::move(selector));
    if (scanner.AtEnd()) break;
    if (!scanner.Consume(',')) return scanner.Fail("expected ',' between selectors");
  }
  return selectors;
}

Result<Filter> Filter::ParseAll(const std::vector<std::string>& filters) {
  Filter filter;
  for (const auto& text : filters) {
    if (text.find_first_not_of(" \t\n") == std::string::npos) {
      // An empty filter matches everything: so does the whole set.
      return Filter();
    }
    BERTH_ASSIGN_OR_RETURN(auto selectors, ParseOne(text));
    filter.alternatives_.push_back(std::move(selectors));
  }
  return filter;
}

bool Filter::Match(const FieldGetter& fields) const {
  if (alternatives_.empty()) return true;
  for (const auto& selectors : alternatives_) {
    bool all = true;
    for (const auto& selector : selectors) {
      auto value = fields(selector.path);
      switch (selector.op) {
        case Op::kPresent:
          all = value.has_value();
          break;
        case Op::kEqual:
          all = value.has_value() && *value == selector.value;
          break;
        case Op::kNotEqual:
          all = value.value_or("") != selector.value;
          break;
        case Op::kMatches: {
          std::string_view text = value.value_or("");
          all = std::regex_search(text.begin(), text.end(), *selector.regex);
          break;
        }
      }
      if (!all) break;
    }
    if (all) return true;
  }
  return false;
}

}  // namespace berth::metadata
