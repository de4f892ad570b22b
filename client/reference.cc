#include "client/reference.h"

#include <algorithm>

namespace berth::client {
namespace {

constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Prints untrusted input in an error message: printable ASCII only, cut when long.
std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < 200; ++i) {
    char c = text[i];
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (text.size() > 200) out += "...";
  return out + "\"";
}

// component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
bool ValidComponent(std::string_view c) {
  size_t i = 0;
  auto run = [&] {
    size_t start = i;
    while (i < c.size() && IsLowerAlnum(c[i])) ++i;
    return i > start;
  };
  if (!run()) return false;
  while (i < c.size()) {
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return false;
    }
    if (!run()) return false;
  }
  return true;
}

bool ValidDnsLabel(std::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  if (!IsAlnum(label.front()) || !IsAlnum(label.back())) return false;
  return std::all_of(label.begin(), label.end(), [](char c) { return IsAlnum(c) || c == '-'; });
}

bool ValidHost(std::string_view host) {
  if (host.starts_with('[')) {
    if (host.size() < 3 || !host.ends_with(']')) return false;
    std::string_view inner = host.substr(1, host.size() - 2);
    return std::all_of(inner.begin(), inner.end(), [](char c) {
      return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
    });
  }
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    if (!ValidDnsLabel(host.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

Status ValidateDomain(std::string_view domain) {
  std::string_view host = domain;
  size_t bracket = domain.rfind(']');
  size_t colon = domain.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    std::string_view port = domain.substr(colon + 1);
    host = domain.substr(0, colon);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), IsDigit) ||
        std::stoi(std::string(port)) > 65535) {
      return Error(Code::kInvalidArgument, "invalid port in registry {}", Quote(domain));
    }
  }
  if (!ValidHost(host)) {
    return Error(Code::kInvalidArgument, "invalid registry host {}", Quote(domain));
  }
  return Status::Ok();
}

// The first component names a registry when it looks like a host.
bool LooksLikeDomain(std::string_view first) {
  return first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
         std::any_of(first.begin(), first.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

Status ValidateTag(std::string_view tag) {
  bool ok = !tag.empty() && tag.size() <= kMaxTagLength && (IsAlnum(tag[0]) || tag[0] == '_') &&
            std::all_of(tag.begin(), tag.end(),
                        [](char c) { return IsAlnum(c) || c == '_' || c == '.' || c == '-'; });
  if (!ok) {
    return Error(Code::kInvalidArgument,
                 "invalid tag {}: up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'",
                 Quote(tag));
  }
  return Status::Ok();
}

Status ValidateRepositoryPath(std::string_view path) {
  if (path.empty()) return Error(Code::kInvalidArgument, "empty repository name");
  if (std::any_of(path.begin(), path.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return Error(Code::kInvalidArgument, "repository name {} must be lowercase", Quote(path));
  }
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view component = path.substr(start, slash - start);
    if (!ValidComponent(component)) {
      return Error(Code::kInvalidArgument,
                   "invalid repository name {}: component {} must be lowercase letters and "
                   "digits separated by '.', '_', '__' or '-'",
                   Quote(path), Quote(component));
    }
    if (slash == std::string_view::npos) return Status::Ok();
    start = slash + 1;
  }
}

std::string Reference::String() const {
  std::string out = Name();
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest.ToString();
  return out;
}

Result<Reference> ParseReference(std::string_view text) {
  auto fail = [&](const Status& why) {
    return Status(Code::kInvalidArgument,
                  fmt::format("invalid reference {}: {}", Quote(text), why.message()));
  };
  if (text.empty()) return Error(Code::kInvalidArgument, "invalid reference: empty");
  Reference ref;
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    auto digest = ParseDigest(rest.substr(at + 1));
    if (!digest.ok()) return fail(digest.status());
    ref.digest = std::move(digest).value();
    rest = rest.substr(0, at);
  }
  size_t last_slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || colon > last_slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    if (Status s = ValidateTag(ref.tag); !s.ok()) return fail(s);
    rest = rest.substr(0, colon);
  }
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos && LooksLikeDomain(rest.substr(0, slash))) {
    ref.domain = std::string(rest.substr(0, slash));
    if (Status s = ValidateDomain(ref.domain); !s.ok()) return fail(s);
    rest = rest.substr(slash + 1);
  } else {
    ref.domain = std::string(kDockerDomain);
  }
  if (ref.domain == "index.docker.io") ref.domain = std::string(kDockerDomain);
  ref.path = std::string(rest);
  if (ref.domain == kDockerDomain && ref.path.find('/') == std::string::npos) {
    ref.path = "library/" + ref.path;
  }
  if (Status s = ValidateRepositoryPath(ref.path); !s.ok()) return fail(s);
  if (ref.Name().size() > kMaxNameLength) {
    return fail(Error(Code::kInvalidArgument, "name longer than {} characters", kMaxNameLength));
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = std::string(kDefaultTag);
  return ref;
}

std::string FamiliarString(const Reference& ref) {
  if (ref.domain != kDockerDomain) return ref.String();
  std::string out = ref.path.starts_with("library/") && ref.path.find('/', 8) == std::string::npos
                        ? ref.path.substr(8)
                        : ref.path;
  if (!ref.tag.empty()) out += ":" + ref.tag;
  if (!ref.digest.empty()) out += "@" + ref.digest.ToString();
  return out;
}

}  // namespace berth::client
