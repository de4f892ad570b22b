#pragma once
// Helpers for the image end-to-end tests: a whole Berth (berthd spawning berth-content,
// berth-snapshot and berth-metadata on a temp root/state), berthctl runs, file tree comparison
// (for `umoci unpack` vs `berthctl image mount`), and building big images in a registry.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "tests/integration/supervisor_test_util.h"

namespace berth::e2e {

class BerthSystem {
 public:
  // berthd with the content, snapshot and metadata services, all serving.
  static Result<std::unique_ptr<BerthSystem>> Start();

  integration::BerthdHarness& harness() { return harness_; }
  const std::string& root() const { return harness_.root(); }
  // berthctl --state <state> args...: stdout, or the error with berthctl's stderr.
  Result<std::string> Ctl(const std::vector<std::string>& args) { return harness_.Berthctl(args); }
  // berthctl --format json args... parsed.
  Result<nlohmann::json> CtlJson(std::vector<std::string> args);
  std::vector<std::string> CtlArgs(const std::vector<std::string>& args) const;

 private:
  BerthSystem();
  integration::BerthdHarness harness_;
};

// One file system entry, as compared between two unpacked trees.
struct TreeEntry {
  std::string type;   // "file", "dir", "symlink", "other"
  unsigned mode = 0;  // permission bits (07777)
  unsigned uid = 0, gid = 0;
  std::string content;     // sha256 of a file, the target of a symlink
  std::string link_group;  // first path (sorted) of the files sharing this inode, "" if alone
  bool operator==(const TreeEntry&) const = default;
};
// Every entry under `root` by relative path ("." excluded).
Result<std::map<std::string, TreeEntry>> ScanTree(const std::string& root);
// Human-readable differences (empty when equal), at most `limit` lines.
std::string DiffTrees(const std::map<std::string, TreeEntry>& a,
                      const std::map<std::string, TreeEntry>& b, size_t limit = 20);

// umoci's unpacked rootfs of a registry image (skopeo copies it to an OCI layout first) in `dir`.
Result<std::string> UmociRootfs(const std::string& image_ref, const std::string& dir);

// Builds and pushes HOST/REPO:TAG made of `layers` layers, each one gzip'd tar holding one file
// of `layer_bytes` random bytes (data/layer-<i>.bin). Returns the files' sha256s.
Result<std::vector<std::string>> PushRandomImage(const std::string& host, const std::string& repo,
                                                 const std::string& tag, int layers,
                                                 uint64_t layer_bytes, const std::string& dir);

// The sha256 hex of a file.
Result<std::string> Sha256File(const std::string& path);

}  // namespace berth::e2e
