#include "services/snapshot/differ.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <random>

#include <fmt/format.h>

#include "common/fs.h"
#include "services/snapshot/tree_diff.h"

namespace berth::snapshot {
namespace {

bool IsBind(const Mount& m) {
  return m.type == "bind" || std::count(m.options.begin(), m.options.end(), "bind") ||
         std::count(m.options.begin(), m.options.end(), "rbind");
}

bool IsReadOnly(const Mount& m) { return std::count(m.options.begin(), m.options.end(), "ro"); }

// A scratch mount point, removed (after its mounts are gone) when destroyed.
class ScratchMount {
 public:
  static Result<std::unique_ptr<ScratchMount>> Create(const std::string& scratch,
                                                      const std::vector<Mount>& mounts) {
    BERTH_RETURN_IF_ERROR(MakeDirs(scratch, 0700));
    std::string pattern = scratch + "/mnt-XXXXXX";
    if (!::mkdtemp(pattern.data())) return ErrnoStatus(errno, "mkdtemp " + scratch);
    std::unique_ptr<ScratchMount> result(new ScratchMount(pattern));
    BERTH_ASSIGN_OR_RETURN(MountGuard guard, MountGuard::Create(mounts, pattern));
    result->guard_.emplace(std::move(guard));
    return result;
  }
  ~ScratchMount() {
    if (guard_) (void)guard_->Release();
    guard_.reset();
    ::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  explicit ScratchMount(std::string path) : path_(std::move(path)) {}
  std::string path_;
  std::optional<MountGuard> guard_;
};

// A directory showing the tree of `mounts` read-only: a bind source is used in place; an overlay
// is remounted read-only with its upper dir as the top lower layer (no work dir is touched, so
// this works while the snapshot is mounted elsewhere).
struct TreeView {
  std::string path;
  std::unique_ptr<ScratchMount> mount;
};

Result<TreeView> ViewOf(const std::vector<Mount>& mounts, const std::string& scratch) {
  if (mounts.empty()) return TreeView{};
  if (mounts.size() == 1 && IsBind(mounts[0])) return TreeView{mounts[0].source, nullptr};
  std::vector<Mount> readonly = mounts;
  if (mounts.size() == 1 && mounts[0].type == "overlay") {
    Mount& m = readonly[0];
    std::vector<std::string> lowers = OverlayLowerDirs(m);
    if (auto upper = MountOption(m, "upperdir")) lowers.insert(lowers.begin(), *upper);
    m.options = {"ro"};
    if (lowers.size() == 1) {
      m = Mount{"bind", lowers[0], "", {"ro", "rbind"}};
      return TreeView{lowers[0], nullptr};
    }
    std::string option = "lowerdir=";
    for (size_t i = 0; i < lowers.size(); ++i) option += (i ? ":" : "") + lowers[i];
    m.options.push_back(option);
  } else {
    for (Mount& m : readonly) m.options.push_back("ro");
  }
  BERTH_ASSIGN_OR_RETURN(auto mount, ScratchMount::Create(scratch, readonly));
  std::string path = mount->path();
  return TreeView{path, std::move(mount)};
}

class ReaderAtSource : public ByteSource {
 public:
  explicit ReaderAtSource(content::ReaderAt& reader) : reader_(reader) {}
  Result<size_t> Read(uint8_t* buffer, size_t size) override {
    BERTH_ASSIGN_OR_RETURN(size_t n, reader_.ReadAt(offset_, buffer, size));
    offset_ += n;
    return n;
  }

 private:
  content::ReaderAt& reader_;
  uint64_t offset_ = 0;
};

class ContentSink : public ByteSink {
 public:
  explicit ContentSink(content::Writer& writer) : writer_(writer) {}
  Status Write(std::string_view data) override { return writer_.Write(data); }

