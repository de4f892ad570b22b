#include "common/temp_dir.h"

#include <stdlib.h>

#include <cerrno>

#include "common/fs.h"

namespace berth {

Result<TempDir> TempDir::Create(std::string_view prefix) {
  const char* tmp = ::getenv("TMPDIR");
  std::string base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  std::string path = fmt::format("{}/{}-XXXXXX", base, prefix);
  if (::mkdtemp(path.data()) == nullptr) return ErrnoStatus(errno, "mkdtemp " + path);
  return TempDir(std::move(path));
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) (void)RemoveAll(path_);
    path_ = std::exchange(other.path_, "");
  }
  return *this;
}

TempDir::~TempDir() {
  if (!path_.empty()) (void)RemoveAll(path_);
}

}  // namespace berth
