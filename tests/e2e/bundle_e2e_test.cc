// End to end: `berthctl bundle extract` run by plain runc and crun, `bundle pack` of an edited
// bundle, and `berthctl commit` of a container's changes, pushed to a real registry (Debian's
// docker-registry), pulled into a fresh root and read by skopeo and umoci. berthd runs every
// service on a temp root/state; containers run in this test's own cgroup parent.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "client/testing/test_registry.h"
#include "common/fs.h"
#include "common/process.h"
#include "common/temp_dir.h"
#include "tests/e2e/image_e2e_util.h"
#include "tests/integration/supervisor_test_util.h"
#include "tests/shim/shim_harness.h"

namespace berth::e2e {
namespace {

using namespace std::chrono_literals;
using integration::BuildPath;
using json = nlohmann::json;

constexpr char kBusybox[] = "berth/busybox:latest";

struct CtlOutcome {
  int code = -1;
  std::string out;  // stdout + stderr
};

// `argv` with stdout and stderr together, and its exit code.
CtlOutcome RunBoth(const std::vector<std::string>& argv, std::chrono::seconds timeout = 120s) {
  SpawnOptions options;
  options.argv = {"sh", "-c", "\"$@\" 2>&1; echo \"rc=$?\"", "sh"};
  options.argv.insert(options.argv.end(), argv.begin(), argv.end());
  auto out = RunCapture(options, {}, timeout);
  CtlOutcome o;
  if (!out.ok()) {
    o.out = out.status().ToString();
    return o;
  }
  size_t rc = out->rfind("rc=");
  o.out = out->substr(0, rc);
  o.code = std::atoi(out->c_str() + rc + 3);
  return o;
}

// The file's contents, "" when it cannot be read.
std::string FileText(const std::string& path) {
  auto text = ReadFile(path);
  return text.ok() ? *text : std::string();
}

// Containers of the runc/crun roots under `dir`, processes naming `state`, mounts below both.
void CleanUp(const std::string& state, const std::string& dir) {
  for (pid_t pid : integration::ProcessesWith(state)) ::kill(pid, SIGKILL);
  for (const std::string& root :
       {state + "/runc/default", dir + "/runc-root", dir + "/crun-root"}) {
    std::string tool = root.ends_with("crun-root") ? "crun" : "runc";
    auto list = RunCapture({tool, "--root", root, "list", "-q"});
    if (!list.ok()) continue;
    std::istringstream ids(*list);
    for (std::string id; std::getline(ids, id);) {
      (void)RunCapture({tool, "--root", root, "delete", "--force", id});
    }
  }
  for (const std::string& under : {state, dir}) {
    (void)RunCapture(
        {"sh", "-c",
         "grep -o ' " + under + "[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l"});
  }
}

class BundleE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    image_dir_ = new TempDir(TempDir::Create("b-bundle-img").value());
    std::string source = std::getenv("BERTH_SOURCE_DIR") ? std::getenv("BERTH_SOURCE_DIR") : "";
    auto built = RunCapture({"bash", source + "/tests/fixtures/images.sh", "oci-archive",
                             image_dir_->Join("busybox.tar")},
                            {}, 120s);
    ASSERT_TRUE(built.ok()) << built.status().ToString();
  }
  static void TearDownTestSuite() { delete image_dir_; }

  void SetUp() override {
    dir_ = std::make_unique<TempDir>(TempDir::Create("b-bundle").value());
    integration::BerthdOptions options;
    for (const char* svc : {"content", "snapshot", "metadata", "runtime"}) {
      options.services.push_back(
          {svc, BuildPath(std::string("services/") + svc + "/berth-" + svc)});
    }
    berthd_ = std::make_unique<integration::BerthdHarness>(options);
    ASSERT_TRUE(berthd_->Start(30s).ok());
    for (const char* svc : {"content", "snapshot", "metadata", "runtime"}) {
      ASSERT_TRUE(berthd_->WaitRunning(svc, 30s).ok()) << svc;
    }
    ASSERT_TRUE(berthd_->WaitServing(30s).ok());
    auto imported =
        Ctl({"image", "import", "--base-name", "berth/busybox", image_dir_->Join("busybox.tar")});
    ASSERT_EQ(imported.code, 0) << imported.out;
  }

