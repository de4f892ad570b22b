// libFuzzer target: arbitrary bytes as a layer into snapshot::ApplyLayer (the whole apply path:
// decompression, libarchive's tar parsing, the fd-relative writer, whiteouts).
//
// Input: byte 0 picks the whiteout mode (bit 0: overlay) and the compression (bits 1-2: sniffed
// from the data, none, gzip, zstd); the rest is the layer. Each input is applied into a fresh
// root next to a canary directory; afterwards the canary must be unchanged (same listing,
// contents, modes, owners, times), nothing may have appeared beside the root, and the root must
// be removable. Any violation aborts. Needs root (mknod, chown, trusted.* xattrs).
//
// Seeds: tests/fuzz/apply_seeds.sh DIR writes a few layers (GNU tar, whiteouts, links, pax
// xattrs, gzip, zstd) to start from:
//   tests/fuzz/apply_seeds.sh /tmp/apply-corpus && build-fuzz/tests/fuzz/apply_fuzz \
//       -max_total_time=60 -rss_limit_mb=512 /tmp/apply-corpus
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/fs.h"
#include "services/snapshot/apply.h"
#include "services/snapshot/fs_util.h"

namespace {

using namespace berth;
using namespace berth::snapshot;

void Check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "apply_fuzz: %s\n", what.c_str());
    std::abort();
  }
}

// The scratch directory, made once. Never destroyed: the atexit cleanup registered while
// making it runs after the destructor of a static object would have.
const std::string& Base() {
  static const std::string* base = [] {
    char pattern[] = "/tmp/b-fuzz-apply-XXXXXX";
    Check(::mkdtemp(pattern) != nullptr, "mkdtemp");
    auto* dir = new std::string(pattern);
    Check(MakeDirs(*dir + "/canary/sub", 0755).ok(), "canary dir");
    Check(WriteFileAtomic(*dir + "/canary/file", "canary\n", 0644).ok(), "canary file");
    std::atexit([] { (void)RemoveAll(Base()); });
    return dir;
  }();
  return *base;
}

// Names, types, sizes, modes, owners and mtimes of everything under `dir` (and `dir` itself).
std::string Describe(const std::string& dir) {
  std::string out;
  auto fd = OpenDirectory(dir, false);
  Check(fd.ok(), "open " + dir);
  struct stat self;
  Check(::fstat(fd->get(), &self) == 0, "stat " + dir);
  out += std::to_string(self.st_mode) + " " + std::to_string(self.st_mtim.tv_nsec) + "\n";
  auto names = ListDir(fd->get());
  Check(names.ok(), "list " + dir);
  for (const std::string& name : *names) {
    auto st = StatAt(fd->get(), name);
    Check(st.ok(), "stat " + name);
    out += name + " " + std::to_string(st->st_mode) + " " + std::to_string(st->st_uid) + " " +
           std::to_string(st->st_size) + " " + std::to_string(st->st_mtim.tv_sec) + "." +
           std::to_string(st->st_mtim.tv_nsec) + " " + std::to_string(st->st_nlink) + "\n";
    if (S_ISDIR(st->st_mode)) out += Describe(dir + "/" + name);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string& base = Base();
  static const std::string canary_before = Describe(base + "/canary");
  std::string root = base + "/root";
  Check(MakeDirs(root, 0755).ok(), "mkdir root");

  ApplyOptions options;
  options.whiteouts = (data[0] & 1) ? WhiteoutMode::kOverlay : WhiteoutMode::kDelete;
  std::string_view layer(reinterpret_cast<const char*>(data + 1), size - 1);
  switch ((data[0] >> 1) & 3) {
    case 0:
      options.compression = DetectCompression(layer);
      break;
    case 1:
      options.compression = Compression::kNone;
      break;
    case 2:
      options.compression = Compression::kGzip;
      break;
    default:
      options.compression = Compression::kZstd;
      break;
  }
  options.limits.max_entries = 4096;
  options.limits.max_bytes = 64 << 20;
  options.limits.max_file_size = 16 << 20;
  options.chunk_size = 4096;  // headers and data straddle chunks; cheap allocations per run
  MemorySource source(layer);
  (void)ApplyLayer(root, source, options);

  Check(Describe(base + "/canary") == canary_before, "the canary outside the root changed");
  auto dir = OpenDirectory(base, false);
  Check(dir.ok(), "open base");
  auto names = ListDir(dir->get());
  Check(names.ok() && names->size() == 2, "something appeared beside the root");
  Status removed = RemoveAll(root);
  Check(removed.ok(), "the root cannot be removed: " + removed.ToString());
  return 0;
}
