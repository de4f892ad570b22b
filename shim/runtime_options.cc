#include "shim/runtime_options.h"

#include <cctype>

#include "common/fs.h"
#include "containerd/runc/options/oci.pb.h"
#include "containerd/runtimeoptions/v1/api.pb.h"

namespace berth::shim {
namespace {

std::string_view TypeName(std::string_view url) {
  size_t slash = url.rfind('/');
  return slash == std::string_view::npos ? url : url.substr(slash + 1);
}

std::string_view Strip(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "BinaryName", "binary_name", "binaryname" -> "binaryname"
std::string NormalizeKey(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c != '_' && c != '-') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

Status ParseValue(std::string_view raw, size_t line_no, std::string* text, bool* flag,
                  bool* is_bool) {
  raw = Strip(raw);
  if (raw.size() >= 2 && (raw.front() == '"' || raw.front() == '\'') && raw.back() == raw.front()) {
    *text = std::string(raw.substr(1, raw.size() - 2));
    *is_bool = false;
    return Status::Ok();
  }
  if (raw == "true" || raw == "false") {
    *flag = raw == "true";
    *is_bool = true;
    return Status::Ok();
  }
  return Error(Code::kInvalidArgument,
               "runtime config line {}: value {} is neither a quoted "
               "string nor true/false",
               line_no, raw);
}

}  // namespace

std::string DefaultRuntimeRoot(const std::string& binary, const std::string& ns) {
  size_t slash = binary.rfind('/');
  std::string name = slash == std::string::npos ? binary : binary.substr(slash + 1);
  return "/run/containerd/" + name + "/" + ns;
}

Status ApplyRuntimeConfigText(std::string_view text, RuntimeConfig* config) {
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = Strip(line);
    if (line.empty() || line.front() == '[') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Error(Code::kInvalidArgument, "runtime config line {}: expected key = value", line_no);
    }
    std::string key = NormalizeKey(Strip(line.substr(0, eq)));
    std::string value;
    bool flag = false, is_bool = false;
    BERTH_RETURN_IF_ERROR(ParseValue(line.substr(eq + 1), line_no, &value, &flag, &is_bool));
    if (key == "binaryname" && !is_bool) config->binary = value;
    if (key == "root" && !is_bool) config->root = value;
    if (key == "systemdcgroup" && is_bool) config->systemd_cgroup = flag;
    if (key == "nopivotroot" && is_bool) config->no_pivot_root = flag;
    if (key == "nonewkeyring" && is_bool) config->no_new_keyring = flag;
  }
  return Status::Ok();
}

Status ApplyRuntimeOptions(const google::protobuf::Any& options, RuntimeConfig* config) {
  if (options.type_url().empty()) return Status::Ok();
  std::string_view type = TypeName(options.type_url());
  if (type == "containerd.runc.v1.Options") {
    containerd::runc::v1::Options runc;
    if (!runc.ParseFromString(options.value())) {
      return Error(Code::kInvalidArgument, "malformed containerd.runc.v1.Options");
    }
    if (!runc.binary_name().empty()) config->binary = runc.binary_name();
    if (!runc.root().empty()) config->root = runc.root();
    config->systemd_cgroup = runc.systemd_cgroup();
    config->no_pivot_root = runc.no_pivot_root();
    config->no_new_keyring = runc.no_new_keyring();
    return Status::Ok();
  }
  if (type == "runtimeoptions.v1.Options") {
    runtimeoptions::v1::Options generic;
    if (!generic.ParseFromString(options.value())) {
      return Error(Code::kInvalidArgument, "malformed runtimeoptions.v1.Options");
    }
    if (!generic.config_path().empty()) {
      BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(generic.config_path()));
      return ApplyRuntimeConfigText(text, config).Annotate(generic.config_path());
    }
    return ApplyRuntimeConfigText(generic.config_body(), config);
  }
  return Error(Code::kInvalidArgument, "unsupported runtime options type {}", options.type_url());
}

}  // namespace berth::shim