  void TearDown() override {
    std::string state = berthd_->state();
    std::string cgroup_parent = CgroupParent();
    CleanUp(state, dir_->path());
    berthd_.reset();
    CleanUp(state, dir_->path());
    // `runc --root <state>/runc/default list` above recreates the state dir berthd_ removed.
    std::error_code ignored;
    std::filesystem::remove_all(std::filesystem::path(state).parent_path(), ignored);
    (void)RunCapture({"sh", "-c",
                      "for d in /sys/fs/cgroup" + cgroup_parent + " /sys/fs/cgroup/*" +
                          cgroup_parent + "; do [ -d \"$d\" ] && find \"$d\" -depth -type d " +
                          "-exec rmdir {} + ; done; true"});
    auto mounts = ReadFile("/proc/self/mountinfo");
    ASSERT_TRUE(mounts.ok());
    EXPECT_EQ(mounts->find(state), std::string::npos) << "mounts left under " << state;
    EXPECT_EQ(mounts->find(dir_->path()), std::string::npos) << "mounts left in the bundle dir";
    EXPECT_TRUE(integration::ProcessesWith(state).empty());
    dir_.reset();
  }

  // This test's own cgroup parent: tests running at once never share cgroups.
  std::string CgroupParent() const {
    return "/" + std::filesystem::path(berthd_->state()).parent_path().filename().string();
  }
  CtlOutcome Ctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {BuildPath("cli/berthctl"), "--state", berthd_->state()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunBoth(argv);
  }
  json CtlJson(std::vector<std::string> args) {
    args.insert(args.begin(), {"--format", "json"});
    auto out = Ctl(args);
    EXPECT_EQ(out.code, 0) << out.out;
    return json::parse(out.out, nullptr, false);
  }
  // berthctl run --rm in this test's cgroup parent.
  CtlOutcome Run(const std::string& image, const std::string& id,
                 std::vector<std::string> command) {
    std::vector<std::string> args = {"run", "--rm", "--cgroup-parent", CgroupParent(), image, id};
    args.insert(args.end(), command.begin(), command.end());
    return Ctl(args);
  }

  static TempDir* image_dir_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<integration::BerthdHarness> berthd_;
};

TempDir* BundleE2eTest::image_dir_ = nullptr;

// What the container reports about itself: the same from berthctl run, runc and crun.
const std::vector<std::string> kProbe = {"sh", "-c",
                                         "id; hostname; pwd; echo \"$PATH $PROBE\"; ls /; cat "
                                         "/proc/self/status | grep -E '^(CapEff|NoNewPrivs)'"};

