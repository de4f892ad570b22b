// The walking differ with real snapshotters and a real content store: Apply from content,
// Compare into content, layer round trips, whiteout/opaque chains, refused layers. Each case runs
// against overlayfs and native, directly and with everything over IPC (content server + proxy
// behind the differ, diff and snapshot servers + proxies in front of it).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "common/fs.h"
#include "common/process.h"
#include "common/temp_dir.h"
#include "ipc/client.h"
#include "ipc/server.h"
#include "services/content/local_store.h"
#include "services/content/proxy.h"
#include "services/content/server.h"
#include "services/snapshot/drivers.h"
#include "services/snapshot/proxy.h"
#include "services/snapshot/testing/mount_ns.h"
#include "services/snapshot/testing/rich_tree.h"
#include "services/snapshot/testing/tar_builder.h"
#include "services/snapshot/testing/test_util.h"
#include "services/snapshot/testing/tree.h"

namespace berth::snapshot {
namespace {

using testing::GzipBytes;
using testing::TarBuilder;
using testing::ZstdBytes;

struct Backend {
  std::string name;
  bool ipc;
};

// A content server on its own loop thread.
class ContentServerThread {
 public:
  ContentServerThread(const std::string& socket, content::Store& store) {
    loop_.StartThread();
    std::promise<Status> listening;
    loop_.Post([&] {
      server_ = std::make_unique<ipc::Server>(loop_);
      content_ = std::make_unique<content::ContentServer>(loop_, store);
      content_->RegisterWith(*server_);
      listening.set_value(server_->Listen(socket));
    });
    status_ = listening.get_future().get();
  }
  ~ContentServerThread() {
    std::promise<void> done;
    loop_.Post([&] {
      server_.reset();
      content_.reset();
      done.set_value();
    });
    done.get_future().wait();
  }
  const Status& status() const { return status_; }

 private:
  ipc::EventLoop loop_;
  std::unique_ptr<ipc::Server> server_;
  std::unique_ptr<content::ContentServer> content_;
  Status status_;
};

// Counts how the differ reads blobs: through the fd (no copies) or ReadAt.
class CountingStore : public content::Store {
 public:
  explicit CountingStore(content::Store& inner) : inner_(inner) {}
  std::atomic<int> fd_readers{0};
  std::atomic<int> copy_readers{0};

  Result<content::Info> GetInfo(const Digest& d) override { return inner_.GetInfo(d); }
  Result<content::Info> Update(const content::Info& i, const std::vector<std::string>& f) override {
    return inner_.Update(i, f);
  }
  Status Walk(const content::WalkFn& fn, const std::vector<std::string>& f) override {
    return inner_.Walk(fn, f);
  }
  Status Delete(const Digest& d) override { return inner_.Delete(d); }
  Result<std::unique_ptr<content::ReaderAt>> OpenReader(const Digest& d) override {
    auto reader = inner_.OpenReader(d);
    if (reader.ok()) ((*reader)->fd() >= 0 ? fd_readers : copy_readers)++;
    return reader;
  }
  Result<std::unique_ptr<content::Writer>> OpenWriter(const content::WriterOptions& o) override {
    return inner_.OpenWriter(o);
  }
  Result<content::IngestStatus> GetStatus(const std::string& ref) override {
    return inner_.GetStatus(ref);
  }
  Result<std::vector<content::IngestStatus>> ListStatuses(
      const std::vector<std::string>& f) override {
    return inner_.ListStatuses(f);
  }
  Status Abort(const std::string& ref) override { return inner_.Abort(ref); }

