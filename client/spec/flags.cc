// Parsing of the run flags that need more than CLI11: --mount, --env-file, --memory-limit.
#include <charconv>

#include "client/spec/spec.h"
#include "common/fs.h"

namespace berth::spec {

Result<MountFlag> ParseMountFlag(const std::string& text) {
  MountFlag m;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma - start);
    start = comma == std::string::npos ? text.size() : comma + 1;
    size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return Error(Code::kInvalidArgument, "--mount {:?}: {:?} is not KEY=VALUE", text, item);
    }
    std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "type") {
      m.type = value;
    } else if (key == "src" || key == "source") {
      m.source = value;
    } else if (key == "dst" || key == "destination" || key == "target") {
      m.destination = value;
    } else if (key == "options") {
      size_t s = 0;
      while (s <= value.size() && !value.empty()) {
        size_t colon = value.find(':', s);
        if (colon != s) m.options.push_back(value.substr(s, colon - s));
        if (colon == std::string::npos) break;
        s = colon + 1;
      }
    } else {
      return Error(Code::kInvalidArgument,
                   "--mount {:?}: unknown key {:?} (type, src, dst, options)", text, key);
    }
  }
  if (m.destination.empty()) {
    return Error(Code::kInvalidArgument, "--mount {:?}: dst= is required", text);
  }
  return m;
}

Result<std::vector<std::string>> ReadEnvFile(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  if (data.size() > (1 << 20)) {
    return Error(Code::kInvalidArgument, "--env-file {}: larger than 1 MiB", path);
  }
  std::vector<std::string> env;
  size_t start = 0;
  for (int line_no = 1; start < data.size(); ++line_no) {
    size_t nl = data.find('\n', start);
    std::string line = data.substr(start, nl - start);
    start = nl == std::string::npos ? data.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    line.erase(0, first);
    size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error(Code::kInvalidArgument, "--env-file {} line {}: expected KEY=VALUE", path,
                   line_no);
    }
    env.push_back(line);
  }
  return env;
}

Result<int64_t> ParseMemorySize(const std::string& text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  std::string suffix(end, text.data() + text.size());
  int shift = 0;
  if (suffix == "k" || suffix == "K" || suffix == "kb" || suffix == "KiB")
    shift = 10;
  else if (suffix == "m" || suffix == "M" || suffix == "mb" || suffix == "MiB")
    shift = 20;
  else if (suffix == "g" || suffix == "G" || suffix == "gb" || suffix == "GiB")
    shift = 30;
  else if (suffix == "t" || suffix == "T" || suffix == "tb" || suffix == "TiB")
    shift = 40;
  else if (!suffix.empty() && suffix != "b" && suffix != "B")
    ec = std::errc::invalid_argument;
  if (ec != std::errc() || end == text.data() || value <= 0 || value > (INT64_MAX >> shift)) {
    return Error(Code::kInvalidArgument,
                 "memory size {:?}: expected a positive number of bytes with an optional k, m, "
                 "g or t suffix",
                 text);
  }
  return value << shift;
}

}  // namespace berth::spec
