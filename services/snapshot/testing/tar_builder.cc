#include "services/snapshot/testing/tar_builder.h"

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace berth::snapshot::testing {
namespace {

void Octal(char* field, size_t width, uint64_t value) {
  std::string digits = fmt::format("{:0{}o}", value, width - 1);
  if (digits.size() > width - 1) {
    // base-256 (GNU): high bit set, big-endian value in the remaining bytes
    std::memset(field, 0, width);
    field[0] = static_cast<char>(0x80);
    for (size_t i = width - 1; i > 0 && value; --i, value >>= 8) {
      field[i] = static_cast<char>(value & 0xff);
    }
    return;
  }
  std::memcpy(field, digits.data(), width - 1);
  field[width - 1] = '\0';
}

std::string Pad(std::string_view data) {
  std::string out(data);
  out.resize((data.size() + 511) / 512 * 512, '\0');
  return out;
}

}  // namespace

std::string TarBuilder::HeaderBlock(const TarHeader& h, uint64_t size) {
  char block[512] = {};
  std::memcpy(block, h.name.data(), std::min<size_t>(h.name.size(), 100));
  Octal(block + 100, 8, h.mode);
  Octal(block + 108, 8, h.uid);
  Octal(block + 116, 8, h.gid);
  Octal(block + 124, 12, h.declared_size.value_or(size));
  Octal(block + 136, 12, static_cast<uint64_t>(h.mtime));
  block[156] = h.type;
  std::memcpy(block + 157, h.link.data(), std::min<size_t>(h.link.size(), 100));
  std::memcpy(block + 257,
              "ustar\0"
              "00",
              8);
  std::memcpy(block + 265, "root", 4);
  std::memcpy(block + 297, "root", 4);
  Octal(block + 329, 8, h.devmajor);
  Octal(block + 337, 8, h.devminor);
  std::memset(block + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : block) sum += c;
  std::string checksum = fmt::format("{:06o}", sum);
  std::memcpy(block + 148, checksum.data(), 6);
  block[154] = '\0';
  block[155] = ' ';
  return std::string(block, 512);
}

std::string TarBuilder::PaxRecords(const std::map<std::string, std::string>& records) {
  std::string out;
  for (const auto& [key, value] : records) {
    size_t body = key.size() + value.size() + 3;  // ' ', '=', '\n'
    size_t length = body + std::to_string(body).size();
    if (std::to_string(length).size() != std::to_string(body).size()) ++length;
    out += fmt::format("{} {}={}\n", length, key, value);
  }
  return out;
}

TarBuilder& TarBuilder::Add(const TarHeader& header, std::string_view data) {
  std::map<std::string, std::string> pax;
  if (header.name.size() > 100) pax["path"] = header.name;
  if (header.link.size() > 100) pax["linkpath"] = header.link;
  if (!pax.empty() && header.type != 'x' && header.type != 'g') Pax(pax);
  data_ += HeaderBlock(header, data.size());
  data_ += Pad(data);
  return *this;
}

TarBuilder& TarBuilder::File(const std::string& name, std::string_view data, uint32_t mode,
                             uint32_t uid, uint32_t gid) {
  return Add(TarHeader{name, '0', mode, uid, gid}, data);
}

TarBuilder& TarBuilder::Dir(const std::string& name, uint32_t mode, uint32_t uid, uint32_t gid) {
  return Add(TarHeader{name, '5', mode, uid, gid});
}

TarBuilder& TarBuilder::Symlink(const std::string& name, const std::string& target) {
  TarHeader h{name, '2', 0777};
  h.link = target;
  return Add(h);
}

TarBuilder& TarBuilder::Hardlink(const std::string& name, const std::string& target) {
  TarHeader h{name, '1', 0644};
  h.link = target;
  return Add(h);
}

TarBuilder& TarBuilder::CharDev(const std::string& name, uint32_t major, uint32_t minor,
                                uint32_t mode) {
  TarHeader h{name, '3', mode};
  h.devmajor = major;
  h.devminor = minor;
  return Add(h);
}

TarBuilder& TarBuilder::Fifo(const std::string& name, uint32_t mode) {
  return Add(TarHeader{name, '6', mode});
}

TarBuilder& TarBuilder::Pax(const std::map<std::string, std::string>& records) {
  return Add(TarHeader{"PaxHeaders/entry", 'x', 0644}, PaxRecords(records));
}

TarBuilder& TarBuilder::Raw(std::string_view bytes) {
  data_ += bytes;
  return *this;
}

std::string TarBuilder::Finish() const { return data_ + std::string(1024, '\0'); }

std::string GzipBytes(std::string_view data) {
  isal_zstream stream;
  isal_deflate_init(&stream);
  std::unique_ptr<uint8_t[]> level(new uint8_t[ISAL_DEF_LVL1_DEFAULT]);
  stream.level = 1;
  stream.level_buf = level.get();
  stream.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
  stream.gzip_flag = IGZIP_GZIP;
  stream.end_of_stream = 1;
  stream.flush = NO_FLUSH;
  stream.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uint32_t>(data.size());
  std::string out;
  std::string buffer(1 << 20, '\0');
  do {
    stream.next_out = reinterpret_cast<uint8_t*>(buffer.data());
    stream.avail_out = static_cast<uint32_t>(buffer.size());
    isal_deflate(&stream);
    out.append(buffer.data(), buffer.size() - stream.avail_out);
  } while (stream.internal_state.state != ZSTATE_END);
  return out;
}

std::string ZstdBytes(std::string_view data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

}  // namespace berth::snapshot::testing
