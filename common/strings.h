#pragma once
// Small string helpers shared across areas (ASCII only: protocol tokens, not user text).

#include <cctype>
#include <string>
#include <string_view>

namespace berth {

// `s` with ASCII letters lowered (HTTP header names, URL schemes and hosts, platform names).
inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// `s` without leading and trailing ASCII whitespace.
inline std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace berth
