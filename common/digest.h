#pragma once
// Content digests ("sha256:<64 hex>", "sha512:<128 hex>") as used by OCI descriptors, and the
// hashing that produces them.
//
// A Digest is only ever built by ParseDigest (strict) or by hashing, so code holding one may use
// its hex as a file name: it never contains '/', '.', uppercase letters or anything but [0-9a-f].

#include <fmt/format.h>
#include <openssl/evp.h>

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth {

inline constexpr std::string_view kSha256 = "sha256";
inline constexpr std::string_view kSha512 = "sha512";

// True for the algorithms Berth hashes with: "sha256" and "sha512".
bool IsKnownDigestAlgorithm(std::string_view algorithm);

struct Digest {
  std::string algorithm{};  // "sha256" or "sha512"
  std::string hex{};        // lowercase, 64 (sha256) or 128 (sha512) characters

  // "sha256:<hex>"; "" for a default-constructed (empty) Digest.
  std::string ToString() const;
  bool empty() const { return hex.empty(); }
  auto operator<=>(const Digest&) const = default;
};

// Parses "<algorithm>:<hex>". Strict: the algorithm must be known, the hex lowercase and exactly
// the algorithm's length, nothing else allowed (no whitespace, no path). Errors are
// INVALID_ARGUMENT and quote the input ("invalid digest \"sha256:../x\": ...").
Result<Digest> ParseDigest(std::string_view text);

// Incremental hashing (OpenSSL EVP). Movable, not copyable, not thread-safe.
class Hasher {
 public:
  // A sha256 hasher.
  Hasher();
  // INVALID_ARGUMENT for an unknown algorithm.
  static Result<Hasher> Create(std::string_view algorithm);

  void Update(std::string_view bytes);
  void Update(const void* data, size_t size);
  // Returns the digest of everything fed since construction (or the last Finish) and resets the
  // hasher to start again.
  Digest Finish();
  // Bytes fed since construction or the last Finish.
  uint64_t size() const { return size_; }
  const std::string& algorithm() const { return algorithm_; }

 private:
  explicit Hasher(std::string_view algorithm);
  void Reset();

  std::string algorithm_;
  CPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx_;
  uint64_t size_ = 0;
};

// Digest of a byte string. INVALID_ARGUMENT for an unknown algorithm.
Result<Digest> DigestBytes(std::string_view bytes, std::string_view algorithm = kSha256);
// Digest of a file's contents (read in chunks; errors name the path).
Result<Digest> DigestFile(const std::string& path, std::string_view algorithm = kSha256);

}  // namespace berth

template <>
struct std::hash<berth::Digest> {
  size_t operator()(const berth::Digest& d) const {
    return std::hash<std::string>()(d.hex) ^ std::hash<std::string>()(d.algorithm);
  }
};

template <>
struct fmt::formatter<berth::Digest> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(const berth::Digest& d, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(d.ToString(), ctx);
  }
};