 private:
  content::Store& inner_;
};

class DifferTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("b-diff");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    tmp_.emplace(std::move(*dir));
    SNAP_ASSIGN_OR_FAIL(local_, content::LocalStore::Open(tmp_->Join("content")));
    SNAP_ASSIGN_OR_FAIL(backend_, OpenSnapshotter(tmp_->Join("snapshot"), GetParam().name));
    content::Store* store = local_.get();
    if (GetParam().ipc) {
      content_server_ = std::make_unique<ContentServerThread>(tmp_->Join("c.sock"), *local_);
      SNAP_ASSERT_OK(content_server_->status());
      content_client_ = std::make_unique<ipc::Client>(tmp_->Join("c.sock"));
      content_proxy_ = std::make_unique<content::Proxy>(*content_client_);
      store = content_proxy_.get();
    }
    counting_ = std::make_unique<CountingStore>(*store);
    differ_ = std::make_unique<WalkingDiffer>(*counting_, tmp_->Join("scratch"));
    if (GetParam().ipc) {
      server_ = std::make_unique<testing::ServerThread>(
          tmp_->Join("s.sock"),
          std::map<std::string, Snapshotter*>{{GetParam().name, backend_.get()}}, differ_.get());
      SNAP_ASSERT_OK(server_->status());
      client_ = std::make_unique<ipc::Client>(tmp_->Join("s.sock"));
      snapshotter_proxy_ = std::make_unique<SnapshotterProxy>(*client_, GetParam().name);
      differ_proxy_ = std::make_unique<DifferProxy>(*client_);
    }
  }

  void TearDown() override {
    differ_proxy_.reset();
    snapshotter_proxy_.reset();
    client_.reset();
    server_.reset();
    differ_.reset();
    content_proxy_.reset();
    content_client_.reset();
    content_server_.reset();
    auto mounts = ReadFile("/proc/self/mountinfo");
    ASSERT_TRUE(mounts.ok());
    EXPECT_EQ(mounts->find(tmp_->path()), std::string::npos) << *mounts;
  }

  Snapshotter& s() {
    return snapshotter_proxy_ ? static_cast<Snapshotter&>(*snapshotter_proxy_) : *backend_;
  }
  Differ& d() { return differ_proxy_ ? static_cast<Differ&>(*differ_proxy_) : *differ_; }

  // Stores `blob` in the content store and describes it.
  Descriptor Store(const std::string& blob, std::string_view media_type = kMediaTypeLayerGzip) {
    auto digest = DigestBytes(blob);
    EXPECT_TRUE(digest.ok());
    Status status = content::WriteBlob(*local_, "test-" + digest->hex, blob, *digest);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return Descriptor{std::string(media_type), *digest, static_cast<int64_t>(blob.size()), {}};
  }

  // Prepare `name`-active on `parent`, apply `layer`, commit as `name`; returns the diffID.
  Digest ApplyLayer(const std::string& name, const std::string& parent, const Descriptor& layer) {
    auto mounts = s().Prepare(name + "-active", parent, {});
    EXPECT_TRUE(mounts.ok()) << mounts.status().ToString();
    auto applied = d().Apply(layer, *mounts, {.sync = true});
    EXPECT_TRUE(applied.ok()) << applied.status().ToString();
    Status committed = s().Commit(name, name + "-active", {});
    EXPECT_TRUE(committed.ok()) << committed.ToString();
    return applied.ok() ? applied->diff_id : Digest();
  }

  std::string Tree(const std::string& parent, testing::TreeOptions options = {}) {
    std::string key = "tree-view-" + std::to_string(next_++);
    auto mounts = s().View(key, parent, {});
    EXPECT_TRUE(mounts.ok()) << mounts.status().ToString();
    if (!mounts.ok()) return "";
    std::string target = tmp_->Join(key);
    EXPECT_TRUE(MakeDirs(target).ok());
    std::string tree;
    {
      auto guard = MountGuard::Create(*mounts, target);
      EXPECT_TRUE(guard.ok()) << guard.status().ToString();
      if (guard.ok()) {
        auto described = testing::DescribeTree(target, options);
        EXPECT_TRUE(described.ok()) << described.status().ToString();
        if (described.ok()) tree = *described;
      }
    }
    SNAP_EXPECT_OK(s().Remove(key));
    return tree;
  }

  std::optional<TempDir> tmp_;
  std::unique_ptr<content::LocalStore> local_;
  std::unique_ptr<FsSnapshotter> backend_;
  std::unique_ptr<ContentServerThread> content_server_;
  std::unique_ptr<ipc::Client> content_client_;
  std::unique_ptr<content::Proxy> content_proxy_;
  std::unique_ptr<CountingStore> counting_;
  std::unique_ptr<WalkingDiffer> differ_;
  std::unique_ptr<testing::ServerThread> server_;
  std::unique_ptr<ipc::Client> client_;
  std::unique_ptr<SnapshotterProxy> snapshotter_proxy_;
  std::unique_ptr<DifferProxy> differ_proxy_;
  int next_ = 0;
};

