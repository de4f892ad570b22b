#include "supervisor/filter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace berth::supervisor {
namespace {

bool IsFieldChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}
bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool IsQuote(char c) { return c == '"' || c == '/' || c == '|'; }
bool IsOperatorChar(char c) { return c == '=' || c == '!' || c == '~'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Parser {
 public:
  explicit Parser(std::string_view input) : in_(input) {}

  Result<std::vector<Selector>> Selectors() {
    std::vector<Selector> out;
    while (true) {
      BERTH_ASSIGN_OR_RETURN(Selector selector, ParseSelector());
      out.push_back(std::move(selector));
      SkipSpace();
      if (AtEnd()) return out;
      if (in_[pos_] != ',') return Fail(fmt::format("unexpected '{}'", in_[pos_]));
      ++pos_;
    }
  }

 private:
  bool AtEnd() const { return pos_ >= in_.size(); }
  void SkipSpace() {
    while (!AtEnd() && IsSpace(in_[pos_])) ++pos_;
  }
  Status Fail(std::string_view what) const {
    return Error(Code::kInvalidArgument, "filter \"{}\" at offset {}: {}", in_, pos_, what);
  }

  Result<Selector> ParseSelector() {
    Selector selector;
    while (true) {
      BERTH_ASSIGN_OR_RETURN(std::string field, ParseField());
      selector.fieldpath.push_back(std::move(field));
      SkipSpace();
      if (AtEnd() || in_[pos_] != '.') break;
      ++pos_;
    }
    if (AtEnd() || in_[pos_] == ',') return selector;
    BERTH_ASSIGN_OR_RETURN(selector.op, ParseOperator());
    SkipSpace();
    if (AtEnd() || in_[pos_] == ',') return Fail("expected a value after the operator");
    BERTH_ASSIGN_OR_RETURN(selector.value, ParseValue());
    return selector;
  }

  Result<std::string> ParseField() {
    SkipSpace();
    if (AtEnd()) return Fail("expected a field name");
    if (IsQuote(in_[pos_])) return ParseQuoted();
    size_t start = pos_;
    while (!AtEnd() && IsFieldChar(in_[pos_])) ++pos_;
    if (pos_ == start) return Fail(fmt::format("expected a field name, found '{}'", in_[pos_]));
    return std::string(in_.substr(start, pos_ - start));
  }

  Result<FilterOp> ParseOperator() {
    size_t start = pos_;
    while (!AtEnd() && IsOperatorChar(in_[pos_])) ++pos_;
    std::string_view op = in_.substr(start, pos_ - start);
    if (op == "==") return FilterOp::kEqual;
    if (op == "!=") return FilterOp::kNotEqual;
    if (op == "~=") return FilterOp::kMatches;
    pos_ = start;
    if (op.empty()) return Fail(fmt::format("unexpected '{}'", in_[pos_]));
    return Fail(fmt::format("unsupported operator \"{}\" (use ==, != or ~=)", op));
  }

  Result<std::string> ParseValue() {
    char c = in_[pos_];
    if (c == '/' || c == '|') {
      // /.../ is a quoted value only when the closing delimiter ends the value.
      size_t end = ClosingQuote(pos_);
      if (end != std::string_view::npos &&
          (end + 1 == in_.size() || in_[end + 1] == ',' || IsSpace(in_[end + 1]))) {
        return ParseQuoted();
      }
    } else if (c == '"') {
      return ParseQuoted();
    }
    size_t start = pos_;
    while (!AtEnd() && in_[pos_] != ',' && !IsSpace(in_[pos_])) ++pos_;
    return std::string(in_.substr(start, pos_ - start));
  }

  // Index of the delimiter closing the quote that starts at `open`, or npos.
  size_t ClosingQuote(size_t open) const {
    char quote = in_[open];
    for (size_t i = open + 1; i < in_.size(); ++i) {
      if (in_[i] == '\\') {
        ++i;
      } else if (in_[i] == quote) {
        return i;
      }
    }
    return std::string_view::npos;
  }

  Result<std::string> ParseQuoted() {
    char quote = in_[pos_++];
    std::string out;
    while (true) {
      if (AtEnd()) return Fail("quoted value not terminated");
      char c = in_[pos_++];
      if (c == quote) return out;
      if (c == '\n') return Fail("quoted value not terminated");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (AtEnd()) return Fail("quoted value not terminated");
      if (quote != '"') {
        // Regex-style quotes: only the delimiter is escaped.
        if (in_[pos_] != quote) out += '\\';
        out += in_[pos_++];
        continue;
      }
      BERTH_RETURN_IF_ERROR(Escape(out));
    }
  }

  Status Escape(std::string& out) {
    char e = in_[pos_++];
    switch (e) {
      case 'a':
        out += '\a';
        return Status::Ok();
      case 'b':
        out += '\b';
        return Status::Ok();
      case 'f':
        out += '\f';
        return Status::Ok();
      case 'n':
        out += '\n';
        return Status::Ok();
      case 'r':
        out += '\r';
        return Status::Ok();
      case 't':
        out += '\t';
        return Status::Ok();
      case 'v':
        out += '\v';
        return Status::Ok();
      case '\\':
        out += '\\';
        return Status::Ok();
      case '"':
        out += '"';
        return Status::Ok();
      case 'x':
        return Digits(out, 16, 2, false);
      case 'u':
        return Digits(out, 16, 4, true);
      case 'U':
        return Digits(out, 16, 8, true);
      default:
        if (e >= '0' && e <= '7') {
          --pos_;
          return Digits(out, 8, 3, false);
        }
        --pos_;
        return Fail(fmt::format("illegal escape sequence \\{}", e));
    }
  }

  Status Digits(std::string& out, int base, int count, bool utf8) {
    uint32_t value = 0;
    for (int i = 0; i < count; ++i) {
      if (AtEnd() || HexValue(in_[pos_]) >= base) return Fail("illegal numeric escape sequence");
      value = value * static_cast<uint32_t>(base) + static_cast<uint32_t>(HexValue(in_[pos_++]));
    }
    if (utf8) {
      if (value > 0x10FFFF || (value >= 0xD800 && value < 0xE000)) {
        return Fail("escape sequence is not a valid Unicode code point");
      }
      AppendUtf8(out, value);
    } else {
      if (value > 0xFF) return Fail("octal escape value > 255");
      out += static_cast<char>(value);
    }
    return Status::Ok();
  }

  std::string_view in_;
  size_t pos_ = 0;
};

bool MatchSelector(const Selector& s, const FieldSource& object,
                   std::vector<std::string_view>& values) {
  values.clear();
  object.Values(s.fieldpath, values);
  switch (s.op) {
    case FilterOp::kPresent:
      return std::any_of(values.begin(), values.end(), [](auto v) { return !v.empty(); });
    case FilterOp::kEqual:
      return std::find(values.begin(), values.end(), s.value) != values.end();
    case FilterOp::kNotEqual:
      return std::find(values.begin(), values.end(), s.value) == values.end();
    case FilterOp::kMatches:
      if (values.empty()) values.push_back({});  // containerd searches the empty string
      return std::any_of(values.begin(), values.end(), [&](std::string_view v) {
        return std::regex_search(v.begin(), v.end(), *s.regex);
      });
  }
  return false;
}

}  // namespace

