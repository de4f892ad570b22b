#include "tests/e2e/image_e2e_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "client/media_types.h"
#include "client/oci.h"
#include "client/platform.h"
#include "client/registry.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/process.h"

namespace berth::e2e {

using namespace std::chrono_literals;

BerthSystem::BerthSystem()
    : harness_(integration::BerthdOptions{
          .services = {{"content", integration::BuildPath("services/content/berth-content")},
                       {"snapshot", integration::BuildPath("services/snapshot/berth-snapshot")},
                       {"metadata", integration::BuildPath("services/metadata/berth-metadata")}}}) {
}

Result<std::unique_ptr<BerthSystem>> BerthSystem::Start() {
  std::unique_ptr<BerthSystem> s(new BerthSystem());
  BERTH_RETURN_IF_ERROR(s->harness_.Start(30s));
  for (const char* name : {"content", "snapshot", "metadata"}) {
    BERTH_RETURN_IF_ERROR(s->harness_.WaitRunning(name, 30s).status().Annotate(name));
  }
  // Running is not yet serving: wait until berthd's health reports every service serving.
  BERTH_RETURN_IF_ERROR(s->harness_.WaitServing(30s));
  for (int i = 0; i < 300; ++i) {
    if (s->Ctl({"image", "check"}).ok()) return s;
    std::this_thread::sleep_for(100ms);
  }
  return s->Ctl({"image", "check"}).status().Annotate("services not serving");
}

std::vector<std::string> BerthSystem::CtlArgs(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{integration::BuildPath("cli/berthctl"), "--state",
                                harness_.state()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

Result<nlohmann::json> BerthSystem::CtlJson(std::vector<std::string> args) {
  args.insert(args.begin(), {"--format", "json"});
  BERTH_ASSIGN_OR_RETURN(std::string out, Ctl(args));
  auto json = nlohmann::json::parse(out, nullptr, false);
  if (json.is_discarded()) return Error(Code::kInternal, "berthctl printed no JSON: {}", out);
  return json;
}

Result<std::string> Sha256File(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(Digest d, DigestFile(path));
  return d.hex;
}

namespace {

Status Scan(const std::string& root, const std::string& rel, std::map<std::string, TreeEntry>& out,
            std::map<ino_t, std::string>& inodes, std::map<std::string, ino_t>& file_inodes) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(errno, "opendir " + dir);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) {
    std::string r = rel.empty() ? n : rel + "/" + n;
    std::string path = root + "/" + r;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "lstat " + path);
    TreeEntry e;
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    if (S_ISREG(st.st_mode)) {
      e.type = "file";
      BERTH_ASSIGN_OR_RETURN(e.content, Sha256File(path));
      if (st.st_nlink > 1) {
        file_inodes[r] = st.st_ino;
        inodes.emplace(st.st_ino, r);  // keeps the first (sorted) path
      }
    } else if (S_ISDIR(st.st_mode)) {
      e.type = "dir";
    } else if (S_ISLNK(st.st_mode)) {
      e.type = "symlink";
      char buf[4096];
      ssize_t len = ::readlink(path.c_str(), buf, sizeof buf);
      if (len < 0) return ErrnoStatus(errno, "readlink " + path);
      e.content.assign(buf, len);
    } else {
      e.type = "other";
    }
    out[r] = e;
    if (S_ISDIR(st.st_mode)) BERTH_RETURN_IF_ERROR(Scan(root, r, out, inodes, file_inodes));
  }
  return Status::Ok();
}

}  // namespace

Result<std::map<std::string, TreeEntry>> ScanTree(const std::string& root) {
  std::map<std::string, TreeEntry> out;
  std::map<ino_t, std::string> inodes;
  std::map<std::string, ino_t> file_inodes;
  BERTH_RETURN_IF_ERROR(Scan(root, "", out, inodes, file_inodes));
  // Only links inside the tree count: a group of one is no group.
  std::map<ino_t, int> counts;
  for (auto& [path, ino] : file_inodes) ++counts[ino];
  for (auto& [path, ino] : file_inodes) {
    if (counts[ino] > 1) out[path].link_group = inodes[ino];
  }
  return out;
}

std::string DiffTrees(const std::map<std::string, TreeEntry>& a,
                      const std::map<std::string, TreeEntry>& b, size_t limit) {
  std::vector<std::string> lines;
  auto describe = [](const TreeEntry& e) {
    return fmt::format("{} {:o} {}:{} {} {}", e.type, e.mode, e.uid, e.gid, e.content.substr(0, 16),
                       e.link_group);
  };
  for (auto& [path, e] : a) {
    auto it = b.find(path);
    if (it == b.end()) {
      lines.push_back("only in first: " + path);
    } else if (!(it->second == e)) {
      lines.push_back(fmt::format("{}: {} vs {}", path, describe(e), describe(it->second)));
    }
  }
  for (auto& [path, e] : b) {
    if (!a.count(path)) lines.push_back("only in second: " + path);
  }
  if (lines.size() > limit) lines.resize(limit);
  return fmt::format("{}", fmt::join(lines, "\n"));
}

