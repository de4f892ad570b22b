// Least privilege in embedded mode (supervisor/privileges.h): berthd spawns berth-privprobe in
// place of each service, through the same code path and with the same privileges as the real
// service, and the probe reports what it could and could not do. Checked by actions (mount,
// writes, chown, chroot, binding a privileged port), not by reading configuration. The real
// services then run under the same limits and still do their work.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/process.h"
#include "tests/integration/supervisor_test_util.h"

namespace berth::integration {
namespace {

std::string ProbeBinary() { return BuildPath("tests/integration/berth-privprobe"); }

// A port below 1024 that nobody listens on (binding it needs CAP_NET_BIND_SERVICE).
int FreeLowPort() {
  for (int port = 1023; port > 600; --port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    if (free) return port;
  }
  return 0;
}

class PrivilegesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "berthd drops capabilities only when it has them: run as root";
    outside_ = std::make_unique<TempDir>(TempDir::Create("berth-outside").value());
    low_port_ = FreeLowPort();
    ASSERT_NE(low_port_, 0);
    // berthd passes its environment to the services it spawns.
    ::setenv("BERTH_PROBE_OUTSIDE", outside_->path().c_str(), 1);
    ::setenv("BERTH_PROBE_LOW_PORT", std::to_string(low_port_).c_str(), 1);
  }

  // Starts berthd with the probe as content, metadata and snapshot; the probes' reports.
  std::map<std::string, nlohmann::json> RunProbes() {
    BerthdOptions options;
    for (const char* name : {"content", "metadata", "snapshot"}) {
      options.services.emplace_back(name, ProbeBinary());
    }
    BerthdHarness berthd(options);
    EXPECT_TRUE(berthd.Start().ok());
    std::map<std::string, nlohmann::json> reports;
    for (const char* name : {"content", "metadata", "snapshot"}) {
      auto info = berthd.WaitRunning(name);
      EXPECT_TRUE(info.ok()) << name << ": " << info.status().ToString();
      auto text = ReadFile(berthd.root() + "/" + name + "/probe.json");
      EXPECT_TRUE(text.ok()) << name << ": " << text.status().ToString();
      if (text.ok()) reports[name] = nlohmann::json::parse(*text);
    }
    EXPECT_TRUE(berthd.Terminate().ok());
    return reports;
  }

  std::unique_ptr<TempDir> outside_;
  int low_port_ = 0;
};

TEST_F(PrivilegesTest, ContentAndMetadataHaveNoPrivilegeAndWriteOnlyTheirOwnDirectory) {
  auto reports = RunProbes();
  for (const char* name : {"content", "metadata"}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(reports.contains(name));
    const nlohmann::json& r = reports[name];
    EXPECT_EQ(r["mount"], "EPERM") << r.dump(2);
    EXPECT_EQ(r["write_own"], "ok") << r.dump(2);
    EXPECT_EQ(r["write_other"], "EACCES") << r.dump(2);
    EXPECT_EQ(r["write_outside"], "EACCES") << r.dump(2);
    EXPECT_EQ(r["chown_own"], "EPERM") << r.dump(2);
    EXPECT_EQ(r["chroot"], "EPERM") << r.dump(2);
    EXPECT_EQ(r["bind_low_port"], "EACCES") << r.dump(2);
    EXPECT_EQ(r["read_etc"], "ok") << r.dump(2);
    EXPECT_EQ(r["CapEff"], "0000000000000000");
    EXPECT_EQ(r["CapBnd"], "0000000000000000");
    EXPECT_EQ(r["NoNewPrivs"], "1");
  }
  // Nothing reached the directories they must not write.
  EXPECT_NE(::access((outside_->path() + "/content").c_str(), F_OK), 0);
  EXPECT_NE(::access((outside_->path() + "/metadata").c_str(), F_OK), 0);
}

TEST_F(PrivilegesTest, SnapshotKeepsOnlyWhatUnpackingNeeds) {
  auto reports = RunProbes();
  ASSERT_TRUE(reports.contains("snapshot"));
  const nlohmann::json& r = reports["snapshot"];
  EXPECT_EQ(r["mount"], "ok") << r.dump(2);      // CAP_SYS_ADMIN: overlay and scratch mounts
  EXPECT_EQ(r["chown_own"], "ok") << r.dump(2);  // CAP_CHOWN: layer files keep their owners
  EXPECT_EQ(r["chroot"], "EPERM") << r.dump(2);  // no CAP_SYS_CHROOT
  EXPECT_EQ(r["bind_low_port"], "EACCES") << r.dump(2);  // no CAP_NET_BIND_SERVICE
  // CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID MKNOD SETFCAP SYS_ADMIN
  EXPECT_EQ(r["CapBnd"], "000000008820001f");
  EXPECT_EQ(r["CapEff"], "000000008820001f");
  EXPECT_EQ(r["NoNewPrivs"], "1");
}

// The real services under the same limits: they start, serve and keep their data.
TEST_F(PrivilegesTest, RealServicesWorkUnderTheirLimits) {
  BerthdOptions options;
  for (const char* name : {"content", "snapshot", "metadata"}) {
    options.services.emplace_back(name,
                                  BuildPath(std::string("services/") + name + "/berth-" + name));
  }
  BerthdHarness berthd(options);
  ASSERT_TRUE(berthd.Start().ok());
  std::map<std::string, pid_t> pids;
  for (const char* name : {"content", "snapshot", "metadata"}) {
    auto info = berthd.WaitRunning(name);
    ASSERT_TRUE(info.ok()) << name << ": " << info.status().ToString();
    pids[name] = static_cast<pid_t>(info->pid());
  }
  for (const char* name : {"content", "metadata"}) {
    auto status = ReadFile("/proc/" + std::to_string(pids[name]) + "/status");
    ASSERT_TRUE(status.ok());
    EXPECT_NE(status->find("CapEff:\t0000000000000000"), std::string::npos) << name;
    EXPECT_NE(status->find("NoNewPrivs:\t1"), std::string::npos) << name;
  }
  // berth-content writes blobs; berth-metadata writes its database.
  auto ingested = RunCapture(
      {BuildPath("cli/berthctl"), "--state", berthd.state(), "content", "ingest", "hello"},
      "hello");
  ASSERT_TRUE(ingested.ok()) << ingested.status().ToString();
  auto listed = berthd.Berthctl({"content", "ls"});
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_NE(listed->find("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
            std::string::npos)
      << *listed;
  auto created = berthd.Berthctl({"namespaces", "create", "privtest"});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto namespaces = berthd.Berthctl({"namespaces", "ls"});
  ASSERT_TRUE(namespaces.ok());
  EXPECT_NE(namespaces->find("privtest"), std::string::npos);
  EXPECT_TRUE(berthd.Terminate().ok());
}

}  // namespace
}  // namespace berth::integration
