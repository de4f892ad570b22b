#include "ipc/request_encoding.h"

#include <cstring>

namespace berth::ipc {

namespace {

constexpr uint8_t kVarint = 0;
constexpr uint8_t kLengthDelimited = 2;

size_t VarintSize(uint64_t value) {
  size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

// Size of a string/bytes field; proto3 leaves empty ones out. Field numbers here are < 16, so
// every tag is one byte.
size_t BytesFieldSize(std::string_view bytes) {
  return bytes.empty() ? 0 : 1 + VarintSize(bytes.size()) + bytes.size();
}

size_t KeyValueSize(std::string_view key, std::string_view value) {
  return BytesFieldSize(key) + BytesFieldSize(value);
}

// Writers into a buffer that was sized beforehand (one resize per request, no per-byte checks).
char* PutVarint(char* p, uint64_t value) {
  while (value >= 0x80) {
    *p++ = static_cast<char>(value | 0x80);
    value >>= 7;
  }
  *p++ = static_cast<char>(value);
  return p;
}

char* PutBytes(char* p, uint32_t field, std::string_view bytes) {
  if (bytes.empty()) return p;
  *p++ = static_cast<char>((field << 3) | kLengthDelimited);
  p = PutVarint(p, bytes.size());
  std::memcpy(p, bytes.data(), bytes.size());
  return p + bytes.size();
}

// metadata (5): KeyValue{key(1), value(2)}.
char* PutKeyValue(char* p, std::string_view key, std::string_view value) {
  *p++ = static_cast<char>((5 << 3) | kLengthDelimited);
  p = PutVarint(p, KeyValueSize(key, value));
  p = PutBytes(p, 1, key);
  return PutBytes(p, 2, value);
}

}  // namespace

void AppendRequest(std::string& out, const RequestFields& fields) {
  auto timeout = static_cast<uint64_t>(fields.timeout_nano);  // negative: ten bytes, as int64
  size_t size = BytesFieldSize(fields.service) + BytesFieldSize(fields.method) +
                BytesFieldSize(fields.payload) + (timeout != 0 ? 1 + VarintSize(timeout) : 0);
  auto add_kv = [&size](std::string_view key, std::string_view value) {
    size_t kv = KeyValueSize(key, value);
    size += 1 + VarintSize(kv) + kv;
  };
  if (!fields.ns.empty()) add_kv(kNamespaceKey, fields.ns);
  if (fields.metadata != nullptr) {
    for (const auto& [key, value] : *fields.metadata) add_kv(key, value);
  }
  size_t start = out.size();
  out.resize(start + size);
  char* p = out.data() + start;
  p = PutBytes(p, 1, fields.service);
  p = PutBytes(p, 2, fields.method);
  p = PutBytes(p, 3, fields.payload);
  if (timeout != 0) {
    *p++ = static_cast<char>((4 << 3) | kVarint);
    p = PutVarint(p, timeout);
  }
  if (!fields.ns.empty()) p = PutKeyValue(p, kNamespaceKey, fields.ns);
  if (fields.metadata != nullptr) {
    for (const auto& [key, value] : *fields.metadata) p = PutKeyValue(p, key, value);
  }
}

// ---- parsing ----

namespace {

constexpr int kMaxGroupDepth = 100;  // protobuf's default recursion limit

// A cursor over protobuf bytes; every read fails (returns false) instead of overrunning.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}
  bool done() const { return p_ == end_; }

