#include "common/digest.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace berth {
namespace {

const EVP_MD* MdFor(std::string_view algorithm) {
  if (algorithm == kSha256) return EVP_sha256();
  if (algorithm == kSha512) return EVP_sha512();
  return nullptr;
}

size_t HexLength(std::string_view algorithm) { return algorithm == kSha512 ? 128 : 64; }

// Quotes untrusted input for an error message: printable ASCII kept, the rest escaped, long
// inputs cut.
std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < 200; ++i) {
    unsigned char c = text[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (text.size() > 200) out += "...";
  return out + "\"";
}

}  // namespace

bool IsKnownDigestAlgorithm(std::string_view algorithm) { return MdFor(algorithm) != nullptr; }

std::string Digest::ToString() const {
  if (empty()) return "";
  return algorithm + ":" + hex;
}

Result<Digest> ParseDigest(std::string_view text) {
  auto fail = [&](std::string_view why) {
    return Error(Code::kInvalidArgument, "invalid digest {}: {}", Quote(text), why);
  };
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return fail("expected <algorithm>:<hex>");
  std::string_view algorithm = text.substr(0, colon);
  std::string_view hex = text.substr(colon + 1);
  if (!IsKnownDigestAlgorithm(algorithm)) return fail("unsupported algorithm (sha256, sha512)");
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return fail("hex part must be lowercase hexadecimal [0-9a-f]");
    }
  }
  if (hex.size() != HexLength(algorithm)) {
    return fail(fmt::format("{} needs {} hex characters, got {}", algorithm, HexLength(algorithm),
                            hex.size()));
  }
  return Digest{std::string(algorithm), std::string(hex)};
}

Hasher::Hasher() : Hasher(kSha256) {}

Hasher::Hasher(std::string_view algorithm) : algorithm_(algorithm), ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) std::abort();  // out of memory
  Reset();
}

Result<Hasher> Hasher::Create(std::string_view algorithm) {
  if (!IsKnownDigestAlgorithm(algorithm)) {
    return Error(Code::kInvalidArgument, "unsupported digest algorithm \"{}\" (sha256, sha512)",
                 algorithm);
  }
  return Hasher(algorithm);
}

void Hasher::Reset() {
  if (EVP_DigestInit_ex(ctx_.get(), MdFor(algorithm_), nullptr) != 1) std::abort();
  size_ = 0;
}

void Hasher::Update(const void* data, size_t size) {
  if (size == 0) return;
  if (EVP_DigestUpdate(ctx_.get(), data, size) != 1) std::abort();
  size_ += size;
}

void Hasher::Update(std::string_view bytes) { Update(bytes.data(), bytes.size()); }

Digest Hasher::Finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1) std::abort();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(len * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    hex[2 * i] = kHex[md[i] >> 4];
    hex[2 * i + 1] = kHex[md[i] & 0xf];
  }
  Reset();
  return Digest{algorithm_, std::move(hex)};
}

Result<Digest> DigestBytes(std::string_view bytes, std::string_view algorithm) {
  BERTH_ASSIGN_OR_RETURN(Hasher hasher, Hasher::Create(algorithm));
  hasher.Update(bytes);
  return hasher.Finish();
}

Result<Digest> DigestFile(const std::string& path, std::string_view algorithm) {
  BERTH_ASSIGN_OR_RETURN(Hasher hasher, Hasher::Create(algorithm));
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return ErrnoStatus(errno, "open " + path);
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "read " + path);
    if (n == 0) break;
    hasher.Update(buf.data(), static_cast<size_t>(n));
  }
  return hasher.Finish();
}

}  // namespace berth
