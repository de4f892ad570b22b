#pragma once
// TempDir: a fresh private directory (mode 0700) removed with everything in it when the owner
// is destroyed. For tests and scratch space; tests running in parallel each get their own.

#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace berth {

class TempDir {
 public:
  // Creates <$TMPDIR or /tmp>/<prefix>-XXXXXX.
  static Result<TempDir> Create(std::string_view prefix = "berth");

  TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, "")) {}
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();  // RemoveAll (errors ignored: it never crosses mounts)

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string Join(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace berth
