// berthd with real service processes (berth-testsvc): restart of a killed service, clean stop,
// adoption after a berthd crash, missing binaries, plugins, version, and berthctl against it.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "berth/health/v1/health.berth.h"
#include "common/fs.h"
#include "common/temp_dir.h"
#include "common/time.h"
#include "common/unique_fd.h"
#include "tests/integration/supervisor_test_util.h"

namespace berth::integration {
namespace {

namespace sv = berth::supervisor::v1;
namespace hv = berth::health::v1;
using Clock = std::chrono::steady_clock;

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// berth-testsvc processes serving this test's state dir.
std::vector<pid_t> TestServicePids(const BerthdHarness& berthd) {
  std::vector<pid_t> services;
  for (pid_t pid : ProcessesWith(berthd.state())) {
    auto cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
    if (cmdline.ok() && cmdline->find("berth-testsvc") != std::string::npos) {
      services.push_back(pid);
    }
  }
  return services;
}

BerthdOptions WithTestService() {
  BerthdOptions options;
  options.services = {{"testsvc", TestServiceBinary()}};
  return options;
}

TEST(SupervisorTest, KilledServiceIsBackWithinTwoSecondsAndTheRestartIsCounted) {
  BerthdHarness berthd(WithTestService());
  ASSERT_TRUE(berthd.Start().ok());
  ASSERT_TRUE(berthd.WaitServing().ok());
  auto before = berthd.WaitRunning("testsvc");
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(before->restarts(), 0u);
  pid_t old_pid = static_cast<pid_t>(before->pid());

  ipc::Client service(berthd.ServiceSocket("testsvc"));
  hv::HealthClient health(service);
  ASSERT_TRUE(health.Check(hv::CheckRequest()).ok());

  auto killed_at = Clock::now();
  int64_t killed_at_wall = NowUnixNanos();
  ASSERT_EQ(::kill(old_pid, SIGKILL), 0);
  // Poll the service's own socket until a new process answers its health check.
  uint32_t new_pid = 0;
  while (Clock::now() - killed_at < std::chrono::seconds(2)) {
    ipc::CallOptions call;
    call.timeout = std::chrono::milliseconds(200);
    auto answer = health.Check(hv::CheckRequest(), std::move(call));
    if (answer.ok() && answer->pid() != static_cast<uint32_t>(old_pid)) {
      new_pid = answer->pid();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto elapsed = Clock::now() - killed_at;
  ASSERT_NE(new_pid, 0u) << "service not back within 2 s";
  berthd.Track(static_cast<pid_t>(new_pid));
  EXPECT_LT(elapsed, std::chrono::seconds(2));

  auto after = berthd.WaitRunning("testsvc", std::chrono::seconds(2), old_pid);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->restarts(), 1u);
  EXPECT_EQ(after->pid(), new_pid);
  EXPECT_NE(after->last_error().find("killed by signal 9"), std::string::npos)
      << after->last_error();
  // The socket it serves, and a start time of the new process (not of the first one).
  EXPECT_EQ(after->socket(), berthd.ServiceSocket("testsvc"));
  ASSERT_TRUE(after->has_started_at());
  int64_t started_at = after->started_at().seconds() * 1'000'000'000 + after->started_at().nanos();
  EXPECT_GE(started_at, killed_at_wall);
  EXPECT_LE(started_at, NowUnixNanos());

  // The same through the real berthctl binary.
  auto table = berthd.Berthctl({"services", "ls"});
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_NE(table->find("NAME"), std::string::npos) << *table;
  EXPECT_NE(table->find("RESTARTS"), std::string::npos) << *table;
  std::string row = table->substr(table->find("testsvc"));
  row = row.substr(0, row.find('\n'));
  EXPECT_NE(row.find(std::to_string(new_pid)), std::string::npos) << row;
  EXPECT_NE(row.find("running"), std::string::npos) << row;
  EXPECT_NE(row.find("    1    "), std::string::npos) << "restart count in: " << row;
  EXPECT_NE(row.find(" " + berthd.ServiceSocket("testsvc") + " "), std::string::npos) << row;
  // UPTIME: a few seconds at most ("0s".."9s"), counted from the restart.
  EXPECT_TRUE(std::regex_search(row, std::regex(" [0-9]s +/"))) << "uptime in: " << row;
  auto json = berthd.Berthctl({"--format", "json", "services", "ls"});
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  auto parsed = nlohmann::json::parse(*json);
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0]["name"], "testsvc");
  EXPECT_EQ(parsed[0]["restarts"], 1);
  EXPECT_EQ(parsed[0]["state"], "running");
  EXPECT_EQ(parsed[0]["socket"], berthd.ServiceSocket("testsvc"));
  EXPECT_EQ(parsed[0]["started_at"], FormatRfc3339Nano(started_at));
  ASSERT_TRUE(parsed[0]["uptime_seconds"].is_number_integer()) << parsed[0].dump();
  int64_t uptime = parsed[0]["uptime_seconds"];
  EXPECT_GE(uptime, 0);
  EXPECT_LE(uptime, (NowUnixNanos() - started_at) / 1'000'000'000);
}

// SIGTERM (systemd, kill) and SIGINT (Ctrl-C in a terminal) both stop berthd cleanly.
class SupervisorStopSignalTest : public ::testing::TestWithParam<int> {};

TEST_P(SupervisorStopSignalTest, StopsEverythingAndLeavesNoProcessOrSocket) {
  BerthdHarness berthd(WithTestService());
  ASSERT_TRUE(berthd.Start().ok());
  ASSERT_TRUE(berthd.WaitServing().ok());
  auto service = berthd.WaitRunning("testsvc");
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  pid_t service_pid = static_cast<pid_t>(service->pid());
  pid_t berthd_pid = berthd.pid();
  ASSERT_TRUE(Exists(berthd.socket()));
  ASSERT_TRUE(Exists(berthd.ServiceSocket("testsvc")));
  ASSERT_TRUE(Exists(berthd.state() + "/services/testsvc.pid"));

  auto exited = berthd.Terminate(20s, GetParam());
  ASSERT_TRUE(exited.ok()) << exited.status().ToString();
  EXPECT_TRUE(exited->success()) << exited->ToString();
  EXPECT_TRUE(ProcessGone(berthd_pid));
  EXPECT_TRUE(ProcessGone(service_pid));
  EXPECT_TRUE(ProcessesWith(berthd.state()).empty());
  EXPECT_FALSE(Exists(berthd.socket()));
  EXPECT_FALSE(Exists(berthd.ServiceSocket("testsvc")));
  EXPECT_FALSE(Exists(berthd.state() + "/services/testsvc.pid"));
}

INSTANTIATE_TEST_SUITE_P(Signals, SupervisorStopSignalTest, ::testing::Values(SIGTERM, SIGINT),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == SIGTERM ? "SIGTERM" : "SIGINT");
                         });