 private:
  content::Writer& writer_;
};

std::string UniqueRef() {
  std::random_device random;
  return fmt::format("compare-{:08x}{:08x}", random(), random());
}

}  // namespace

Result<ApplyResult> ApplyToMounts(ByteSource& source, Compression compression,
                                  const std::vector<Mount>& mounts, const std::string& scratch,
                                  const ApplyLimits& limits, bool sync) {
  if (mounts.empty()) return Status(Code::kInvalidArgument, "no mounts to apply the layer to");
  ApplyOptions options;
  options.compression = compression;
  options.limits = limits;
  options.sync = sync;
  if (mounts.size() == 1 && IsBind(mounts[0])) {
    if (IsReadOnly(mounts[0])) {
      return Status(Code::kFailedPrecondition, "cannot apply a layer to read-only mounts");
    }
    return ApplyLayer(mounts[0].source, source, options);
  }
  if (mounts.size() == 1 && mounts[0].type == "overlay") {
    auto upper = MountOption(mounts[0], "upperdir");
    if (!upper) {
      return Status(Code::kFailedPrecondition,
                    "cannot apply a layer to an overlay without upperdir (a read-only view)");
    }
    options.whiteouts = WhiteoutMode::kOverlay;
    options.lower_dirs = OverlayLowerDirs(mounts[0]);
    return ApplyLayer(*upper, source, options);
  }
  BERTH_ASSIGN_OR_RETURN(auto mount, ScratchMount::Create(scratch, mounts));
  return ApplyLayer(mount->path(), source, options);
}

Result<LayerWriterResult> CompareToSink(const std::vector<Mount>& lower,
                                        const std::vector<Mount>& upper, Compression compression,
                                        const std::string& scratch, ByteSink& sink) {
  if (upper.empty()) return Status(Code::kInvalidArgument, "no upper mounts to compare");
  BERTH_ASSIGN_OR_RETURN(TreeView lower_view, ViewOf(lower, scratch));
  BERTH_ASSIGN_OR_RETURN(TreeView upper_view, ViewOf(upper, scratch));
  BERTH_ASSIGN_OR_RETURN(auto writer, LayerWriter::Create(sink, compression));
  BERTH_RETURN_IF_ERROR(WriteTreeDiff(lower_view.path, upper_view.path, *writer).status());
  return writer->Finish();
}

WalkingDiffer::WalkingDiffer(content::Store& store, std::string scratch, ApplyLimits limits)
    : store_(store), scratch_(std::move(scratch)), limits_(limits) {}

Result<ApplyResult> WalkingDiffer::Apply(const Descriptor& layer, const std::vector<Mount>& mounts,
                                         const DiffApplyOptions& options) {
  BERTH_ASSIGN_OR_RETURN(Compression compression, CompressionForMediaType(layer.media_type));
  BERTH_ASSIGN_OR_RETURN(auto reader, store_.OpenReader(layer.digest));
  if (layer.size > 0 && reader->Size() != static_cast<uint64_t>(layer.size)) {
    return Error(Code::kFailedPrecondition, "layer {} is {} bytes, the descriptor says {}",
                 layer.digest, reader->Size(), layer.size);
  }
  std::unique_ptr<ByteSource> source;
  if (reader->fd() >= 0) {
    source = std::make_unique<FdSource>(reader->fd(), layer.digest.ToString());
  } else {
    source = std::make_unique<ReaderAtSource>(*reader);
  }
  return ApplyToMounts(*source, compression, mounts, scratch_, limits_, options.sync);
}

Result<CompareResult> WalkingDiffer::Compare(const std::vector<Mount>& lower,
                                             const std::vector<Mount>& upper,
                                             const CompareOptions& options) {
  BERTH_ASSIGN_OR_RETURN(Compression compression, CompressionForMediaType(options.media_type));
  std::string ref = options.ref.empty() ? UniqueRef() : options.ref;
  auto opened = store_.OpenWriter(content::WriterOptions{ref, 0, {}});
  if (!opened.ok()) return opened.status();
  std::unique_ptr<content::Writer> writer = std::move(*opened);
  ContentSink sink(*writer);
  auto written = CompareToSink(lower, upper, compression, scratch_, sink);
  Status status = written.status();
  if (written.ok()) status = writer->Commit(written->blob_size, written->digest, options.labels);
  writer.reset();  // releases the ref
  if (!status.ok()) {
    (void)store_.Abort(ref);
    return status;
  }
  CompareResult result;
  result.descriptor.media_type = options.media_type;
  result.descriptor.digest = written->digest;
  result.descriptor.size = static_cast<int64_t>(written->blob_size);
  result.descriptor.annotations[kUncompressedAnnotation] = written->diff_id.ToString();
  result.diff_id = written->diff_id;
  return result;
}

}  // namespace berth::snapshot
