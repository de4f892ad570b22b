#include "common/config.h"

#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <optional>
#include <set>

#include "common/fs.h"
#include "common/logging.h"

namespace berth {
namespace {

// Reads typed values out of TOML tables, with errors that point at the file, line and key.
class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  Status Fail(const toml::source_region& where, std::string_view what) const {
    if (where.begin.line == 0) {
      return Error(Code::kInvalidArgument, "config {}: {}", source_, what);
    }
    return Error(Code::kInvalidArgument, "config {}:{}:{}: {}", source_, where.begin.line,
                 where.begin.column, what);
  }

  // Every key of `table` must be in `known`.
  Status CheckKeys(const toml::table& table, std::string_view prefix,
                   std::initializer_list<std::string_view> known) const {
    for (auto&& [key, node] : table) {
      if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
      return Fail(key.source(), fmt::format("unknown key \"{}{}\"", prefix, key.str()));
    }
    return Status::Ok();
  }

  Status String(const toml::table& t, std::string_view prefix, std::string_view key,
                std::string& out) const {
    return Get<std::string>(t, prefix, key, "a string", out);
  }
  Status Bool(const toml::table& t, std::string_view prefix, std::string_view key,
              bool& out) const {
    return Get<bool>(t, prefix, key, "true or false", out);
  }
  Status Int(const toml::table& t, std::string_view prefix, std::string_view key, int64_t min,
             int64_t& out) const {
    BERTH_RETURN_IF_ERROR(Get<int64_t>(t, prefix, key, "an integer", out));
    if (out >= min) return Status::Ok();
    return Fail(t.get(key)->source(),
                fmt::format("\"{}{}\" must be at least {}", prefix, key, min));
  }
  // A sub-table, or nullptr if absent.
  Result<const toml::table*> Table(const toml::table& t, std::string_view prefix,
                                   std::string_view key) const {
    const toml::node* node = t.get(key);
    if (node == nullptr) return static_cast<const toml::table*>(nullptr);
    if (!node->is_table()) {
      return Fail(node->source(), fmt::format("\"{}{}\" must be a table", prefix, key));
    }
    return node->as_table();
  }

 private:
  template <typename T>
  Status Get(const toml::table& t, std::string_view prefix, std::string_view key,
             std::string_view kind, T& out) const {
    const toml::node* node = t.get(key);
    if (node == nullptr) return Status::Ok();
    std::optional<T> value = node->value_exact<T>();
    if (!value) return Fail(node->source(), fmt::format("\"{}{}\" must be {}", prefix, key, kind));
    out = std::move(*value);
    return Status::Ok();
  }

  std::string source_;
};

bool ValidServiceName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

Status ReadServices(const Reader& r, const toml::table& t, Config::Services& out) {
  BERTH_RETURN_IF_ERROR(r.CheckKeys(t, "services.", {"spawn", "names", "binaries"}));
  BERTH_RETURN_IF_ERROR(r.Bool(t, "services.", "spawn", out.spawn));
  if (const toml::node* names = t.get("names")) {
    const toml::array* array = names->as_array();
    if (array == nullptr) {
      return r.Fail(names->source(), "\"services.names\" must be an array of strings");
    }
    out.list.clear();
    std::set<std::string> seen;
    for (const toml::node& item : *array) {
      std::optional<std::string> name = item.value_exact<std::string>();
      if (!name || !ValidServiceName(*name) || !seen.insert(*name).second) {
        return r.Fail(item.source(),
                      "\"services.names\" entries must be distinct names of [a-z0-9-]");
      }
      out.list.push_back({*name, ""});
    }
  }
  BERTH_ASSIGN_OR_RETURN(const toml::table* binaries, r.Table(t, "services.", "binaries"));
  if (binaries == nullptr) return Status::Ok();
  for (auto&& [key, node] : *binaries) {
    auto it = std::find_if(out.list.begin(), out.list.end(),
                           [name = key.str()](const Config::Service& s) { return s.name == name; });
    if (it == out.list.end()) {
      return r.Fail(key.source(), fmt::format("unknown key \"services.binaries.{}\": not in "
                                              "services.names",
                                              key.str()));
    }
    std::optional<std::string> path = node.value_exact<std::string>();
    if (!path || path->empty() || path->front() != '/') {
      return r.Fail(node.source(), fmt::format("\"services.binaries.{}\" must be an absolute "
                                               "path",
                                               key.str()));
    }
    it->binary = *path;
  }
  return Status::Ok();
}

// "10m" style sizes: digits, then nothing (bytes) or k, m, g (KiB, MiB, GiB; any case).
std::optional<int64_t> ParseByteSize(std::string_view text) {
  int64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || number < 0 || end == text.data()) return std::nullopt;
  std::string_view suffix(end, static_cast<size_t>(text.data() + text.size() - end));
  int shift = 0;
  if (suffix == "k" || suffix == "K") shift = 10;
  if (suffix == "m" || suffix == "M") shift = 20;
  if (suffix == "g" || suffix == "G") shift = 30;
  if (shift == 0 && !suffix.empty()) return std::nullopt;
  if (number > (INT64_MAX >> shift)) return std::nullopt;
  return number << shift;
}

