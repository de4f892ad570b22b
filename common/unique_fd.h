#pragma once
// UniqueFd owns one file descriptor and closes it when destroyed. CPtr owns a C handle with its
// free function (libarchive, OpenSSL, curl...).

#include <unistd.h>

#include <memory>
#include <utility>

namespace berth {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// CPtr<archive, archive_read_free> a(archive_read_new());
template <typename T, auto FreeFn>
struct CDeleter {
  void operator()(T* p) const {
    if (p) FreeFn(p);
  }
};
template <typename T, auto FreeFn>
using CPtr = std::unique_ptr<T, CDeleter<T, FreeFn>>;

}  // namespace berth
