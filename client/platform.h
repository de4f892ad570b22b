#pragma once
// Platforms (os/arch/variant) and choosing manifests from an index, as containerd does.
//
// Names are normalised to the OCI (Go) spelling: x86_64 -> amd64, aarch64 -> arm64, armhf ->
// arm/v7, armel -> arm/v6, i386 -> 386; arm64's "v8" variant is dropped (it is the only one);
// an arm platform without variant is arm/v7.
//
// Matching a wanted platform: same os and architecture; for arm (and arm64) a wanted variant
// also accepts older variants (v7 runs v6 and v5 images), ranked after the exact one.
//
// Thread-safety: plain values and pure functions.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/oci.h"
#include "common/status.h"

namespace berth::client {

// The platform of this machine (uname), normalised.
Platform HostPlatform();
// "linux/arm64", "linux/arm/v7", "linux" (host architecture). INVALID_ARGUMENT otherwise.
Result<Platform> ParsePlatform(std::string_view text);
Platform Normalize(Platform platform);
// "linux/arm/v7"
std::string FormatPlatform(const Platform& platform);

class PlatformMatcher {
 public:
  explicit PlatformMatcher(Platform wanted) : wanted_(Normalize(std::move(wanted))) {}
  // nullopt when `candidate` does not match; else a rank (0 best).
  std::optional<int> Rank(const Platform& candidate) const;
  bool Match(const Platform& candidate) const { return Rank(candidate).has_value(); }
  const Platform& wanted() const { return wanted_; }

 private:
  Platform wanted_;
};

// The best manifest of `index` for `matcher` (descriptors without a platform never match; ties go
// to the first). NOT_FOUND "no manifest for linux/amd64 in ..." listing what the index offers.
Result<Descriptor> SelectManifest(const Index& index, const PlatformMatcher& matcher);

}  // namespace berth::client
