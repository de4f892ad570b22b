#pragma once
// TarBuilder: writes tar streams byte by byte, for tests that need exact control over headers:
// hostile names ("../x", "/abs"), links that escape, lying size fields, huge pax headers, and
// entries in any order. Plain ustar headers; names or link targets over 100 bytes get a pax
// header automatically. Also gzip/zstd helpers for building compressed layers.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace berth::snapshot::testing {

struct TarHeader {
  std::string name;
  char type = '0';  // '0' file '1' hardlink '2' symlink '3' char '4' block '5' dir '6' fifo
                    // 'x' pax 'g' global pax 'L' GNU long name
  uint32_t mode = 0644;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime = 1700000000;
  std::string link;
  uint32_t devmajor = 0;
  uint32_t devminor = 0;
  std::optional<uint64_t> declared_size;  // the size field, when it should lie about the data
};

class TarBuilder {
 public:
  // One entry: header, then `data` padded to 512 bytes.
  TarBuilder& Add(const TarHeader& header, std::string_view data = {});
  TarBuilder& File(const std::string& name, std::string_view data, uint32_t mode = 0644,
                   uint32_t uid = 0, uint32_t gid = 0);
  TarBuilder& Dir(const std::string& name, uint32_t mode = 0755, uint32_t uid = 0,
                  uint32_t gid = 0);
  TarBuilder& Symlink(const std::string& name, const std::string& target);
  TarBuilder& Hardlink(const std::string& name, const std::string& target);
  TarBuilder& CharDev(const std::string& name, uint32_t major, uint32_t minor,
                      uint32_t mode = 0600);
  TarBuilder& Fifo(const std::string& name, uint32_t mode = 0644);
  // A pax extended header ('x') whose records apply to the next entry.
  TarBuilder& Pax(const std::map<std::string, std::string>& records);
  // Bytes appended as they are.
  TarBuilder& Raw(std::string_view bytes);

  // The archive with its two end blocks.
  std::string Finish() const;
  // The archive so far, without end blocks.
  const std::string& data() const { return data_; }

  // One 512-byte ustar header block announcing `size` bytes of data.
  static std::string HeaderBlock(const TarHeader& header, uint64_t size);
  // "<len> key=value\n" pax records.
  static std::string PaxRecords(const std::map<std::string, std::string>& records);

 private:
  std::string data_;
};

std::string GzipBytes(std::string_view data);
std::string ZstdBytes(std::string_view data);

}  // namespace berth::snapshot::testing
