// Metrics of the whole system: berthd with every service and [metrics] address set, scraped over
// HTTP as Prometheus does and with `berthctl metrics`. promtool (Debian's prometheus package)
// must accept both, and the numbers must follow what the system does: a pull from a real
// registry raises the bytes fetched into content and the snapshot sizes, a run raises the task
// counts and brings per-task cgroup figures.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <regex>
#include <sstream>

#include "client/testing/test_registry.h"
#include "common/process.h"
#include "common/strings.h"
#include "tests/integration/supervisor_test_util.h"

namespace berth::e2e {
namespace {

using namespace std::chrono_literals;
using integration::BerthdHarness;
using integration::BuildPath;

int FreeTcpPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// GET `path` from 127.0.0.1:port with curl: the status line's code and the body.
std::pair<int, std::string> HttpGet(int port, const std::string& path) {
  auto out = RunCapture({"curl", "-s", "-o", "-", "-w", "\n%{http_code}",
                         "http://127.0.0.1:" + std::to_string(port) + path},
                        {}, 30s);
  if (!out.ok()) return {0, out.status().ToString()};
  size_t cut = out->find_last_of('\n');
  return {std::atoi(out->c_str() + cut + 1), out->substr(0, cut)};
}

// The value of the series written exactly as `series` (name{labels}), or -1 when absent.
double Value(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

// The sum of every series of `name` whose labels contain all of `labels` ("k=\"v\"" parts).
double Sum(const std::string& text, const std::string& name, std::vector<std::string> labels) {
  double sum = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + "{", 0) != 0) continue;
    bool match = true;
    for (const auto& l : labels) match = match && line.find(l) != std::string::npos;
    if (match) sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// promtool's verdict on `text`: empty when it is accepted, else its complaints.
std::string PromtoolProblems(const std::string& text) {
  SpawnOptions options;
  options.argv = {"sh", "-c", "promtool check metrics 2>&1; echo \"rc=$?\""};
  auto out = RunCapture(options, text, 60s);
  if (!out.ok()) return out.status().ToString();
  return out->ends_with("rc=0\n") ? "" : *out;
}

std::set<std::string> FamilyNames(const std::string& text) {
  std::set<std::string> names;
  std::regex type_line("^# TYPE ([a-z_]+) ");
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, type_line)) names.insert(m[1]);
  }
  return names;
}

class MetricsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto registry = client::testing::TestRegistry::Start();
    ASSERT_TRUE(registry.ok()) << registry.status().ToString();
    registry_ = std::move(registry).value();
    ASSERT_TRUE(client::testing::PushFixtureImages(registry_->host()).ok());
    port_ = FreeTcpPort();
    integration::BerthdOptions options;
    for (const char* svc : {"content", "snapshot", "metadata", "runtime"}) {
      options.services.push_back(
          {svc, BuildPath(std::string("services/") + svc + "/berth-" + svc)});
    }
    options.extra_toml = "[metrics]\naddress = \"127.0.0.1:" + std::to_string(port_) + "\"\n";
    berthd_ = std::make_unique<BerthdHarness>(options);
    ASSERT_TRUE(berthd_->Start().ok());
    for (const char* svc : {"content", "snapshot", "metadata", "runtime"}) {
      ASSERT_TRUE(berthd_->WaitRunning(svc, 20s).ok()) << svc;
    }
  }

  void TearDown() override {
    if (!berthd_) return;
    std::string state = berthd_->state();
    std::string cgroup_parent = CgroupParent();  // from berthd_'s paths: read before the reset
    (void)berthd_->Berthctl({"rm", "--force", "metrics-task"});
    for (pid_t pid : integration::ProcessesWith(state)) ::kill(pid, SIGKILL);
    berthd_.reset();
    (void)RunCapture({"sh", "-c",
                      "grep -o ' " + state +
                          "[^ ]*' /proc/self/mountinfo | sort -r | "
                          "xargs -r -n1 umount -l"});
    (void)RunCapture({"sh", "-c",
                      "for d in /sys/fs/cgroup" + cgroup_parent + " /sys/fs/cgroup/*" +
                          cgroup_parent + "; do [ -d \"$d\" ] && find \"$d\" -depth -type d " +
                          "-exec rmdir {} + ; done; true"});
  }

  std::string CgroupParent() const {
    return "/" + std::filesystem::path(state_dir()).parent_path().filename().string();
  }
  std::string state_dir() const { return berthd_->state(); }

  // One scrape over HTTP, checked by promtool.
  std::string Scrape() {
    auto [code, body] = HttpGet(port_, "/metrics");
    EXPECT_EQ(code, 200) << body;
    EXPECT_EQ(PromtoolProblems(body), "");
    return body;
  }

  std::unique_ptr<client::testing::TestRegistry> registry_;
  std::unique_ptr<BerthdHarness> berthd_;
  int port_ = 0;
};