TEST_F(BundleE2eTest, ExtractRunsWithRuncAndCrunLikeBerthctlRun) {
  // --env (a repeatable flag) before IMAGE and a command with dash arguments.
  std::vector<std::string> probe = {"--env", "PROBE=yes", kBusybox, "probe"};
  probe.insert(probe.end(), kProbe.begin(), kProbe.end());
  probe.insert(probe.begin(), {"run", "--rm", "--cgroup-parent", CgroupParent()});
  auto berth = Ctl(probe);
  ASSERT_EQ(berth.code, 0) << berth.out;
  ASSERT_NE(berth.out.find("uid=0(root)"), std::string::npos) << berth.out;
  ASSERT_NE(berth.out.find(" yes\n"), std::string::npos) << berth.out;

  std::string bundle = dir_->Join("bundle");
  std::vector<std::string> extract = {"bundle", "extract", "--cgroup-parent", CgroupParent(),
                                      "--id",   "probe",   "--env",           "PROBE=yes",
                                      kBusybox, bundle};
  extract.insert(extract.end(), kProbe.begin(), kProbe.end());
  auto extracted = Ctl(extract);
  ASSERT_EQ(extracted.code, 0) << extracted.out;
  // A plain directory tree, not a mount.
  struct stat st {};
  ASSERT_EQ(::stat((bundle + "/rootfs/bin/busybox").c_str(), &st), 0);
  auto mounts = ReadFile("/proc/self/mountinfo");
  ASSERT_TRUE(mounts.ok());
  EXPECT_EQ(mounts->find(bundle), std::string::npos);
  // config.json is the spec `container create` (what run uses) records for the same flags.
  std::vector<std::string> create = {"container", "create",    "--cgroup-parent", CgroupParent(),
                                     "--env",     "PROBE=yes", kBusybox,          "probe"};
  create.insert(create.end(), kProbe.begin(), kProbe.end());
  ASSERT_EQ(Ctl(create).code, 0);
  json record = CtlJson({"container", "info", "probe"});
  EXPECT_EQ(Ctl({"rm", "probe"}).code, 0);
  json config = json::parse(FileText(bundle + "/config.json"), nullptr, false);
  EXPECT_EQ(config, record["spec"]["value"]) << config.dump() << "\n" << record.dump();

  auto runc = RunBoth({"runc", "--root", dir_->Join("runc-root"), "run", "-b", bundle, "probe"});
  EXPECT_EQ(runc.code, 0) << runc.out;
  EXPECT_EQ(runc.out, berth.out);

  auto cgroups = shim::testing::CrunCgroups::Bind(dir_->Join("cgroup-v1"));
  ASSERT_TRUE(cgroups.ok()) << cgroups.status().ToString();
  auto crun = RunBoth({"crun", "--root", dir_->Join("crun-root"), "run", "-b", bundle, "probe"});
  cgroups->reset();
  EXPECT_EQ(crun.code, 0) << crun.out;
  EXPECT_EQ(crun.out, berth.out);

  // A non-empty directory is refused and left as it was; --force replaces the bundle.
  auto before = ReadFile(bundle + "/config.json");
  ASSERT_TRUE(before.ok());
  auto refused = Ctl({"bundle", "extract", kBusybox, bundle, "echo", "other"});
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.out.find("not empty"), std::string::npos) << refused.out;
  EXPECT_NE(refused.out.find("--force"), std::string::npos) << refused.out;
  EXPECT_EQ(FileText(bundle + "/config.json"), *before);
  EXPECT_EQ(::stat((bundle + "/rootfs/bin/busybox").c_str(), &st), 0);
  auto forced = Ctl({"bundle", "extract", "--force", kBusybox, bundle, "echo", "other"});
  EXPECT_EQ(forced.code, 0) << forced.out;
  auto spec = json::parse(FileText(bundle + "/config.json"), nullptr, false);
  EXPECT_EQ(spec["process"]["args"], json({"echo", "other"}));
}

TEST_F(BundleE2eTest, PackedEditedBundleRunsWithTheEdit) {
  std::string bundle = dir_->Join("bundle");
  auto extracted = Ctl({"bundle", "extract", kBusybox, bundle});
  ASSERT_EQ(extracted.code, 0) << extracted.out;
  ASSERT_TRUE(WriteFileAtomic(bundle + "/rootfs/etc/edited", "edited by the test\n").ok());
  ASSERT_EQ(::unlink((bundle + "/rootfs/bin/vi").c_str()), 0);
  auto spec = json::parse(FileText(bundle + "/config.json"), nullptr, false);
  ASSERT_TRUE(spec.is_object());
  spec["process"]["args"] = {"sh", "-c", "cat /etc/edited; echo \"$PACKED\"; pwd; ls /bin/vi 2>&1"};
  spec["process"]["env"].push_back("PACKED=yes");
  spec["process"]["cwd"] = "/tmp";
  ASSERT_TRUE(WriteFileAtomic(bundle + "/config.json", spec.dump()).ok());

  // The whole rootfs as one layer.
  json whole = CtlJson({"bundle", "pack", bundle, "example.com/packed:whole"});
  ASSERT_TRUE(whole.is_object());
  EXPECT_EQ(whole["media_type"], "application/vnd.oci.image.layer.v1.tar+gzip");
  auto ran = Run("example.com/packed:whole", "packed1", {});
  EXPECT_EQ(ran.code, 1) << ran.out;  // ls of the deleted /bin/vi
  EXPECT_EQ(ran.out, "edited by the test\nyes\n/tmp\nls: /bin/vi: No such file or directory\n");

  // On top of the fixture: a small zstd layer with the edit and a whiteout for /bin/vi.
  json based = CtlJson({"bundle", "pack", "--base", kBusybox, "--compression", "zstd", bundle,
                        "example.com/packed:based"});
  ASSERT_TRUE(based.is_object());
  EXPECT_EQ(based["media_type"], "application/vnd.oci.image.layer.v1.tar+zstd");
  EXPECT_LT(based["layer_size"].get<int64_t>(), 4096) << based.dump();
  EXPECT_LT(based["layer_size"], whole["layer_size"]);
  auto ran_based = Run("example.com/packed:based", "packed2", {});
  EXPECT_EQ(ran_based.out, ran.out);

  auto missing = Ctl({"bundle", "pack", dir_->Join("nothing"), "example.com/packed:none"});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.out.find("config.json"), std::string::npos) << missing.out;
}

