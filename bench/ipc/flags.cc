#include "bench/ipc/flags.h"

#include <charconv>
#include <cstdlib>

namespace berth::bench {

Result<Flags> Flags::Parse(int argc, char** argv, const std::set<std::string>& known) {
  Flags flags;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!arg.starts_with("--")) return Error(Code::kInvalidArgument, "unexpected argument {}", arg);
    arg.remove_prefix(2);
    std::string name, value;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else {
      name = arg;
      if (i + 1 >= argc) return Error(Code::kInvalidArgument, "flag --{} needs a value", name);
      value = argv[++i];
    }
    if (!known.contains(name)) return Error(Code::kInvalidArgument, "unknown flag --{}", name);
    flags.values_[name] = value;
  }
  return flags;
}

std::string Flags::Get(const std::string& name, std::string fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

Result<int64_t> Flags::GetInt(const std::string& name, int64_t fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const std::string& text = it->second;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Error(Code::kInvalidArgument, "--{}: {} is not a whole number", name, text);
  }
  return value;
}

Result<std::chrono::nanoseconds> Flags::GetDuration(const std::string& name,
                                                    std::chrono::nanoseconds fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  auto duration = ParseDuration(it->second);
  if (!duration.ok())
    return Error(Code::kInvalidArgument, "--{}: {}", name, duration.status().message());
  return duration;
}

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  static const std::pair<std::string_view, double> kUnits[] = {
      {"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}};
  for (auto [suffix, scale] : kUnits) {
    if (!text.ends_with(suffix)) continue;
    std::string number(text.substr(0, text.size() - suffix.size()));
    if (number.empty()) break;
    char* end = nullptr;
    double value = std::strtod(number.c_str(), &end);
    // "5ms" also ends with "s": only accept when the rest is a plain number.
    if (end != number.c_str() + number.size() || value < 0) continue;
    return std::chrono::nanoseconds(static_cast<int64_t>(value * scale));
  }
  return Error(Code::kInvalidArgument, "{} is not a duration like 3s or 500ms", text);
}

}  // namespace berth::bench