TEST_F(MetricsE2eTest, PromtoolAcceptsTheOutputAndNumbersFollowPullAndRun) {
  std::string before = Scrape();
  // Every service is scraped and labelled, berthd included.
  for (const char* svc : {"berthd", "content", "snapshot", "metadata", "runtime"}) {
    EXPECT_GT(
        Value(before, "process_start_time_seconds{berth_service=\"" + std::string(svc) + "\"}"), 0)
        << svc << "\n"
        << before;
  }
  EXPECT_EQ(Value(before, "berth_service_up{berth_service=\"berthd\",service=\"runtime\"}"), 1);
  EXPECT_EQ(
      Value(before, "berth_service_restarts_total{berth_service=\"berthd\",service=\"content\"}"),
      0);
  const std::string fetched = "berth_content_ingested_bytes_total{berth_service=\"content\"}";
  EXPECT_EQ(Value(before, fetched), 0) << before;

  std::string ref = registry_->host() + "/berth/busybox:latest";
  auto pulled = berthd_->Berthctl({"image", "pull", "--plain-http", ref});
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  std::string after_pull = Scrape();
  // busybox-static is about a megabyte compressed.
  EXPECT_GT(Value(after_pull, fetched), 500000) << after_pull;
  EXPECT_GT(Value(after_pull, "berth_content_blob_bytes{berth_service=\"content\"}"), 500000);
  EXPECT_GE(Value(after_pull, "berth_content_blobs{berth_service=\"content\"}"), 3);
  EXPECT_EQ(
      Value(after_pull, "berth_events_total{berth_service=\"berthd\",topic=\"/images/create\"}"),
      1);
  EXPECT_GE(Sum(after_pull, "berth_snapshot_snapshots", {"snapshotter=\"overlayfs\""}), 1);
  EXPECT_GT(Sum(after_pull, "berth_snapshot_bytes", {"snapshotter=\"overlayfs\""}), 500000);
  EXPECT_GT(Sum(after_pull, "berth_ipc_requests_total",
                {"berth_service=\"content\"", "method=\"Write\"", "code=\"OK\""}),
            Sum(before, "berth_ipc_requests_total",
                {"berth_service=\"content\"", "method=\"Write\"", "code=\"OK\""}));
  EXPECT_EQ(Sum(after_pull, "berth_tasks", {}), 0);

  auto ran = berthd_->Berthctl(
      {"run", "-d", "--cgroup-parent", CgroupParent(), ref, "metrics-task", "sleep", "60"});
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  std::string after_run = Scrape();
  EXPECT_EQ(Value(after_run,
                  "berth_tasks{berth_service=\"runtime\",namespace=\"default\","
                  "status=\"running\"}"),
            1)
      << after_run;
  std::string task = "{berth_service=\"runtime\",namespace=\"default\",id=\"metrics-task\"}";
  EXPECT_GE(Value(after_run, "berth_task_pids" + task), 1) << after_run;
  EXPECT_GT(Value(after_run, "berth_task_memory_bytes" + task), 0);
  EXPECT_GE(Value(after_run, "berth_task_cpu_seconds_total" + task), 0);
  EXPECT_EQ(Value(after_run, "berth_task_oom_kills_total" + task), 0);
  EXPECT_GE(Sum(after_run, "berth_ipc_requests_total",
                {"berth_service=\"runtime\"", "method=\"Create\"", "code=\"OK\""}),
            1);

  // berthctl metrics prints the same families, and promtool accepts it too.
  auto cli = berthd_->Berthctl({"metrics"});
  ASSERT_TRUE(cli.ok()) << cli.status().ToString();
  EXPECT_EQ(PromtoolProblems(*cli), "");
  EXPECT_EQ(FamilyNames(*cli), FamilyNames(after_run));
  auto direct = berthd_->Berthctl({"metrics", "--service", "content"});
  ASSERT_TRUE(direct.ok()) << direct.status().ToString();
  EXPECT_GT(Value(*direct, "berth_content_ingested_bytes_total"), 500000) << *direct;
}

