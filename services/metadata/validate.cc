#include "services/metadata/validate.h"

#include "common/digest.h"

namespace berth::metadata {

namespace {
constexpr size_t kMaxIdentifier = 76;
constexpr size_t kMaxLabelSize = 4096;

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
// containerd's rule (pkg/identifiers): runs of letters and digits joined by single separators
// ('.', '_', '-'); so no separator first, last, or next to another.
bool IsIdentifier(std::string_view id) {
  bool after_separator = true;  // the first character must be a letter or digit
  for (char c : id) {
    if (IsAlnum(c)) {
      after_separator = false;
    } else if ((c == '.' || c == '_' || c == '-') && !after_separator) {
      after_separator = true;
    } else {
      return false;
    }
  }
  return !after_separator;
}
}  // namespace

Status ValidateIdentifier(std::string_view kind, std::string_view id) {
  if (id.empty()) return Error(Code::kInvalidArgument, "{} must not be empty", kind);
  if (id.size() > kMaxIdentifier) {
    return Error(Code::kInvalidArgument, "{} \"{}\" is longer than {} characters", kind, id,
                 kMaxIdentifier);
  }
  if (!IsIdentifier(id)) {
    return Error(Code::kInvalidArgument,
                 "{} \"{}\" is invalid: use letters and digits, joined by single '.', '_' or "
                 "'-' (as containerd: [A-Za-z0-9]+([._-][A-Za-z0-9]+)*)",
                 kind, id);
  }
  return Status::Ok();
}

Status ValidateImageName(std::string_view name) {
  if (name.empty()) return Status(Code::kInvalidArgument, "image name must not be empty");
  if (name.size() > 4096) {
    return Status(Code::kInvalidArgument, "image name is longer than 4096 bytes");
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Error(Code::kInvalidArgument, "image name \"{}\" contains a control character", name);
    }
  }
  return Status::Ok();
}

Status ValidateLabels(std::string_view what,
                      const google::protobuf::Map<std::string, std::string>& labels) {
  for (const auto& [key, value] : labels) {
    if (key.empty()) return Error(Code::kInvalidArgument, "{}: label key must not be empty", what);
    if (key.size() + value.size() > kMaxLabelSize) {
      return Error(Code::kInvalidArgument,
                   "{}: label \"{}\": key and value length ({} bytes) greater than maximum size "
                   "({} bytes)",
                   what, key.substr(0, 64), key.size() + value.size(), kMaxLabelSize);
    }
    if (key.find('\0') != std::string::npos) {
      return Error(Code::kInvalidArgument, "{}: label key contains NUL", what);
    }
  }
  return Status::Ok();
}

Status ValidateDigest(std::string_view what, std::string_view digest) {
  auto parsed = ParseDigest(digest);
  if (!parsed.ok()) return parsed.status().Annotate(what);
  return Status::Ok();
}

}  // namespace berth::metadata