  // Up to 10 bytes; bits past 64 are dropped, as protobuf does.
  bool Varint(uint64_t& value) {
    value = 0;
    for (int i = 0; i < 10; ++i) {
      if (p_ == end_) return false;
      auto byte = static_cast<uint8_t>(*p_++);
      value |= uint64_t{byte & 0x7fu} << (7 * i);
      if (byte < 0x80) return true;
    }
    return false;
  }
  // Tags take at most 5 bytes (protobuf's ReadTag); the value is truncated to 32 bits.
  bool Tag(uint32_t& tag) {
    uint64_t value = 0;
    for (int i = 0; i < 5; ++i) {
      if (p_ == end_) return false;
      auto byte = static_cast<uint8_t>(*p_++);
      value |= uint64_t{byte & 0x7fu} << (7 * i);
      if (byte < 0x80) {
        tag = static_cast<uint32_t>(value);
        return true;
      }
    }
    return false;
  }
  // A length prefix (below 2^31, as protobuf's ReadSize) and that many bytes.
  bool Bytes(std::string_view& bytes) {
    uint64_t size = 0;
    for (int i = 0; i < 5; ++i) {
      if (p_ == end_) return false;
      auto byte = static_cast<uint8_t>(*p_++);
      size |= uint64_t{byte & 0x7fu} << (7 * i);
      if (byte < 0x80) break;
      if (i == 4) return false;
    }
    if (size >= (uint64_t{1} << 31) || size > static_cast<uint64_t>(end_ - p_)) return false;
    bytes = std::string_view(p_, size);
    p_ += size;
    return true;
  }
  bool Skip(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    p_ += n;
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

// Skips the value of a field nobody asked for. `tag` was just read.
bool SkipField(Reader& in, uint32_t tag, int depth) {
  if ((tag >> 3) == 0) return false;
  std::string_view ignored;
  uint64_t value;
  switch (tag & 7) {
    case 0:
      return in.Varint(value);
    case 1:
      return in.Skip(8);
    case 2:
      return in.Bytes(ignored);
    case 5:
      return in.Skip(4);
    case 3:  // a group: fields up to the end-group tag with the same number
      if (depth >= kMaxGroupDepth) return false;
      while (true) {
        uint32_t inner;
        if (!in.Tag(inner) || inner == 0) return false;
        if ((inner & 7) == 4) return (inner >> 3) == (tag >> 3);
        if (!SkipField(in, inner, depth + 1)) return false;
      }
    default:  // 4 (an end-group nobody opened), 6, 7
      return false;
  }
}

// Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), which is
// what protobuf requires of proto3 string fields.
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint8_t lo = 0x80, hi = 0xbf;  // bounds of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    auto second = static_cast<uint8_t>(s[i + 1]);
    if (second < lo || second > hi) return false;
    for (size_t k = 2; k <= n; ++k) {
      if ((static_cast<uint8_t>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += n + 1;
  }
  return true;
}

// A string field (wire type 2 already checked).
bool ReadString(Reader& in, std::string_view& out) { return in.Bytes(out) && ValidUtf8(out); }

bool ParseKeyValue(std::string_view bytes, Metadata& metadata) {
  Reader in(bytes);
  std::string_view key, value;
  while (!in.done()) {
    uint32_t tag;
    if (!in.Tag(tag)) return false;
    bool ok = tag == ((1 << 3) | 2)   ? ReadString(in, key)
              : tag == ((2 << 3) | 2) ? ReadString(in, value)
                                      : SkipField(in, tag, 1);  // one level down already
    if (!ok) return false;
  }
  metadata.emplace_back(key, value);
  return true;
}

}  // namespace

bool ParseRequest(std::string_view bytes, ParsedRequest& out) {
  out = ParsedRequest();
  Reader in(bytes);
  while (!in.done()) {
    uint32_t tag;
    if (!in.Tag(tag)) return false;
    bool ok;
    switch (tag) {
      case (1 << 3) | 2:
        ok = ReadString(in, out.service);
        break;
      case (2 << 3) | 2:
        ok = ReadString(in, out.method);
        break;
      case (3 << 3) | 2:
        ok = in.Bytes(out.payload);
        break;
      case (4 << 3) | 0: {
        uint64_t value;
        ok = in.Varint(value);
        out.timeout_nano = static_cast<int64_t>(value);
        break;
      }
      case (5 << 3) | 2: {
        std::string_view kv;
        ok = in.Bytes(kv) && ParseKeyValue(kv, out.metadata);
        break;
      }
      default:
        ok = SkipField(in, tag, 0);
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace berth::ipc