// Garbage collection after an image removal: the runs and removed objects are counted by
// berth-metadata, the bytes freed where the data lived (content's deleted bytes, the drop of the
// snapshot sizes), see services/metadata/gc_metrics.h.
TEST_F(MetricsE2eTest, GcCountersAndFreedBytesFollowAnImageRemoval) {
  std::string ref = registry_->host() + "/berth/busybox:latest";
  ASSERT_TRUE(berthd_->Berthctl({"image", "pull", "--plain-http", ref}).ok());
  std::string before = Scrape();
  const std::vector<std::string> metadata = {"berth_service=\"metadata\""};
  const std::vector<std::string> content = {"berth_service=\"content\""};
  double snapshot_bytes = Sum(before, "berth_snapshot_bytes", {"snapshotter=\"overlayfs\""});
  ASSERT_GT(snapshot_bytes, 500000) << before;

  auto removed = berthd_->Berthctl({"image", "rm", ref});
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  auto collected = berthd_->Berthctl({"gc"});
  ASSERT_TRUE(collected.ok()) << collected.status().ToString();
  std::string after = Scrape();

  EXPECT_GT(Sum(after, "berth_gc_runs_total", metadata),
            Sum(before, "berth_gc_runs_total", metadata))
      << after;
  // The index or manifest, the config and the layer at least; and the layer's snapshot.
  EXPECT_GE(
      Sum(after, "berth_gc_removed_total", {"berth_service=\"metadata\"", "kind=\"content\""}) -
          Sum(before, "berth_gc_removed_total", {"berth_service=\"metadata\"", "kind=\"content\""}),
      3)
      << after;
  EXPECT_GE(
      Sum(after, "berth_gc_removed_total", {"berth_service=\"metadata\"", "kind=\"snapshot\""}) -
          Sum(before, "berth_gc_removed_total",
              {"berth_service=\"metadata\"", "kind=\"snapshot\""}),
      1)
      << after;
  // busybox-static's layer is about a megabyte compressed: its bytes are freed.
  EXPECT_GT(Sum(after, "berth_content_deleted_bytes_total", content) -
                Sum(before, "berth_content_deleted_bytes_total", content),
            500000)
      << after;
  EXPECT_LT(Sum(after, "berth_snapshot_bytes", {"snapshotter=\"overlayfs\""}), snapshot_bytes / 2)
      << after;
}

