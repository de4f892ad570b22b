// berth-content under berthd, as it runs in the embedded default: kill -9 in the middle of a
// 200 MB ingest, berthd restarts it, the same ref resumes from the reported offset; the plugin it
// registers; /content/delete events arriving at berthd's exchange; the ingest expiry taken from
// berthd's config file.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "berth/content/v1/content.pb.h"
#include "berth/events/v1/events.berth.h"
#include "common/fs.h"
#include "services/content/proxy.h"
#include "tests/integration/content_harness.h"
#include "tests/integration/supervisor_test_util.h"

namespace berth::integration {
namespace {

using ::testing::HasSubstr;
namespace ev = berth::events::v1;
namespace fs = std::filesystem;

class SupervisedContentTest : public ::testing::Test {
 protected:
  // berthd with berth-content only; `extra_toml` goes into its config file.
  void Start(const std::string& extra_toml = "") {
    BerthdOptions options;
    options.services = {{"content", BuildPath("services/content/berth-content")}};
    options.extra_toml = extra_toml;
    berthd_ = std::make_unique<BerthdHarness>(options);
    ASSERT_TRUE(berthd_->Start().ok());
    auto content = berthd_->WaitRunning("content");
    ASSERT_TRUE(content.ok()) << content.status().ToString();
    content_pid_ = static_cast<pid_t>(content->pid());
    client_ = std::make_unique<ipc::Client>(berthd_->ServiceSocket("content"),
                                            ipc::ClientOptions{.connect_timeout = 10s});
    proxy_ = std::make_unique<content::Proxy>(*client_, content::ProxyOptions{.ns = "default"});
  }
  void TearDown() override {
    proxy_.reset();
    client_.reset();
    berthd_.reset();
  }
  // kill -9 berth-content; waits until berthd runs a new one.
  void KillContentAndWaitForRestart() {
    ASSERT_EQ(::kill(content_pid_, SIGKILL), 0);
    auto restarted = berthd_->WaitRunning("content", 20s, content_pid_);
    ASSERT_TRUE(restarted.ok()) << restarted.status().ToString();
    EXPECT_GE(restarted->restarts(), 1u);
    content_pid_ = static_cast<pid_t>(restarted->pid());
  }
  std::string blobs() const { return berthd_->root() + "/content/blobs"; }

