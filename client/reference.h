#pragma once
// Image references, docker-style: "busybox" is docker.io/library/busybox:latest.
//
// Grammar (the distribution project's, which docker and containerd share):
//   reference  := name [ ":" tag ] [ "@" digest ]
//   name       := [ domain "/" ] component ( "/" component )*
//   domain     := host [ ":" port ]    host: DNS labels separated by ".", or "[IPv6]"
//   component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//   tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
// The first component is a domain when it contains "." or ":", is "localhost", or has an
// uppercase letter; otherwise the domain is docker.io and a single-component path gets
// "library/" in front. "index.docker.io" is spelled "docker.io". Without tag and digest the tag
// is "latest". A name is at most 255 characters.
//
// Thread-safety: plain values and pure functions.

#include <string>
#include <string_view>

#include "common/digest.h"
#include "common/status.h"

namespace berth::client {

inline constexpr std::string_view kDockerDomain = "docker.io";
inline constexpr std::string_view kDefaultTag = "latest";

struct Reference {
  std::string domain{};  // "docker.io", "127.0.0.1:5000", "[::1]:5000"
  std::string path{};    // "library/busybox"
  std::string tag{};     // "latest"; empty when only a digest was given
  Digest digest{};       // empty unless "@<digest>" was given

  // "docker.io/library/busybox"
  std::string Name() const { return domain + "/" + path; }
  // The normalised reference: name[:tag][@digest].
  std::string String() const;
  // What to ask the registry for: the digest when there is one, else the tag.
  std::string Object() const { return digest.empty() ? tag : digest.ToString(); }
  bool operator==(const Reference&) const = default;
};

// Parses and normalises. INVALID_ARGUMENT with a message that quotes the input and says what is
// wrong ("invalid reference \"Busybox\": repository name must be lowercase").
Result<Reference> ParseReference(std::string_view text);

// Shortest form a person would type: "busybox:latest" for docker.io/library/busybox:latest,
// "user/app:1" for docker.io/user/app:1, the full String() otherwise.
std::string FamiliarString(const Reference& ref);

// Validation of the parts on their own (for push targets built from pieces).
Status ValidateTag(std::string_view tag);
Status ValidateRepositoryPath(std::string_view path);

}  // namespace berth::client