// A process of a task killed by the kernel for going over the task's memory limit raises the
// task's OOM counter (the task itself lives on: only its memory hog died).
TEST_F(MetricsE2eTest, AnOomKillRaisesTheTasksOomCounter) {
  std::string ref = registry_->host() + "/berth/busybox:latest";
  ASSERT_TRUE(berthd_->Berthctl({"image", "pull", "--plain-http", ref}).ok());
  // `tail` keeps the last line of /dev/zero, which never ends: it grows until the OOM killer
  // stops it, then the shell sleeps on.
  auto ran = berthd_->Berthctl({"run", "-d", "--cgroup-parent", CgroupParent(), "--memory-limit",
                                "64m", ref, "metrics-task", "sh", "-c",
                                "head -c 400000000 /dev/zero | tail; sleep 60"});
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  std::string task = "{berth_service=\"runtime\",namespace=\"default\",id=\"metrics-task\"}";
  double oom_kills = 0;
  std::string text;
  for (int i = 0; i < 100 && oom_kills < 1; ++i) {
    std::this_thread::sleep_for(100ms);
    text = Scrape();
    oom_kills = Value(text, "berth_task_oom_kills_total" + task);
  }
  EXPECT_GE(oom_kills, 1) << text;
  EXPECT_EQ(Value(text,
                  "berth_tasks{berth_service=\"runtime\",namespace=\"default\","
                  "status=\"running\"}"),
            1)
      << text;
}

// `berthctl info`: versions, root and state, every service, the snapshotters and disk use.
TEST_F(MetricsE2eTest, InfoReportsVersionsPathsServicesSnapshottersAndDiskUse) {
  std::string ref = registry_->host() + "/berth/busybox:latest";
  ASSERT_TRUE(berthd_->Berthctl({"image", "pull", "--plain-http", ref}).ok());
  auto out = berthd_->Berthctl({"--format", "json", "info"});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  auto info = nlohmann::json::parse(*out, nullptr, false);
  ASSERT_FALSE(info.is_discarded()) << *out;
  EXPECT_FALSE(info["client"]["version"].get<std::string>().empty()) << *out;
  EXPECT_EQ(info["server"]["version"], info["client"]["version"]) << *out;
  EXPECT_EQ(info["server"]["pid"].get<uint32_t>(), static_cast<uint32_t>(berthd_->pid()));
  EXPECT_EQ(info["root"], berthd_->root());
  EXPECT_EQ(info["state"], berthd_->state());
  std::set<std::string> running;
  for (const auto& s : info["services"]) {
    if (s["state"] == "running") running.insert(s["name"].get<std::string>());
  }
  EXPECT_EQ(running, (std::set<std::string>{"content", "snapshot", "metadata", "runtime"})) << *out;
  std::set<std::string> snapshotters;
  for (const auto& s : info["snapshotters"]) snapshotters.insert(s["name"].get<std::string>());
  EXPECT_TRUE(snapshotters.contains("overlayfs") && snapshotters.contains("native")) << *out;
  EXPECT_GE(info["disk"]["content"]["blobs"].get<double>(), 3) << *out;
  EXPECT_GT(info["disk"]["content"]["bytes"].get<double>(), 500000) << *out;
  EXPECT_GT(info["disk"]["snapshots"]["overlayfs"]["bytes"].get<double>(), 500000) << *out;

  // The text form says the same things.
  auto text = berthd_->Berthctl({"info"});
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_NE(text->find("Root:            " + berthd_->root()), std::string::npos) << *text;
  EXPECT_NE(text->find("overlayfs"), std::string::npos) << *text;
}

TEST_F(MetricsE2eTest, HttpEndpointAnswersOnlyMetrics) {
  EXPECT_EQ(HttpGet(port_, "/metrics").first, 200);
  EXPECT_EQ(HttpGet(port_, "/").first, 200);
  EXPECT_EQ(HttpGet(port_, "/debug").first, 404);
  auto posted = RunCapture({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                            "http://127.0.0.1:" + std::to_string(port_) + "/metrics"});
  ASSERT_TRUE(posted.ok());
  EXPECT_EQ(*posted, "405");
  // A berthd whose metrics address is taken says so and does not start.
  integration::BerthdOptions options;
  options.extra_toml = "[metrics]\naddress = \"127.0.0.1:" + std::to_string(port_) + "\"\n";
  BerthdHarness second(options);
  Status started = second.Start(3s);
  EXPECT_FALSE(started.ok());
}

}  // namespace
}  // namespace berth::e2e