TEST_P(DifferTest, ApplyReadsTheBlobThroughItsFd) {
  std::string tar = TarBuilder().Dir("etc").File("etc/os-release", "ID=berth\n").Finish();
  Descriptor layer = Store(GzipBytes(tar));
  EXPECT_EQ(ApplyLayer("base", "", layer), *DigestBytes(tar));
  EXPECT_EQ(counting_->fd_readers.load(), 1);
  EXPECT_EQ(counting_->copy_readers.load(), 0);
  EXPECT_EQ(Tree("base", {.mtimes = false}),
            "etc 40000 755 0:0\n"
            "etc/os-release 100000 644 0:0 size=9 " +
                DigestBytes("ID=berth\n")->hex.substr(0, 16) + "\n");
}

TEST_P(DifferTest, AppliesEveryLayerMediaTypeByItsCompression) {
  std::string tar =
      TarBuilder().Dir("d").File("d/f", std::string(200000, 'f')).Symlink("l", "d/f").Finish();
  Digest diff_id = *DigestBytes(tar);
  // Two gzip members: a different blob than the plain gzip one, the same tar inside.
  std::string two_members = GzipBytes(tar.substr(0, 1024)) + GzipBytes(tar.substr(1024));
  const std::pair<std::string, std::string> layers[] = {
      {std::string(kMediaTypeLayerGzip), GzipBytes(tar)},
      {std::string(kMediaTypeDockerLayerGzip), two_members},
      {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", GzipBytes(tar)},
      {std::string(kMediaTypeLayerZstd), ZstdBytes(tar)},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", ZstdBytes(tar)},
      {std::string(kMediaTypeLayer), tar},
      {"application/vnd.docker.image.rootfs.diff.tar", tar},
  };
  std::string want;
  int index = 0;
  for (const auto& [media_type, blob] : layers) {
    SCOPED_TRACE(media_type);
    std::string name = "layer-" + std::to_string(index++);
    EXPECT_EQ(ApplyLayer(name, "", Store(blob, media_type)), diff_id);
    std::string tree = Tree(name, {.mtimes = true});
    if (want.empty()) want = tree;
    EXPECT_EQ(tree, want);
  }
  EXPECT_NE(want.find("d/f 100000 644 0:0 size=200000"), std::string::npos) << want;
  EXPECT_NE(want.find("l 120000 777 0:0 -> d/f"), std::string::npos) << want;
  // Every blob was read through the content store's fd, none copied through ReadAt.
  EXPECT_EQ(counting_->fd_readers.load(), index);
  EXPECT_EQ(counting_->copy_readers.load(), 0);
  // The media type decides: a gzip blob announced as zstd is refused, not sniffed.
  SNAP_ASSIGN_OR_FAIL(auto mounts, s().Prepare("mislabelled", "", {}));
  auto wrong = d().Apply(Store(GzipBytes(tar), kMediaTypeLayerZstd), mounts, {});
  EXPECT_EQ(wrong.status().code(), Code::kInvalidArgument) << wrong.status().ToString();
  EXPECT_NE(wrong.status().message().find("zstd"), std::string::npos) << wrong.status().ToString();
  SNAP_ASSERT_OK(s().Remove("mislabelled"));
}

TEST_P(DifferTest, WhiteoutsAndOpaqueDirsShowExactlyTheExpectedFilesInAChain) {
  ApplyLayer("l1", "",
             Store(GzipBytes(TarBuilder()
                                 .Dir("a")
                                 .File("a/x", "x")
                                 .File("a/y", "y")
                                 .Dir("a/sub")
                                 .File("a/sub/deep", "d")
                                 .Dir("b")
                                 .File("b/z", "z")
                                 .File("top", "t")
                                 .Finish())));
  ApplyLayer("l2", "l1",
             Store(GzipBytes(TarBuilder()
                                 .Dir("a")
                                 .File("a/.wh..wh..opq", "")
                                 .File("a/new", "n")
                                 .File(".wh.b", "")
                                 .File(".wh.top", "")
                                 .Finish())));
  ApplyLayer(
      "l3", "l2",
      Store(GzipBytes(TarBuilder().Dir("b").File("b/w", "w").File("top", "again").Finish())));
  auto paths = [&](const std::string& parent) {
    std::string tree = Tree(parent, {.mtimes = false});
    std::vector<std::string> out;
    for (size_t pos = 0; pos < tree.size();) {
      size_t end = tree.find('\n', pos);
      out.push_back(tree.substr(pos, tree.find(' ', pos) - pos));
      pos = end + 1;
    }
    return out;
  };
  EXPECT_EQ(paths("l2"), (std::vector<std::string>{"a", "a/new"}));
  EXPECT_EQ(paths("l3"), (std::vector<std::string>{"a", "a/new", "b", "b/w", "top"}));
  EXPECT_EQ(paths("l1"), (std::vector<std::string>{"a", "a/sub", "a/sub/deep", "a/x", "a/y", "b",
                                                   "b/z", "top"}));
}

TEST_P(DifferTest, CompareThenApplyReproducesTheTree) {
  std::string src = tmp_->Join("src");
  SNAP_ASSERT_OK(MakeDirs(src));
  SNAP_ASSERT_OK(testing::MakeRichTree(src));
  SNAP_ASSIGN_OR_FAIL(std::string tar,
                      RunCapture({"tar", "--format=posix", "--xattrs", "--xattrs-include=*", "-cpf",
                                  "-", "-C", src, "."}));
  ApplyLayer("base", "", Store(GzipBytes(tar)));
  // Change the tree through a mount: add, modify, delete, replace, chmod, relink.
  SNAP_ASSIGN_OR_FAIL(auto mounts, s().Prepare("work", "base", {}));
  std::string target = tmp_->Join("work");
  SNAP_ASSERT_OK(MakeDirs(target));
  {
    SNAP_ASSIGN_OR_FAIL(MountGuard guard, MountGuard::Create(mounts, target));
    SNAP_ASSERT_OK(WriteFileAtomic(target + "/etc/hosts", "changed\n"));
    SNAP_ASSERT_OK(WriteFileAtomic(target + "/added", "new file\n", 0600));
    ASSERT_EQ(::unlink((target + "/bin/suid").c_str()), 0);
    SNAP_ASSERT_OK(RemoveAll(target + "/home"));
    SNAP_ASSERT_OK(WriteFileAtomic(target + "/home", "a file where a dir was\n"));
    ASSERT_EQ(::chmod((target + "/tmp").c_str(), 0700), 0);
    // A new hardlinked pair (linking to a lower file would copy it up and split its existing
    // links on overlayfs, which no layer format can express).
    ASSERT_EQ(::link((target + "/added").c_str(), (target + "/bin/added-link").c_str()), 0);
    ASSERT_EQ(::setxattr((target + "/xattrs").c_str(), "user.color", "red", 3, 0), 0);
    ASSERT_EQ(::unlink((target + "/dev/null").c_str()), 0);
    ASSERT_EQ(::symlink("/elsewhere", (target + "/dev/null").c_str()), 0);
    SNAP_ASSERT_OK(MakeDirs(target + "/ro/newdir", 0711));
    SNAP_ASSERT_OK(guard.Release());
  }
  SNAP_ASSERT_OK(s().Commit("changed", "work", {}));
  SNAP_ASSIGN_OR_FAIL(auto lower, s().View("lower", "base", {}));
  SNAP_ASSIGN_OR_FAIL(auto upper, s().View("upper", "changed", {}));
  SNAP_ASSIGN_OR_FAIL(CompareResult diff, d().Compare(lower, upper, {}));
  EXPECT_EQ(diff.descriptor.media_type, kMediaTypeLayerGzip);
  EXPECT_EQ(diff.descriptor.annotations.at(kUncompressedAnnotation), diff.diff_id.ToString());
  SNAP_ASSIGN_OR_FAIL(content::Info info, local_->GetInfo(diff.descriptor.digest));
  EXPECT_EQ(static_cast<int64_t>(info.size), diff.descriptor.size);
  // The blob is gzip, its tar hashes to the diffID and names deletions in OCI whiteout form.
  SNAP_ASSIGN_OR_FAIL(std::string blob, content::ReadBlob(*local_, diff.descriptor.digest));
  ASSERT_EQ(blob.substr(0, 2), "\x1f\x8b");
  std::string blob_path = tmp_->Join("compared.tar.gz");
  SNAP_ASSERT_OK(WriteFileAtomic(blob_path, blob));
  SNAP_ASSIGN_OR_FAIL(std::string tar_of_diff, RunCapture({"gzip", "-dc", blob_path}));
  EXPECT_EQ(*DigestBytes(tar_of_diff), diff.diff_id);
  SNAP_ASSIGN_OR_FAIL(std::string listing, RunCapture({"tar", "-tzf", blob_path}));
  for (const char* entry : {"bin/.wh.suid\n", "dev/null\n", "added\n", "etc/hosts\n", "home\n",
                            "bin/added-link\n", "ro/newdir/\n"}) {
    EXPECT_NE(listing.find(entry), std::string::npos) << entry << " not in\n" << listing;
  }
  EXPECT_EQ(listing.find("empty\n"), std::string::npos) << "unchanged files are not in the layer";
  SNAP_ASSERT_OK(s().Remove("lower"));
  SNAP_ASSERT_OK(s().Remove("upper"));
  EXPECT_EQ(ApplyLayer("replayed", "base", diff.descriptor), diff.diff_id);
  testing::TreeOptions all{.mtimes = true, .dir_mtimes = true, .root = false};
  std::string want = Tree("changed", all);
  EXPECT_NE(want.find("link=added"), std::string::npos) << want;
  EXPECT_EQ(Tree("replayed", all), want);
}

TEST_P(DifferTest, ZstdCompareIsAZstdFrameOfTheTarAndAppliesToTheSameTree) {
  std::string src = tmp_->Join("zsrc");
  SNAP_ASSERT_OK(MakeDirs(src));
  SNAP_ASSERT_OK(testing::MakeRichTree(src));
  SNAP_ASSIGN_OR_FAIL(std::string tar,
                      RunCapture({"tar", "--format=posix", "--xattrs", "--xattrs-include=*", "-cpf",
                                  "-", "-C", src, "."}));
  ApplyLayer("zbase", "", Store(GzipBytes(tar)));
  SNAP_ASSIGN_OR_FAIL(auto mounts, s().Prepare("zwork", "zbase", {}));
  std::string target = tmp_->Join("zwork");
  SNAP_ASSERT_OK(MakeDirs(target));
  {
    SNAP_ASSIGN_OR_FAIL(MountGuard guard, MountGuard::Create(mounts, target));
    // 3 MiB of compressible text: more than one output block of the writer.
    std::string big;
    for (int i = 0; big.size() < (3u << 20); ++i) big += "line " + std::to_string(i) + "\n";
    SNAP_ASSERT_OK(WriteFileAtomic(target + "/big.txt", big));
    SNAP_ASSERT_OK(WriteFileAtomic(target + "/etc/hosts", "changed\n"));
    ASSERT_EQ(::unlink((target + "/bin/suid").c_str()), 0);
    SNAP_ASSERT_OK(guard.Release());
  }
  SNAP_ASSERT_OK(s().Commit("zchanged", "zwork", {}));
  SNAP_ASSIGN_OR_FAIL(auto lower, s().View("zlower", "zbase", {}));
  SNAP_ASSIGN_OR_FAIL(auto upper, s().View("zupper", "zchanged", {}));
  CompareOptions options;
  options.media_type = std::string(kMediaTypeLayerZstd);
  SNAP_ASSIGN_OR_FAIL(CompareResult diff, d().Compare(lower, upper, options));
  EXPECT_EQ(diff.descriptor.media_type, kMediaTypeLayerZstd);
  EXPECT_EQ(diff.descriptor.annotations.at(kUncompressedAnnotation), diff.diff_id.ToString());
  SNAP_ASSIGN_OR_FAIL(std::string blob, content::ReadBlob(*local_, diff.descriptor.digest));
  EXPECT_EQ(static_cast<int64_t>(blob.size()), diff.descriptor.size);
  EXPECT_EQ(*DigestBytes(blob), diff.descriptor.digest);
  ASSERT_EQ(blob.substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4));
  EXPECT_LT(blob.size(), 1u << 20) << "the 3 MiB of text compress";
  // The zstd tool reads it (checksum verified) and its tar is the diffID.
  std::string blob_path = tmp_->Join("compared.tar.zst");
  SNAP_ASSERT_OK(WriteFileAtomic(blob_path, blob));
  SNAP_ASSIGN_OR_FAIL(std::string tar_of_diff, RunCapture({"zstd", "-q", "-dc", blob_path}));
  EXPECT_EQ(*DigestBytes(tar_of_diff), diff.diff_id);
  SNAP_ASSIGN_OR_FAIL(std::string listing, RunCapture({"tar", "--zstd", "-tf", blob_path}));
  for (const char* entry : {"bin/.wh.suid\n", "big.txt\n", "etc/hosts\n"}) {
    EXPECT_NE(listing.find(entry), std::string::npos) << entry << " not in\n" << listing;
  }
  SNAP_ASSERT_OK(s().Remove("zlower"));
  SNAP_ASSERT_OK(s().Remove("zupper"));
  EXPECT_EQ(ApplyLayer("zreplayed", "zbase", diff.descriptor), diff.diff_id);
  testing::TreeOptions all{.mtimes = true, .dir_mtimes = true, .root = false};
  EXPECT_EQ(Tree("zreplayed", all), Tree("zchanged", all));
}