// config.json's process becomes the packed image's config the way docker and containerd read
// it: process.args (a whole argv) is Cmd and clears the base image's Entrypoint; env, cwd and
// user (uid:gid) are Env, WorkingDir and User.
TEST_F(BundleE2eTest, PackedImageConfigIsTheBundleProcess) {
  // A base image with an Entrypoint, which would otherwise run in front of Cmd.
  auto made = Ctl({"run", "--cgroup-parent", CgroupParent(), kBusybox, "base", "true"});
  ASSERT_EQ(made.code, 0) << made.out;
  json base = CtlJson(
      {"commit", "--change", "ENTRYPOINT [\"/bin/false\"]", "base", "example.com/entry:v1"});
  ASSERT_TRUE(base.is_object());
  EXPECT_EQ(Ctl({"rm", "base"}).code, 0);
  json base_info = CtlJson({"image", "inspect", "example.com/entry:v1"});
  ASSERT_EQ(base_info["config"]["config"]["Entrypoint"], json({"/bin/false"})) << base_info.dump();

  std::string bundle = dir_->Join("bundle");
  auto extracted = Ctl({"bundle", "extract", "example.com/entry:v1", bundle});
  ASSERT_EQ(extracted.code, 0) << extracted.out;
  auto spec = json::parse(FileText(bundle + "/config.json"), nullptr, false);
  ASSERT_TRUE(spec.is_object());
  EXPECT_EQ(spec["process"]["args"], json({"/bin/false", "/bin/sh"}));  // Entrypoint + Cmd
  spec["process"]["args"] = {"sh", "-c", "id -u; id -g; pwd; echo \"$PACKED\""};
  spec["process"]["env"].push_back("PACKED=yes");
  spec["process"]["cwd"] = "/tmp";
  spec["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  ASSERT_TRUE(WriteFileAtomic(bundle + "/config.json", spec.dump()).ok());

  json packed = CtlJson(
      {"bundle", "pack", "--base", "example.com/entry:v1", bundle, "example.com/packed:user"});
  ASSERT_TRUE(packed.is_object());
  json info = CtlJson({"image", "inspect", "example.com/packed:user"});
  ASSERT_TRUE(info.is_object());
  EXPECT_EQ(info["manifest_descriptor"]["digest"], packed["digest"]) << packed.dump();
  const json& config = info["config"]["config"];
  EXPECT_EQ(config["User"], "1000:1000") << config.dump();
  EXPECT_EQ(config["Cmd"], spec["process"]["args"]) << config.dump();
  EXPECT_TRUE(!config.contains("Entrypoint") || config["Entrypoint"].is_null()) << config.dump();
  EXPECT_EQ(config["Env"], spec["process"]["env"]) << config.dump();
  EXPECT_EQ(config["WorkingDir"], "/tmp") << config.dump();

  auto ran = Run("example.com/packed:user", "packed-user", {});
  EXPECT_EQ(ran.code, 0) << ran.out;
  EXPECT_EQ(ran.out, "1000\n1000\n/tmp\nyes\n");
  // A command given to run replaces Cmd and runs as the image's user, with no Entrypoint before it.
  auto id = Run("example.com/packed:user", "packed-id", {"id", "-u"});
  EXPECT_EQ(id.code, 0) << id.out;
  EXPECT_EQ(id.out, "1000\n");
}

// A packed image is complete in the content store: `image export` writes an OCI archive and
// `image push` uploads it to a registry, and skopeo reads both with the bundle's process.
TEST_F(BundleE2eTest, PackedImageExportsAndPushes) {
  auto registry = client::testing::TestRegistry::Start();
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  std::string bundle = dir_->Join("bundle");
  auto extracted = Ctl({"bundle", "extract", kBusybox, bundle});
  ASSERT_EQ(extracted.code, 0) << extracted.out;
  ASSERT_TRUE(WriteFileAtomic(bundle + "/rootfs/etc/packed", "packed\n").ok());
  auto spec = json::parse(FileText(bundle + "/config.json"), nullptr, false);
  ASSERT_TRUE(spec.is_object());
  spec["process"]["args"] = {"cat", "/etc/packed"};
  spec["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  ASSERT_TRUE(WriteFileAtomic(bundle + "/config.json", spec.dump()).ok());
  std::string ref = (*registry)->host() + "/berth/packed:v1";
  json packed = CtlJson({"bundle", "pack", "--base", kBusybox, bundle, ref});
  ASSERT_TRUE(packed.is_object());
  json base = CtlJson({"image", "inspect", kBusybox});
  size_t layers = base["manifest"]["layers"].size() + 1;

  // The export: an OCI archive skopeo reads, with every layer and the config.
  std::string archive = dir_->Join("packed.tar");
  auto exported = Ctl({"image", "export", archive, ref});
  ASSERT_EQ(exported.code, 0) << exported.out;
  auto local = RunCapture({"skopeo", "inspect", "oci-archive:" + archive});
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  json local_info = json::parse(*local, nullptr, false);
  EXPECT_EQ(local_info["Digest"], packed["digest"]) << *local;
  ASSERT_EQ(local_info["Layers"].size(), layers) << *local;
  EXPECT_EQ(local_info["Layers"].back(), packed["layer"]);
  auto local_config = RunCapture({"skopeo", "inspect", "--config", "oci-archive:" + archive});
  ASSERT_TRUE(local_config.ok()) << local_config.status().ToString();
  json local_cfg = json::parse(*local_config, nullptr, false);
  EXPECT_EQ(local_cfg["config"]["User"], "1000:1000") << *local_config;
  EXPECT_EQ(local_cfg["rootfs"]["diff_ids"].back(), packed["diff_id"]) << *local_config;

  // The push: the registry serves the same manifest, which skopeo accepts.
  json pushed = CtlJson({"image", "push", "--plain-http", ref});
  ASSERT_TRUE(pushed.is_object());
  EXPECT_EQ(pushed["digest"], packed["digest"]);
  auto remote = RunCapture({"skopeo", "inspect", "--tls-verify=false", "docker://" + ref});
  ASSERT_TRUE(remote.ok()) << remote.status().ToString();
  json remote_info = json::parse(*remote, nullptr, false);
  EXPECT_EQ(remote_info["Digest"], packed["digest"]) << *remote;
  ASSERT_EQ(remote_info["Layers"].size(), layers) << *remote;
  EXPECT_EQ(remote_info["Layers"].back(), packed["layer"]);
  auto remote_config =
      RunCapture({"skopeo", "inspect", "--config", "--tls-verify=false", "docker://" + ref});
  ASSERT_TRUE(remote_config.ok()) << remote_config.status().ToString();
  json remote_cfg = json::parse(*remote_config, nullptr, false);
  EXPECT_EQ(remote_cfg, local_cfg);
  EXPECT_EQ(remote_cfg["config"]["Cmd"], json({"cat", "/etc/packed"})) << *remote_config;

  // Pulled into a fresh root: the same manifest, unpacked to the same snapshot.
  auto fresh = BerthSystem::Start();
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  auto pulled = (*fresh)->CtlJson({"image", "pull", "--plain-http", ref});
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ((*pulled)["digest"], packed["digest"]);
  EXPECT_EQ((*pulled)["snapshot"], packed["snapshot"]);
}

// Files of the image that `commit` changed, seen from inside a container.
const char kCheck[] =
    "cat /data/new.txt; stat -c '%a' /etc/passwd; ls /etc/group 2>&1; ls /bin/vi 2>&1; "
    "echo \"$COMMITTED\"";

TEST_F(BundleE2eTest, CommitRunningContainerPushPullAndOtherTools) {
  auto registry = client::testing::TestRegistry::Start();
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  std::string ref = (*registry)->host() + "/berth/committed:v1";
  auto started =
      Ctl({"run", "-d", "--cgroup-parent", CgroupParent(), kBusybox, "writer", "sh", "-c",
           "mkdir /data && echo hello > /data/new.txt && rm /etc/group /bin/vi && "
           "chmod 600 /etc/passwd && touch /tmp/ready && exec sleep 1000"});
  ASSERT_EQ(started.code, 0) << started.out;
  for (int i = 0; i < 100; ++i) {
    if (Ctl({"task", "exec", "--exec-id", fmt::format("probe{}", i), "writer", "test", "-e",
             "/tmp/ready"})
            .code == 0) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  json committed = CtlJson({"commit", "--message", "test commit", "--change", "ENV=COMMITTED=yes",
                            "--change", "CMD [\"cat\", \"/data/new.txt\"]", "writer", ref});
  ASSERT_TRUE(committed.is_object());
  json tasks = CtlJson({"task", "ls"});
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].value("status", ""), "RUNNING") << tasks.dump();
  // The task was paused while its snapshot was read, and resumed.
  auto events = RunBoth({"timeout", "3", BuildPath("cli/berthctl"), "--state", berthd_->state(),
                         "events", "--since", "0"});
  size_t paused = events.out.find("/tasks/paused");
  EXPECT_NE(paused, std::string::npos) << events.out;
  EXPECT_NE(events.out.find("/tasks/resumed", paused), std::string::npos) << events.out;

  auto ran = Run(ref, "reader", {"sh", "-c", kCheck});
  EXPECT_EQ(ran.out,
            "hello\n600\nls: /etc/group: No such file or directory\n"
            "ls: /bin/vi: No such file or directory\nyes\n");
  EXPECT_EQ(Run(ref, "default-cmd", {}).out, "hello\n");  // --change CMD
  auto killed = Ctl({"rm", "--force", "writer"});
  EXPECT_EQ(killed.code, 0) << killed.out;

  // A stopped container, zstd.
  auto stopped = Ctl({"run", "--cgroup-parent", CgroupParent(), kBusybox, "stopped", "sh", "-c",
                      "echo gone > /stopped"});
  ASSERT_EQ(stopped.code, 0) << stopped.out;
  json zstd = CtlJson({"commit", "--compression", "zstd", "stopped", "example.com/stopped:v1"});
  EXPECT_EQ(zstd["media_type"], "application/vnd.oci.image.layer.v1.tar+zstd");
  EXPECT_EQ(Run("example.com/stopped:v1", "stopped2", {"cat", "/stopped"}).out, "gone\n");
  EXPECT_EQ(Ctl({"rm", "stopped"}).code, 0);
  auto bad_change = Ctl({"commit", "--change", "RUN echo", "stopped", "example.com/x:v1"});
  EXPECT_NE(bad_change.code, 0);
  EXPECT_NE(bad_change.out.find("unsupported instruction"), std::string::npos) << bad_change.out;
  auto bad_compression = Ctl({"commit", "--compression", "lz4", "stopped", "example.com/x:v1"});
  EXPECT_NE(bad_compression.code, 0);
  EXPECT_NE(bad_compression.out.find("gzip, zstd or none"), std::string::npos)
      << bad_compression.out;
  auto no_container = Ctl({"commit", "nosuch", "example.com/x:v1"});
  EXPECT_NE(no_container.code, 0);
  EXPECT_NE(no_container.out.find("nosuch"), std::string::npos) << no_container.out;

  json pushed = CtlJson({"image", "push", "--plain-http", ref});
  ASSERT_TRUE(pushed.is_object());
  EXPECT_EQ(pushed["digest"], committed["digest"]);
  auto fresh = BerthSystem::Start();
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  auto pulled = (*fresh)->CtlJson({"image", "pull", "--plain-http", ref});
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ((*pulled)["digest"], committed["digest"]);
  EXPECT_EQ((*pulled)["snapshot"], committed["snapshot"]);

  auto inspect = RunCapture({"skopeo", "inspect", "--tls-verify=false", "docker://" + ref});
  ASSERT_TRUE(inspect.ok()) << inspect.status().ToString();
  json info = json::parse(*inspect, nullptr, false);
  ASSERT_EQ(info["Layers"].size(), 2u) << *inspect;
  EXPECT_EQ(info["Layers"][1], committed["layer"]);
  auto config =
      RunCapture({"skopeo", "inspect", "--config", "--tls-verify=false", "docker://" + ref});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  json cfg = json::parse(*config, nullptr, false);
  EXPECT_EQ(cfg["rootfs"]["diff_ids"][1], committed["diff_id"]);
  EXPECT_EQ(cfg["history"].back()["comment"], "test commit");
  EXPECT_EQ(cfg["history"].back()["created_by"], "berthctl commit writer");
  size_t layer_entries = 0;
  for (const auto& entry : cfg["history"])
    layer_entries += entry.value("empty_layer", false) ? 0 : 1;
  EXPECT_EQ(layer_entries, cfg["rootfs"]["diff_ids"].size()) << cfg.dump();
  EXPECT_EQ(cfg["config"]["Cmd"], json({"cat", "/data/new.txt"}));

  auto rootfs = UmociRootfs(ref, dir_->Join("umoci"));
  ASSERT_TRUE(rootfs.ok()) << rootfs.status().ToString();
  EXPECT_EQ(FileText(*rootfs + "/data/new.txt"), "hello\n");
  struct stat st {};
  EXPECT_NE(::lstat((*rootfs + "/etc/group").c_str(), &st), 0);
  EXPECT_NE(::lstat((*rootfs + "/bin/vi").c_str(), &st), 0);
  ASSERT_EQ(::lstat((*rootfs + "/etc/passwd").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

// `commit --no-pause` reads a running container's snapshot without pausing its task: no
// /tasks/paused or /tasks/resumed event, the task stays RUNNING; the default commit pauses and
// resumes it.
TEST_F(BundleE2eTest, CommitNoPauseLeavesTheTaskRunning) {
  auto started = Ctl({"run", "-d", "--cgroup-parent", CgroupParent(), kBusybox, "writer", "sh",
                      "-c", "echo live > /live && touch /tmp/ready && exec sleep 1000"});
  ASSERT_EQ(started.code, 0) << started.out;
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {
    ready = Ctl({"task", "exec", "--exec-id", fmt::format("probe{}", i), "writer", "test", "-e",
                 "/tmp/ready"})
                .code == 0;
    if (!ready) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(ready);
  // The topics of the task events of "writer" so far, in order (from the events replay).
  auto task_topics = [&] {
    auto events = RunBoth({"timeout", "3", BuildPath("cli/berthctl"), "--state", berthd_->state(),
                           "--format", "json", "events", "--since", "0"});
    std::vector<std::string> topics;
    std::istringstream lines(events.out);
    for (std::string line; std::getline(lines, line);) {
      json e = json::parse(line, nullptr, false);
      if (!e.is_object() || !e.value("topic", "").starts_with("/tasks/")) continue;
      const json& event = e.contains("event") ? e["event"] : json::object();
      std::string id = event.value("containerId", event.value("container_id", ""));
      if (id == "writer") topics.push_back(e["topic"]);
    }
    return topics;
  };
  auto count = [](const std::vector<std::string>& topics, const std::string& topic) {
    return std::count(topics.begin(), topics.end(), topic);
  };
  auto before = task_topics();
  ASSERT_EQ(count(before, "/tasks/start"), 1) << json(before).dump();  // the replay works
  EXPECT_EQ(count(before, "/tasks/paused"), 0) << json(before).dump();

  json unpaused = CtlJson({"commit", "--no-pause", "writer", "example.com/nopause:v1"});
  ASSERT_TRUE(unpaused.is_object());
  auto after = task_topics();
  EXPECT_EQ(count(after, "/tasks/paused"), 0) << json(after).dump();
  EXPECT_EQ(count(after, "/tasks/resumed"), 0) << json(after).dump();
  json tasks = CtlJson({"task", "ls"});
  ASSERT_EQ(tasks.size(), 1u) << tasks.dump();
  EXPECT_EQ(tasks[0].value("status", ""), "RUNNING") << tasks.dump();
  EXPECT_EQ(Run("example.com/nopause:v1", "reader1", {"cat", "/live"}).out, "live\n");

  // The default commit: paused while the snapshot is read, then resumed.
  json paused = CtlJson({"commit", "writer", "example.com/paused:v1"});
  ASSERT_TRUE(paused.is_object());
  auto last = task_topics();
  auto pause_at = std::find(last.begin(), last.end(), "/tasks/paused");
  EXPECT_NE(pause_at, last.end()) << json(last).dump();
  EXPECT_EQ(count(last, "/tasks/paused"), 1) << json(last).dump();
  EXPECT_EQ(std::count(pause_at, last.end(), "/tasks/resumed"), 1) << json(last).dump();
  tasks = CtlJson({"task", "ls"});
  ASSERT_EQ(tasks.size(), 1u) << tasks.dump();
  EXPECT_EQ(tasks[0].value("status", ""), "RUNNING") << tasks.dump();
  EXPECT_EQ(Run("example.com/paused:v1", "reader2", {"cat", "/live"}).out, "live\n");
  auto killed = Ctl({"rm", "--force", "writer"});
  EXPECT_EQ(killed.code, 0) << killed.out;
}

}  // namespace
}  // namespace berth::e2e
