#include "services/runtime/log_files.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <utility>

namespace berth::runtime {
namespace {

// Misses in a row that end the search: a rotation in progress leaves one gap at a time.
constexpr int kMissesToStop = 2;
// One descriptor per file goes in one message; a receiver takes at most 32 (ipc/unix_socket.cc),
// which is why berthd's runtime.log_max_files is at most 31.
constexpr size_t kMaxRotated = 31;

UniqueFd OpenForReading(const std::string& path) {
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
}

}  // namespace

Result<std::vector<UniqueFd>> OpenLogFiles(const std::string& path) {
  // The current file first: a rotation during the search can then only add, never hide, output.
  UniqueFd current = OpenForReading(path);
  if (!current) return ErrnoStatus(errno, "open log " + path);
  std::set<std::pair<dev_t, ino_t>> seen;
  auto first_time = [&seen](int fd) {
    struct stat st;
    return ::fstat(fd, &st) == 0 && seen.insert({st.st_dev, st.st_ino}).second;
  };
  first_time(current.get());
  std::vector<UniqueFd> rotated;  // newest first
  for (int index = 1, misses = 0; misses < kMissesToStop && rotated.size() < kMaxRotated; ++index) {
    UniqueFd fd = OpenForReading(path + "." + std::to_string(index));
    if (!fd) {
      ++misses;
      continue;
    }
    misses = 0;
    if (first_time(fd.get())) rotated.push_back(std::move(fd));
  }
  std::reverse(rotated.begin(), rotated.end());
  rotated.push_back(std::move(current));
  return rotated;
}

}  // namespace berth::runtime
