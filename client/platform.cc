#include "client/platform.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include "common/strings.h"

namespace berth::client {
namespace {

// Numeric part of an arm variant ("v7" -> 7), 0 when not of that form.
int VariantNumber(std::string_view v) {
  if (v.size() < 2 || v[0] != 'v') return 0;
  int n = 0;
  for (char c : v.substr(1)) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace

Platform Normalize(Platform p) {
  p.os = AsciiLower(p.os);
  if (p.os == "macos") p.os = "darwin";
  std::string arch = AsciiLower(p.architecture);
  std::string variant = AsciiLower(p.variant);
  if (arch == "x86_64" || arch == "x86-64" || arch == "amd64") {
    arch = "amd64";
    if (variant == "v1") variant.clear();
  } else if (arch == "i386" || arch == "i686" || arch == "386") {
    arch = "386";
  } else if (arch == "aarch64" || arch == "arm64") {
    arch = "arm64";
    if (variant == "8" || variant == "v8") variant.clear();
  } else if (arch == "armhf") {
    arch = "arm";
    variant = "v7";
  } else if (arch == "armel") {
    arch = "arm";
    variant = "v6";
  } else if (arch == "arm") {
    if (variant.empty() || variant == "7") variant = "v7";
    if (variant == "5" || variant == "6" || variant == "8") variant = "v" + variant;
  } else if (arch == "ppc64el") {
    arch = "ppc64le";
  }
  p.architecture = arch;
  p.variant = variant;
  return p;
}

Platform HostPlatform() {
  struct utsname u {};
  Platform p;
  p.os = "linux";
  p.architecture = uname(&u) == 0 ? u.machine : "amd64";
  if (p.architecture.starts_with("armv7")) {
    p.architecture = "arm";
    p.variant = "v7";
  } else if (p.architecture.starts_with("armv6")) {
    p.architecture = "arm";
    p.variant = "v6";
  }
  return Normalize(p);
}

Result<Platform> ParsePlatform(std::string_view text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  bool ok =
      parts.size() <= 3 && std::all_of(parts.begin(), parts.end(), [](const std::string& s) {
        return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
        });
      });
  if (!ok) {
    return Error(Code::kInvalidArgument,
                 "invalid platform \"{}\": expected os/arch[/variant], e.g. linux/arm64",
                 std::string(text).substr(0, 100));
  }
  Platform p;
  p.os = parts[0];
  if (parts.size() >= 2) {
    p.architecture = parts[1];
  } else {
    Platform host = HostPlatform();
    p.architecture = host.architecture;
    p.variant = host.variant;
  }
  if (parts.size() == 3) p.variant = parts[2];
  return Normalize(p);
}

std::string FormatPlatform(const Platform& p) {
  std::string out = p.os + "/" + p.architecture;
  if (!p.variant.empty()) out += "/" + p.variant;
  return out;
}

std::optional<int> PlatformMatcher::Rank(const Platform& raw) const {
  Platform c = Normalize(raw);
  if (c.os != wanted_.os || c.architecture != wanted_.architecture) return std::nullopt;
  if (c.variant == wanted_.variant) return 0;
  if (c.architecture == "arm" || c.architecture == "arm64") {
    // Older variants run on newer CPUs; an unspecified wanted variant takes any, best first.
    int want = wanted_.variant.empty() ? 99 : VariantNumber(wanted_.variant);
    int have = VariantNumber(c.variant);
    if (c.variant.empty()) return 50;
    if (have > 0 && have <= want) return 1 + (want == 99 ? 0 : want - have);
    return std::nullopt;
  }
  // amd64 levels and other variants: accept only the exact one or a variant-less candidate.
  if (c.variant.empty()) return 1;
  return std::nullopt;
}

Result<Descriptor> SelectManifest(const Index& index, const PlatformMatcher& matcher) {
  const Descriptor* best = nullptr;
  int best_rank = 0;
  std::string offered;
  for (const Descriptor& d : index.manifests) {
    if (!d.platform) continue;
    if (!offered.empty()) offered += ", ";
    offered += FormatPlatform(*d.platform);
    auto rank = matcher.Rank(*d.platform);
    if (rank && (best == nullptr || *rank < best_rank)) {
      best = &d;
      best_rank = *rank;
    }
  }
  if (best == nullptr) {
    return Error(Code::kNotFound, "no manifest for platform {} in the index (it has: {})",
                 FormatPlatform(matcher.wanted()), offered.empty() ? "none" : offered);
  }
  return *best;
}

}  // namespace berth::client