TEST_P(DifferTest, UncompressedCompareHasDigestEqualToDiffId) {
  ApplyLayer("base", "", Store(GzipBytes(TarBuilder().File("a", "1").Finish())));
  SNAP_ASSIGN_OR_FAIL(auto lower, s().View("lower", "base", {}));
  SNAP_ASSIGN_OR_FAIL(auto upper, s().Prepare("up", "base", {}));
  CompareOptions options;
  options.media_type = std::string(kMediaTypeLayer);
  SNAP_ASSIGN_OR_FAIL(CompareResult diff, d().Compare(lower, upper, options));
  EXPECT_EQ(diff.descriptor.digest, diff.diff_id);
  SNAP_ASSIGN_OR_FAIL(std::string blob, content::ReadBlob(*local_, diff.descriptor.digest));
  EXPECT_EQ(blob, std::string(1024, '\0'));  // no changes: an empty tar
}

TEST_P(DifferTest, RefusedLayerLeavesTheSnapshotRemovable) {
  std::string canary = tmp_->Join("canary");
  SNAP_ASSERT_OK(WriteFileAtomic(canary, "canary", 0644));
  Descriptor hostile = Store(GzipBytes(TarBuilder()
                                           .Dir("d")
                                           .File("d/ok", "fine")
                                           .Symlink("d/esc", canary)
                                           .Hardlink("d/h", "../../" + canary)
                                           .Finish()));
  SNAP_ASSIGN_OR_FAIL(auto mounts, s().Prepare("victim", "", {}));
  auto applied = d().Apply(hostile, mounts, {});
  EXPECT_EQ(applied.status().code(), Code::kInvalidArgument);
  EXPECT_NE(applied.status().message().find("d/h"), std::string::npos)
      << applied.status().ToString();
  SNAP_ASSERT_OK(s().Remove("victim"));
  SNAP_ASSIGN_OR_FAIL(std::string data, ReadFile(canary));
  EXPECT_EQ(data, "canary");
}

