// berth-apply-bench LAYER DIR [--overlay] [--sync]: applies one layer file into DIR exactly as
// berth-snapshot's Apply does (FdSource on the blob's fd, pipelined decompression, the
// fd-relative writer) and prints one JSON line: seconds, uncompressed bytes, MB/s, entries,
// diffID, and the peak RSS. Compression is sniffed from the file's first bytes.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "common/unique_fd.h"
#include "services/snapshot/apply.h"

int main(int argc, char** argv) {
  using namespace berth;
  using namespace berth::snapshot;
  if (argc < 3) {
    fmt::print(stderr, "usage: berth-apply-bench LAYER DIR [--overlay] [--sync]\n");
    return 2;
  }
  ApplyOptions options;
  for (int i = 3; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--overlay") options.whiteouts = WhiteoutMode::kOverlay;
    if (flag == "--sync") options.sync = true;
  }
  UniqueFd fd(::open(argv[1], O_RDONLY | O_CLOEXEC));
  if (!fd) {
    fmt::print(stderr, "open {}: {}\n", argv[1], std::strerror(errno));
    return 1;
  }
  char head[8] = {};
  ssize_t n = ::pread(fd.get(), head, sizeof(head), 0);
  options.compression = DetectCompression(std::string_view(head, n > 0 ? n : 0));
  FdSource source(fd.get(), argv[1]);
  auto start = std::chrono::steady_clock::now();
  auto result = ApplyLayer(argv[2], source, options);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!result.ok()) {
    fmt::print(stderr, "apply failed: {}\n", result.status().ToString());
    return 1;
  }
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  fmt::print(
      "{{\"seconds\": {:.3f}, \"bytes\": {}, \"mb_per_s\": {:.1f}, \"entries\": {}, "
      "\"diff_id\": \"{}\", \"compression\": \"{}\", \"max_rss_kb\": {}, \"cpu_user\": {:.2f}, "
      "\"cpu_sys\": {:.2f}}}\n",
      seconds, result->size, result->size / seconds / 1e6, result->entries, result->diff_id,
      CompressionName(options.compression), usage.ru_maxrss,
      usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6,
      usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6);
  return 0;
}