TEST(SupervisorTest, ServicesStopInReverseOrder) {
  BerthdOptions options;
  options.services = {{"first", TestServiceBinary()}, {"second", TestServiceBinary()}};
  BerthdHarness berthd(options);
  ASSERT_TRUE(berthd.Start().ok());
  ASSERT_TRUE(berthd.WaitServing().ok());
  auto first = berthd.WaitRunning("first");
  auto second = berthd.WaitRunning("second");
  ASSERT_TRUE(first.ok() && second.ok());
  pid_t a = static_cast<pid_t>(first->pid()), b = static_cast<pid_t>(second->pid());
  ASSERT_TRUE(berthd.pid() > 0 && ::kill(berthd.pid(), SIGTERM) == 0);
  // "first" may only go once "second" is gone: never see first gone while second lives.
  auto deadline = Clock::now() + std::chrono::seconds(15);
  bool a_gone = false, b_gone = false;
  while (!(a_gone && b_gone) && Clock::now() < deadline) {
    b_gone = ProcessGone(b);
    a_gone = ProcessGone(a);
    ASSERT_FALSE(a_gone && !ProcessGone(b)) << "first stopped before second";
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  EXPECT_TRUE(a_gone && b_gone);
  auto exited = berthd.Terminate();
  ASSERT_TRUE(exited.ok()) << exited.status().ToString();
  EXPECT_TRUE(exited->success());
}

TEST(SupervisorTest, ACrashLoopingServiceIsRetriedWithBackoffAndBerthdStaysUp) {
  BerthdOptions options;
  options.services = {{"crashy", "/bin/false"}};  // exits at once, every time
  options.backoff_initial_ms = 100;
  options.backoff_max_ms = 300;
  BerthdHarness berthd(options);
  ASSERT_TRUE(berthd.Start().ok());
  // When each restart happens: the waits before restarts 2, 3 and 4 are 200 ms, then 400 and
  // 800 ms capped at 300. A restart can be seen late (polling) but never early, so each gap is
  // at least its delay, less a little for seeing the previous restart late.
  sv::ServiceInfo info;
  std::vector<Clock::time_point> restarted_at;
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (restarted_at.size() < 4 && Clock::now() < deadline) {
    auto found = berthd.FindService("crashy");
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    if (found->restarts() > info.restarts()) {
      ASSERT_EQ(found->restarts(), info.restarts() + 1) << "a restart was missed by polling";
      restarted_at.push_back(Clock::now());
    }
    info = *found;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(restarted_at.size(), 4u) << info.DebugString();
  auto gap_ms = [&](size_t i) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(restarted_at[i] -
                                                                 restarted_at[i - 1])
        .count();
  };
  constexpr int64_t kSlack = 40;
  EXPECT_GE(gap_ms(1), 200 - kSlack);
  EXPECT_GE(gap_ms(2), 300 - kSlack);
  EXPECT_GE(gap_ms(3), 300 - kSlack);
  EXPECT_LT(gap_ms(3), 800 - kSlack) << "the 300 ms cap was not applied";
  EXPECT_NE(info.last_error().find("exit code 1"), std::string::npos) << info.DebugString();
  auto health = berthd.supervisor().Health(google::protobuf::Empty());
  ASSERT_TRUE(health.ok());
  EXPECT_NE(health->status(), "serving");
  auto exited = berthd.Terminate();
  ASSERT_TRUE(exited.ok()) << exited.status().ToString();
  EXPECT_TRUE(exited->success());
  EXPECT_FALSE(Exists(berthd.socket()));
}

TEST(SupervisorTest, RestartedBerthdAdoptsTheRunningServiceInsteadOfSpawningAnother) {
  BerthdHarness berthd(WithTestService());
  ASSERT_TRUE(berthd.Start().ok());
  ASSERT_TRUE(berthd.WaitServing().ok());
  auto first = berthd.WaitRunning("testsvc");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  pid_t service_pid = static_cast<pid_t>(first->pid());

  berthd.Kill9();
  // The service outlives berthd (that is the point) ...
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_FALSE(ProcessGone(service_pid));
  // ... and the next berthd takes it over.
  ASSERT_TRUE(berthd.Start().ok());
  ASSERT_TRUE(berthd.WaitServing().ok());
  auto adopted = berthd.WaitRunning("testsvc");
  ASSERT_TRUE(adopted.ok()) << adopted.status().ToString();
  EXPECT_EQ(static_cast<pid_t>(adopted->pid()), service_pid);
  EXPECT_EQ(adopted->restarts(), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(TestServicePids(berthd), std::vector<pid_t>{service_pid}) << "spawned a second service";

  // A crash of the adopted service (not berthd's child) is still noticed and repaired.
  ASSERT_EQ(::kill(service_pid, SIGKILL), 0);
  auto replaced = berthd.WaitRunning("testsvc", std::chrono::seconds(3), service_pid);
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(replaced->restarts(), 1u);

  auto exited = berthd.Terminate();
  ASSERT_TRUE(exited.ok()) << exited.status().ToString();
  EXPECT_TRUE(ProcessGone(static_cast<pid_t>(replaced->pid())));
  EXPECT_TRUE(ProcessesWith(berthd.state()).empty());
}

TEST(SupervisorTest, AMissingBinaryIsListedAsMissingAndIsNotFatal) {
  BerthdOptions options = WithTestService();
  options.services.insert(options.services.begin(), {"nosuch", ""});
  BerthdHarness berthd(options);
  ASSERT_TRUE(berthd.Start().ok());
  ASSERT_TRUE(berthd.WaitServing().ok());  // the services that exist are up
  ASSERT_TRUE(berthd.WaitRunning("testsvc").ok());
  auto missing = berthd.FindService("nosuch");
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_EQ(missing->state(), "missing");
  EXPECT_EQ(missing->pid(), 0u);
  EXPECT_NE(missing->last_error().find("berth-nosuch"), std::string::npos) << missing->last_error();
  EXPECT_NE(missing->last_error().find("services.binaries.nosuch"), std::string::npos)
      << missing->last_error();
  auto table = berthd.Berthctl({"services", "ls"});
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_NE(table->find("missing"), std::string::npos) << *table;
}

TEST(SupervisorTest, PluginListHasBerthdsOwnAndTheRegisteredServicePlugins) {
  BerthdHarness berthd(WithTestService());
  ASSERT_TRUE(berthd.Start().ok());
  ASSERT_TRUE(berthd.WaitServing().ok());
  auto has = [](const sv::ListPluginsResponse& list, const std::string& type,
                const std::string& id) {
    for (auto& p : list.plugins()) {
      if (p.type() == type && p.id() == id && p.status() == "ok") return true;
    }
    return false;
  };
  sv::ListPluginsResponse list;
  for (int i = 0; i < 300 && !has(list, "berth.testing.v1", "testsvc"); ++i) {
    auto answer = berthd.supervisor().ListPlugins(sv::ListPluginsRequest());
    ASSERT_TRUE(answer.ok()) << answer.status().ToString();
    list = *answer;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(has(list, "berth.testing.v1", "testsvc")) << list.DebugString();
  EXPECT_TRUE(has(list, "berth.supervisor.v1", "supervisor")) << list.DebugString();
  EXPECT_TRUE(has(list, "berth.events.v1", "exchange")) << list.DebugString();

  sv::ListPluginsRequest filtered;
  filtered.add_filters("type==berth.testing.v1");
  auto only = berthd.supervisor().ListPlugins(filtered);
  ASSERT_TRUE(only.ok());
  ASSERT_EQ(only->plugins_size(), 1);
  EXPECT_EQ(only->plugins(0).service(), "testsvc");
  sv::ListPluginsRequest bad;
  bad.add_filters("type===x");
  EXPECT_EQ(berthd.supervisor().ListPlugins(bad).status().code(), Code::kInvalidArgument);

  auto table = berthd.Berthctl({"plugins", "ls"});
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ(table->rfind("TYPE", 0), 0u) << *table;
  EXPECT_NE(table->find("PLATFORMS"), std::string::npos) << *table;
  EXPECT_NE(table->find("berth.testing.v1"), std::string::npos) << *table;
  EXPECT_NE(table->find("berth.events.v1"), std::string::npos) << *table;
  auto json = berthd.Berthctl({"--format", "json", "plugins", "ls", "id==exchange"});
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  auto parsed = nlohmann::json::parse(*json);
  ASSERT_EQ(parsed.size(), 1u) << *json;
  EXPECT_EQ(parsed[0]["type"], "berth.events.v1");
  EXPECT_EQ(parsed[0]["status"], "ok");
}

TEST(SupervisorTest, VersionFromRpcAndBerthctl) {
  BerthdHarness berthd;
  ASSERT_TRUE(berthd.Start().ok());
  auto version = berthd.supervisor().Version(google::protobuf::Empty());
  ASSERT_TRUE(version.ok());
  EXPECT_FALSE(version->version().empty());
  EXPECT_EQ(static_cast<pid_t>(version->pid()), berthd.pid());
  // --address is containerd's name for the same directory as --state.
  auto out = RunCapture({BuildPath("cli/berthctl"), "--address", berthd.state(), "version"});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_NE(out->find("Client:"), std::string::npos) << *out;
  EXPECT_NE(out->find("Server:"), std::string::npos) << *out;
  EXPECT_NE(out->find(std::to_string(berthd.pid())), std::string::npos) << *out;
}

TEST(SupervisorTest, BerthctlSaysInOneLineWhenBerthdIsNotRunning) {
  BerthdHarness berthd;  // never started
  auto out = berthd.Berthctl({"services", "ls"});
  ASSERT_FALSE(out.ok());
  const std::string& message = out.status().message();
  EXPECT_NE(message.find("exit code 1"), std::string::npos) << message;
  EXPECT_NE(message.find("cannot reach berthd at " + berthd.socket() + ": is berthd running?"),
            std::string::npos)
      << message;
  // What to do about it, not a hint about a service berthd would start.
  EXPECT_NE(message.find("systemctl start berth.target"), std::string::npos) << message;
  EXPECT_EQ(message.find("berthd starts it"), std::string::npos) << message;
  // stderr alone: exactly one line, then the exit code.
  auto stderr_only =
      RunCapture({"sh", "-c", "\"$@\" 2>&1 >/dev/null; echo \"rc=$?\"", "sh",
                  BuildPath("cli/berthctl"), "--state", berthd.state(), "services", "ls"});
  ASSERT_TRUE(stderr_only.ok()) << stderr_only.status().ToString();
  EXPECT_EQ(std::count(stderr_only->begin(), stderr_only->end(), '\n'), 2) << *stderr_only;
  EXPECT_TRUE(stderr_only->ends_with("\nrc=1\n")) << *stderr_only;
}

TEST(SupervisorTest, ConfigDefaultPrintsACommentedConfig) {
  auto out = RunCapture({BuildPath("supervisor/berthd"), "config", "default"});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_NE(out->find("# "), std::string::npos);
  EXPECT_NE(out->find("[services]"), std::string::npos);
  EXPECT_NE(out->find("max_log_entries"), std::string::npos);
}

TEST(SupervisorTest, SystemdModeSpawnsNothingAndListsServicesAsExternal) {
  BerthdOptions options = WithTestService();
  options.spawn = false;
  BerthdHarness berthd(options);
  ASSERT_TRUE(berthd.Start().ok());
  auto listed = berthd.FindService("testsvc");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->state(), "external");
  EXPECT_EQ(listed->pid(), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(TestServicePids(berthd).empty());
  // A service started by someone else (systemd) is seen through its socket.
  auto external = ChildProcess::Spawn(
      {.argv = {TestServiceBinary(), "--root", berthd.root(), "--state", berthd.state(), "--socket",
                berthd.ServiceSocket("testsvc"), "--berthd", berthd.socket()},
       .stdin_fd = SpawnOptions::kDevNull});
  ASSERT_TRUE(external.ok()) << external.status().ToString();
  berthd.Track(external->pid());
  sv::ServiceInfo seen;
  for (int i = 0; i < 400; ++i) {
    auto info = berthd.FindService("testsvc");
    if (info.ok() && info->pid() == static_cast<uint32_t>(external->pid())) {
      seen = *info;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(seen.pid(), static_cast<uint32_t>(external->pid())) << seen.DebugString();
  EXPECT_EQ(seen.state(), "external");
  ASSERT_TRUE(external->Kill(SIGTERM).ok());
  ASSERT_TRUE(external->Wait().ok());
}

// The receiving end of sd_notify: a datagram socket standing in for systemd's NOTIFY_SOCKET.
// SO_PASSCRED makes the kernel stamp every message with its sender's pid.
class NotifySocket {
 public:
  explicit NotifySocket(std::string path) : path_(std::move(path)) {
    fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path_.c_str());
    int on = 1;
    bound_ = fd_ && ::setsockopt(fd_.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == 0 &&
             ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  bool bound() const { return bound_; }
  const std::string& path() const { return path_; }

  // The next message sent by `sender` (others are skipped), or "" after `timeout`.
  std::string Next(pid_t sender, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count()) + 1) <= 0) continue;
      char data[4096];
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
      iovec iov{data, sizeof(data)};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_CMSG_CLOEXEC);
      if (n < 0) continue;
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      if (c == nullptr || c->cmsg_type != SCM_CREDENTIALS) continue;
      ucred cred{};
      std::memcpy(&cred, CMSG_DATA(c), sizeof(cred));
      if (cred.pid == sender) return std::string(data, static_cast<size_t>(n));
    }
    return "";
  }

 private:
  std::string path_;
  UniqueFd fd_;
  bool bound_ = false;
};

// Embedded mode under a Type=notify unit: READY=1 only once every service runs (a service that
// takes 300 ms to come up holds it back), and STOPPING=1 as soon as SIGTERM arrives.
TEST(SupervisorTest, NotifiesReadyOnlyAfterTheServicesRunAndStoppingOnSigterm) {
  auto dir = TempDir::Create("n");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  std::string slow = dir->Join("slow-testsvc");
  ASSERT_TRUE(
      WriteFileAtomic(slow, "#!/bin/sh\nsleep 0.3\nexec " + TestServiceBinary() + " \"$@\"\n")
          .ok());
  ASSERT_EQ(::chmod(slow.c_str(), 0755), 0);
  NotifySocket notify(dir->Join("notify"));
  ASSERT_TRUE(notify.bound()) << std::strerror(errno);

  BerthdOptions options;
  options.services = {{"testsvc", slow}};
  options.extra_env = {"NOTIFY_SOCKET=" + notify.path()};
  BerthdHarness berthd(options);
  ASSERT_TRUE(berthd.Start().ok());
  std::string ready = notify.Next(berthd.pid(), 10s);
  // Checked the moment READY=1 arrives: the service must already be up.
  auto service = berthd.FindService("testsvc");
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  auto health = berthd.supervisor().Health(google::protobuf::Empty());
  EXPECT_EQ(ready, "READY=1");
  EXPECT_EQ(service->state(), "running") << service->DebugString();
  ASSERT_TRUE(health.ok()) << health.status().ToString();
  EXPECT_EQ(health->status(), "serving");
  // Nothing else from berthd while it just runs.
  EXPECT_EQ(notify.Next(berthd.pid(), 200ms), "");

  pid_t berthd_pid = berthd.pid();
  auto exited = berthd.Terminate();
  ASSERT_TRUE(exited.ok()) << exited.status().ToString();
  EXPECT_TRUE(exited->success());
  EXPECT_EQ(notify.Next(berthd_pid, 2s), "STOPPING=1");
  EXPECT_EQ(notify.Next(berthd_pid, 100ms), "");
}

}  // namespace
}  // namespace berth::integration