Result<std::vector<Selector>> ParseSelectors(std::string_view filter) {
  return Parser(filter).Selectors();
}

Result<Filter> Filter::Parse(const std::vector<std::string>& filters,
                             const std::vector<std::string>& known_fields) {
  Filter result;
  for (const std::string& text : filters) {
    if (text.empty()) return Filter();  // an empty filter matches everything
    BERTH_ASSIGN_OR_RETURN(std::vector<Selector> selectors, ParseSelectors(text));
    for (Selector& s : selectors) {
      if (!known_fields.empty() && std::find(known_fields.begin(), known_fields.end(),
                                             s.fieldpath[0]) == known_fields.end()) {
        return Error(Code::kInvalidArgument, "filter \"{}\": unknown field \"{}\" (fields: {})",
                     text, s.fieldpath[0], fmt::join(known_fields, ", "));
      }
      if (s.op != FilterOp::kMatches) continue;
      try {
        s.regex = std::make_shared<const std::regex>(s.value, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return Error(Code::kInvalidArgument, "filter \"{}\": bad regular expression \"{}\": {}",
                     text, s.value, e.what());
      }
    }
    result.alternatives_.push_back(std::move(selectors));
  }
  return result;
}

bool Filter::Match(const FieldSource& object) const {
  if (alternatives_.empty()) return true;
  std::vector<std::string_view> values;
  for (const auto& all : alternatives_) {
    bool ok = std::all_of(all.begin(), all.end(),
                          [&](const Selector& s) { return MatchSelector(s, object, values); });
    if (ok) return true;
  }
  return false;
}

std::string QuoteFilterValue(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace berth::supervisor