Result<std::string> UmociRootfs(const std::string& image_ref, const std::string& dir) {
  // skopeo's oci: transport creates the layout directory, but not its parents.
  BERTH_RETURN_IF_ERROR(MakeDirs(dir));
  std::string layout = dir + "/layout";
  BERTH_RETURN_IF_ERROR(
      RunCapture({"skopeo", "copy", "--quiet", "--insecure-policy", "--src-tls-verify=false",
                  "docker://" + image_ref, "oci:" + layout + ":img"},
                 {}, std::chrono::minutes(3))
          .status());
  BERTH_RETURN_IF_ERROR(RunCapture({"umoci", "unpack", "--image", layout + ":img", dir + "/bundle"},
                                   {}, std::chrono::minutes(3))
                            .status());
  return dir + "/bundle/rootfs";
}

Result<std::vector<std::string>> PushRandomImage(const std::string& host, const std::string& repo,
                                                 const std::string& tag, int layers,
                                                 uint64_t layer_bytes, const std::string& dir) {
  using namespace client;
  BERTH_ASSIGN_OR_RETURN(Reference ref, ParseReference(host + "/" + repo + ":" + tag));
  RegistryOptions ro;
  ro.hosts.plain_http = true;
  BERTH_ASSIGN_OR_RETURN(auto registry, Registry::Create(ref, ro));
  std::vector<std::string> sums;
  Manifest m;
  m.media_type = std::string(media::kOciManifest);
  nlohmann::json diff_ids = nlohmann::json::array();
  for (int i = 0; i < layers; ++i) {
    std::string l = fmt::format("{}/l{}", dir, i);
    std::string script = fmt::format(
        "set -e; mkdir -p {0}/data; head -c {1} /dev/urandom > {0}/data/layer-{2}.bin; "
        "tar -C {0} --sort=name --owner=0 --group=0 --numeric-owner -cf {0}.tar data; "
        "gzip -1 -c {0}.tar > {0}.tar.gz",
        l, layer_bytes, i);
    BERTH_RETURN_IF_ERROR(RunCapture({"bash", "-c", script}, {}, std::chrono::minutes(5)).status());
    BERTH_ASSIGN_OR_RETURN(std::string sum, Sha256File(fmt::format("{}/data/layer-{}.bin", l, i)));
    sums.push_back(sum);
    BERTH_ASSIGN_OR_RETURN(Digest diff, DigestFile(l + ".tar"));
    diff_ids.push_back(diff.ToString());
    BERTH_ASSIGN_OR_RETURN(Digest blob, DigestFile(l + ".tar.gz"));
    struct stat st {};
    ::stat((l + ".tar.gz").c_str(), &st);
    Descriptor d{
        .media_type = std::string(media::kOciLayerGzip), .digest = blob, .size = st.st_size};
    UniqueFd fd(::open((l + ".tar.gz").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return ErrnoStatus(errno, "open " + l + ".tar.gz");
    ReadAtFn read = [&](uint64_t offset, void* buf, size_t n) -> Result<size_t> {
      ssize_t got = ::pread(fd.get(), buf, n, static_cast<off_t>(offset));
      if (got < 0) return ErrnoStatus(errno, "pread");
      return static_cast<size_t>(got);
    };
    BERTH_RETURN_IF_ERROR(registry->PushBlob(d, read).status());
    m.layers.push_back(d);
    BERTH_RETURN_IF_ERROR(RemoveAll(l));
    ::unlink((l + ".tar").c_str());
    ::unlink((l + ".tar.gz").c_str());
  }
  Platform host_platform = HostPlatform();
  std::string config = nlohmann::json{{"architecture", host_platform.architecture},
                                      {"os", "linux"},
                                      {"config", {{"Cmd", {"/bin/sh"}}}},
                                      {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}}
                           .dump();
  BERTH_ASSIGN_OR_RETURN(Digest config_digest, DigestBytes(config));
  m.config = Descriptor{.media_type = std::string(media::kOciConfig),
                        .digest = config_digest,
                        .size = static_cast<int64_t>(config.size())};
  ReadAtFn read_config = [&](uint64_t offset, void* buf, size_t n) -> Result<size_t> {
    size_t len = offset >= config.size() ? 0 : std::min(n, config.size() - offset);
    std::memcpy(buf, config.data() + offset, len);
    return len;
  };
  BERTH_RETURN_IF_ERROR(registry->PushBlob(m.config, read_config).status());
  std::string bytes = Serialize(m);
  BERTH_ASSIGN_OR_RETURN(Digest md, DigestBytes(bytes));
  Descriptor manifest{.media_type = std::string(media::kOciManifest),
                      .digest = md,
                      .size = static_cast<int64_t>(bytes.size())};
  BERTH_RETURN_IF_ERROR(registry->PushManifest(tag, manifest, bytes));
  return sums;
}

}  // namespace berth::e2e