Status ReadRuntime(const Reader& r, const toml::table& t, Config::Runtime& out) {
  BERTH_RETURN_IF_ERROR(r.CheckKeys(t, "runtime.", {"log_max_size", "log_max_files"}));
  if (const toml::node* size = t.get("log_max_size")) {
    std::optional<int64_t> bytes;
    if (auto number = size->value_exact<int64_t>()) bytes = *number >= 0 ? number : std::nullopt;
    if (auto text = size->value_exact<std::string>()) bytes = ParseByteSize(*text);
    if (!bytes) {
      return r.Fail(size->source(),
                    "\"runtime.log_max_size\" must be a size such as \"10m\" (bytes, or with "
                    "k, m, g), or 0 for no rotation");
    }
    out.log_max_size = *bytes;
  }
  BERTH_RETURN_IF_ERROR(r.Int(t, "runtime.", "log_max_files", 1, out.log_max_files));
  if (out.log_max_files > 31) {  // berthctl logs receives one descriptor per file, 32 at most
    return r.Fail(t.get("log_max_files")->source(), "\"runtime.log_max_files\" is at most 31");
  }
  return Status::Ok();
}

Status Validate(const Reader& r, const Config& c) {
  toml::source_region nowhere{};
  if (c.root.empty() || c.root.front() != '/') return r.Fail(nowhere, "root must be absolute");
  if (c.state.empty() || c.state.front() != '/') return r.Fail(nowhere, "state must be absolute");
  if (auto level = ParseLogLevel(c.log_level); !level.ok()) {
    return r.Fail(nowhere, level.status().message());
  }
  if (c.restart_backoff_max_ms < c.restart_backoff_initial_ms) {
    return r.Fail(nowhere, "restart_backoff_max_ms must be >= restart_backoff_initial_ms");
  }
  return Status::Ok();
}

}  // namespace

Result<Config> ParseConfig(std::string_view text, std::string_view source) {
  Reader r(source);
  toml::table doc;
  try {
    doc = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return r.Fail(e.source(), e.description());
  }
  Config c;
  BERTH_RETURN_IF_ERROR(
      r.CheckKeys(doc, "",
                  {"root", "state", "log_level", "services", "restart_backoff_initial_ms",
                   "restart_backoff_max_ms", "events", "content", "runtime", "metrics"}));
  BERTH_RETURN_IF_ERROR(r.String(doc, "", "root", c.root));
  BERTH_RETURN_IF_ERROR(r.String(doc, "", "state", c.state));
  BERTH_RETURN_IF_ERROR(r.String(doc, "", "log_level", c.log_level));
  BERTH_RETURN_IF_ERROR(
      r.Int(doc, "", "restart_backoff_initial_ms", 1, c.restart_backoff_initial_ms));
  BERTH_RETURN_IF_ERROR(r.Int(doc, "", "restart_backoff_max_ms", 1, c.restart_backoff_max_ms));
  BERTH_ASSIGN_OR_RETURN(const toml::table* services, r.Table(doc, "", "services"));
  if (services) BERTH_RETURN_IF_ERROR(ReadServices(r, *services, c.services));
  BERTH_ASSIGN_OR_RETURN(const toml::table* events, r.Table(doc, "", "events"));
  if (events) {
    BERTH_RETURN_IF_ERROR(r.CheckKeys(*events, "events.", {"max_log_entries"}));
    BERTH_RETURN_IF_ERROR(
        r.Int(*events, "events.", "max_log_entries", 1, c.events.max_log_entries));
  }
  BERTH_ASSIGN_OR_RETURN(const toml::table* content, r.Table(doc, "", "content"));
  if (content) {
    BERTH_RETURN_IF_ERROR(r.CheckKeys(*content, "content.", {"ingest_expiry_hours"}));
    BERTH_RETURN_IF_ERROR(
        r.Int(*content, "content.", "ingest_expiry_hours", 1, c.content.ingest_expiry_hours));
  }
  BERTH_ASSIGN_OR_RETURN(const toml::table* runtime, r.Table(doc, "", "runtime"));
  if (runtime) BERTH_RETURN_IF_ERROR(ReadRuntime(r, *runtime, c.runtime));
  BERTH_ASSIGN_OR_RETURN(const toml::table* metrics, r.Table(doc, "", "metrics"));
  if (metrics) {
    BERTH_RETURN_IF_ERROR(r.CheckKeys(*metrics, "metrics.", {"address"}));
    BERTH_RETURN_IF_ERROR(r.String(*metrics, "metrics.", "address", c.metrics.address));
  }
  BERTH_RETURN_IF_ERROR(Validate(r, c));
  return c;
}

Result<Config> LoadConfigFile(const std::string& path, bool missing_ok) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) {
    if (missing_ok && text.status().code() == Code::kNotFound) return Config{};
    return text.status().Annotate("config");
  }
  return ParseConfig(*text, path);
}

Result<Config> LoadConfig(const std::string& path) {
  if (path.empty()) return LoadConfigFile(std::string(kDefaultConfigPath), true);
  return LoadConfigFile(path, false);
}

std::string ServiceBinaryPath(const Config::Service& service, const std::string& self_dir) {
  if (!service.binary.empty()) return service.binary;
  return self_dir + "/berth-" + service.name;
}

Result<std::string> SelfExeDir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n < 0) return ErrnoStatus(errno, "readlink /proc/self/exe");
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(0, path.find_last_of('/'));
}

}  // namespace berth
