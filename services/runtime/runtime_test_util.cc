#include "services/runtime/runtime_test_util.h"

#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/process.h"

namespace berth::runtime::testing {

Status MakeBusyboxRootfs(const std::string& dir) {
  for (const char* sub : {"bin", "etc", "proc", "dev", "sys", "tmp", "run", "work"}) {
    BERTH_RETURN_IF_ERROR(MakeDirs(dir + "/" + sub, 0755));
  }
  BERTH_ASSIGN_OR_RETURN(std::string busybox, ReadFile("/bin/busybox"));
  BERTH_RETURN_IF_ERROR(WriteFileAtomic(dir + "/bin/busybox", busybox, 0755));
  for (const char* applet : {"sh", "echo", "true", "false", "sleep", "cat", "id", "hostname", "pwd",
                             "env", "ls", "touch", "ps", "kill", "yes", "head"}) {
    std::string link = dir + "/bin/" + applet;
    if (::symlink("busybox", link.c_str()) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, "symlink " + link);
    }
  }
  BERTH_RETURN_IF_ERROR(WriteFileAtomic(dir + "/etc/passwd",
                                        "root:x:0:0:root:/root:/bin/sh\n"
                                        "app:x:1000:1000:app:/work:/bin/sh\n"));
  return WriteFileAtomic(dir + "/etc/group", "root:x:0:\napp:x:1000:\nextra:x:2000:app\n");
}

std::vector<pid_t> ProcessesMatching(const std::string& needle) {
  std::vector<pid_t> pids;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return pids;
  while (dirent* e = ::readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0 || pid == ::getpid()) continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/cmdline", std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (text.str().find(needle) != std::string::npos) pids.push_back(pid);
  }
  ::closedir(proc);
  return pids;
}

std::vector<std::string> MountsUnder(const std::string& prefix) {
  std::vector<std::string> mounts;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    if (point.rfind(prefix, 0) == 0) mounts.push_back(point);
  }
  return mounts;
}

std::vector<std::string> RuncContainers(const std::string& runc_root) {
  std::vector<std::string> ids;
  DIR* d = ::opendir(runc_root.c_str());
  if (d == nullptr) return ids;
  while (dirent* e = ::readdir(d)) {
    std::string ns = e->d_name;
    if (ns == "." || ns == "..") continue;
    auto out = RunCapture({"runc", "--root", runc_root + "/" + ns, "list", "--format", "json"});
    if (!out.ok()) continue;
    auto list = nlohmann::json::parse(*out, nullptr, false);
    if (!list.is_array()) continue;
    for (const auto& c : list) ids.push_back(ns + "/" + c.value("id", ""));
  }
  ::closedir(d);
  return ids;
}

void RemoveCgroupTree(const std::string& parent) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> roots;
  for (const auto& entry : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    // cgroup v1 has one hierarchy per controller (and "unified"); v2 has one at the top.
    roots.push_back(entry.path() / parent.substr(1));
  }
  roots.push_back(fs::path("/sys/fs/cgroup") / parent.substr(1));
  for (const auto& root : roots) {
    if (!fs::is_directory(root, ec)) continue;
    std::vector<fs::path> dirs = {root};
    for (auto it = fs::recursive_directory_iterator(root, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec)) dirs.push_back(it->path());
    }
    // Deepest first: a cgroup directory can only go once it has no children.
    std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
      return a.native().size() > b.native().size();
    });
    for (const auto& dir : dirs) ::rmdir(dir.c_str());
  }
}

LeftoverGuard::~LeftoverGuard() {
  for (pid_t pid : ProcessesMatching(needle_)) ::kill(pid, SIGKILL);
  for (const auto& nsid : RuncContainers(runc_root_)) {
    std::string ns = nsid.substr(0, nsid.find('/')), id = nsid.substr(nsid.find('/') + 1);
    std::string root = runc_root_ + "/" + ns;
    (void)RunCapture({"runc", "--root", root, "kill", id, "KILL"});
    (void)RunCapture({"runc", "--root", root, "delete", "--force", id});
  }
  auto mounts = MountsUnder(state_);
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
}

}  // namespace berth::runtime::testing