  std::unique_ptr<BerthdHarness> berthd_;
  pid_t content_pid_ = 0;
  std::unique_ptr<ipc::Client> client_;
  std::unique_ptr<content::Proxy> proxy_;
};

TEST_F(SupervisedContentTest, KillDuringIngestBerthdRestartsItAndTheRefResumes) {
  Start();
  constexpr size_t kSize = 200u << 20;
  const std::string data = RandomBytes(kSize, 7);
  const Digest digest = DigestBytes(data).value();
  const std::string ref = "pull-supervised-200m";
  BlobsWatcher watcher(blobs(), digest, kSize);

  Status write_result;
  std::thread writer_thread([&] {
    auto writer = proxy_->OpenWriter({.ref = ref, .total = kSize, .expected = digest});
    if (!writer.ok()) {
      write_result = writer.status();
      return;
    }
    for (size_t off = 0; off < kSize && write_result.ok(); off += 1 << 20) {
      write_result = (*writer)->Write(std::string_view(data).substr(off, 1 << 20));
    }
    if (write_result.ok()) write_result = (*writer)->Commit(kSize, digest);
  });
  uint64_t seen_offset = 0;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (seen_offset < (60u << 20) && std::chrono::steady_clock::now() < deadline) {
    auto status = proxy_->GetStatus(ref);
    if (status.ok()) seen_offset = status->offset;
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_GE(seen_offset, 60u << 20) << "the ingest did not progress";
  KillContentAndWaitForRestart();
  writer_thread.join();
  EXPECT_FALSE(write_result.ok()) << "the write finished before the kill; nothing was tested";
  EXPECT_TRUE(fs::is_empty(blobs() + "/sha256"));

  // What berthctl shows of the interrupted ingest is what the writer resumes from.
  auto active = berthd_->Berthctl({"content", "active"});
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  EXPECT_THAT(*active, HasSubstr(ref));
  auto status = proxy_->GetStatus(ref);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_GE(status->offset, seen_offset);
  EXPECT_LT(status->offset, kSize);
  EXPECT_THAT(*active, HasSubstr(std::to_string(status->offset)));

  auto writer = proxy_->OpenWriter({.ref = ref, .total = kSize, .expected = digest});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  uint64_t offset = (*writer)->GetStatus()->offset;
  ASSERT_EQ(offset, status->offset);
  ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(offset)).ok());
  ASSERT_TRUE((*writer)->Commit(kSize, digest).ok());
  writer->reset();
  watcher.Stop();
  EXPECT_EQ(watcher.violation(), "");
  EXPECT_GT(watcher.scans(), 10u);
  EXPECT_EQ(proxy_->GetInfo(digest)->size, kSize);
  EXPECT_EQ(DigestFile(blobs() + "/sha256/" + digest.hex).value(), digest);
  EXPECT_TRUE(proxy_->ListStatuses()->empty());
}

TEST_F(SupervisedContentTest, RegistersItsPluginAndPublishesDeletesToBerthd) {
  Start();
  // The service registers its plugin with berthd once it serves: wait for it.
  nlohmann::json plugin;
  std::string listed;
  for (int attempt = 0; attempt < 200 && plugin.is_null(); ++attempt) {
    auto plugins = berthd_->Berthctl({"--format", "json", "plugins", "ls"});
    ASSERT_TRUE(plugins.ok()) << plugins.status().ToString();
    listed = *plugins;
    for (const auto& p : nlohmann::json::parse(listed)) {
      if (p["type"] == "berth.content.v1" && p["id"] == "content") plugin = p;
    }
    if (plugin.is_null()) std::this_thread::sleep_for(50ms);
  }
  ASSERT_FALSE(plugin.is_null()) << listed;
  EXPECT_EQ(plugin["status"], "ok") << plugin.dump();
  EXPECT_EQ(plugin["service"], "content") << plugin.dump();

  ev::EventsClient events(berthd_->client());
  ev::SubscribeRequest subscribe;
  subscribe.add_filters("topic==\"/content/delete\"");
  subscribe.set_replay_all(true);
  auto stream = events.Subscribe(subscribe);

  Digest digest = DigestBytes("to be deleted").value();
  ASSERT_TRUE(content::WriteBlob(*proxy_, "doomed", "to be deleted", digest).ok());
  auto removed = berthd_->Berthctl({"--namespace", "team-a", "content", "rm", digest.ToString()});
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();

  auto event = stream.Recv(10s);
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  ASSERT_TRUE(event->has_value());
  EXPECT_EQ((*event)->topic(), "/content/delete");
  EXPECT_EQ((*event)->namespace_(), "team-a");
  EXPECT_GT((*event)->sequence(), 0u);
  // containerd's typeurl convention: the bare message name.
  EXPECT_EQ((*event)->event().type_url(), "berth.content.v1.ContentDelete");
  content::v1::ContentDelete payload;
  ASSERT_TRUE(payload.ParseFromString((*event)->event().value()));
  EXPECT_EQ(payload.digest(), digest.ToString());
}

TEST_F(SupervisedContentTest, IngestExpiryComesFromBerthdsConfig) {
  // One hour instead of the default 24: an ingest idle for two hours is stale.
  Start("[content]\ningest_expiry_hours = 1\n");
  for (const char* ref : {"idle-2h", "fresh"}) {
    auto writer = proxy_->OpenWriter({.ref = ref});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ASSERT_TRUE((*writer)->Write("partial").ok());
  }
  std::string data = berthd_->root() + "/content/ingest/" + DigestBytes("idle-2h")->hex + "/data";
  timespec two_hours_ago[2] = {{::time(nullptr) - 7200, 0}, {::time(nullptr) - 7200, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, data.c_str(), two_hours_ago, 0), 0);

  // berth-content asks berth-metadata which ingests leases hold before it expires any (and
  // keeps all when it cannot ask): this berthd runs no berth-metadata, so a stand-in answers.
  FakeLeasedIngests metadata(berthd_->ServiceSocket("metadata"));
  ASSERT_TRUE(metadata.Listen().ok());
  // Expiry runs when berth-content starts (and every 30 minutes with this setting).
  KillContentAndWaitForRestart();
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (proxy_->GetStatus("idle-2h").ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(proxy_->GetStatus("idle-2h").status().code(), Code::kNotFound);
  EXPECT_GE(metadata.asked(), 1u);
  auto fresh = proxy_->GetStatus("fresh");
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(fresh->offset, 7u);
}

}  // namespace
}  // namespace berth::integration