TEST_P(DifferTest, ApplyErrors) {
  std::string blob = GzipBytes(TarBuilder().File("a", "1").Finish());
  Descriptor layer = Store(blob);
  SNAP_ASSIGN_OR_FAIL(auto active, s().Prepare("a", "", {}));
  Descriptor wrong_type = layer;
  wrong_type.media_type = "application/vnd.oci.image.config.v1+json";
  EXPECT_EQ(d().Apply(wrong_type, active, {}).status().code(), Code::kInvalidArgument);
  Descriptor missing = layer;
  missing.digest = *DigestBytes("not stored");
  EXPECT_EQ(d().Apply(missing, active, {}).status().code(), Code::kNotFound);
  Descriptor wrong_size = layer;
  wrong_size.size += 1;
  EXPECT_EQ(d().Apply(wrong_size, active, {}).status().code(), Code::kFailedPrecondition);
  ApplyLayer("base", "", layer);
  SNAP_ASSIGN_OR_FAIL(auto view, s().View("v", "base", {}));
  EXPECT_EQ(d().Apply(layer, view, {}).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(d().Apply(layer, {}, {}).status().code(), Code::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, DifferTest,
                         ::testing::Values(Backend{"overlayfs", false}, Backend{"native", false},
                                           Backend{"overlayfs", true}, Backend{"native", true}),
                         [](const auto& info) {
                           return info.param.name + (info.param.ipc ? "OverIpc" : "Direct");
                         });

}  // namespace
}  // namespace berth::snapshot
