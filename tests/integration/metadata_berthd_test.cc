// berth-metadata as berthd runs it (embedded mode, next to berth-content and berth-snapshot):
// its plugin in berthd's registry, its database under <root>/metadata, and its events in
// berthd's exchange where any subscriber (berthctl events) sees them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <thread>

#include "berth/events/v1/events.berth.h"
#include "berth/metadata/v1/events.pb.h"
#include "berth/metadata/v1/images.berth.h"
#include "berth/metadata/v1/namespaces.berth.h"
#include "services/metadata/test_util.h"
#include "tests/integration/supervisor_test_util.h"

namespace berth::integration {
namespace {

namespace v1 = ::berth::metadata::v1;
namespace sv = ::berth::supervisor::v1;
namespace ev = ::berth::events::v1;

BerthdOptions MetadataWithItsStores() {
  BerthdOptions options;
  options.services = {{"content", BuildPath("services/content/berth-content")},
                      {"snapshot", BuildPath("services/snapshot/berth-snapshot")},
                      {"metadata", BuildPath("services/metadata/berth-metadata")}};
  return options;
}

// berthd's plugins of `type`, once registered (registration is asynchronous).
std::map<std::string, sv::Plugin> RegisteredPlugins(BerthdHarness& berthd,
                                                    const std::string& type) {
  std::map<std::string, sv::Plugin> found;
  for (int attempt = 0; attempt < 200 && found.empty(); ++attempt) {
    sv::ListPluginsRequest request;
    request.add_filters("type==" + type);
    auto list = berthd.supervisor().ListPlugins(request);
    if (list.ok()) {
      for (const auto& plugin : list->plugins()) found[plugin.id()] = plugin;
    }
    if (found.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return found;
}

TEST(MetadataUnderBerthdTest, RegistersItsPluginAndPublishesEveryChangeToTheExchange) {
  BerthdHarness berthd(MetadataWithItsStores());
  ASSERT_TRUE(berthd.Start().ok());
  auto running = berthd.WaitRunning("metadata");
  ASSERT_TRUE(running.ok()) << running.status().ToString();

  auto plugins = RegisteredPlugins(berthd, "berth.metadata.v1");
  ASSERT_EQ(plugins.size(), 1u);
  EXPECT_EQ(plugins.begin()->first, "lmdb");
  EXPECT_EQ(plugins.begin()->second.status(), "ok");
  auto listed = berthd.Berthctl({"plugins", "ls"});
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_NE(listed->find("berth.metadata.v1"), std::string::npos) << *listed;
  EXPECT_EQ(::access((berthd.root() + "/metadata/data.mdb").c_str(), F_OK), 0);

  ipc::Client client(berthd.ServiceSocket("metadata"));
  ipc::CallOptions in_audit;
  in_audit.ns = "audit";
  in_audit.timeout = std::chrono::seconds(20);
  v1::CreateImageRequest create;
  *create.mutable_image() =
      metadata::testing::MakeImage("example.com/app:1", metadata::testing::FakeDigest(1));
  ASSERT_TRUE(v1::ImagesClient(client).Create(create, std::move(in_audit)).ok());
  auto removed = berthd.Berthctl({"-n", "audit", "image", "rm", "example.com/app:1"});
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  auto ns_removed = berthd.Berthctl({"namespaces", "rm", "audit"});
  ASSERT_TRUE(ns_removed.ok()) << ns_removed.status().ToString();

  // A subscriber of berthd's exchange replays them, stamped with their namespace.
  ev::EventsClient events(berthd.client());
  ev::SubscribeRequest subscribe;
  subscribe.add_filters("namespace==audit");
  subscribe.set_replay_all(true);
  auto stream = events.Subscribe(subscribe);
  std::vector<ev::Event> got;
  while (got.size() < 3) {
    auto next = stream.Recv(std::chrono::seconds(10));
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    ASSERT_TRUE(next->has_value());
    got.push_back(std::move(**next));
  }
  std::vector<std::string> topics;
  for (const auto& e : got) topics.push_back(e.topic());
  // The implicit namespace creation has no event of its own (containerd publishes none either).
  EXPECT_EQ(topics,
            (std::vector<std::string>{"/images/create", "/images/delete", "/namespaces/delete"}));
  EXPECT_EQ(got[0].event().type_url(), "berth.metadata.v1.ImageCreate");
  v1::ImageCreate created;
  ASSERT_TRUE(created.ParseFromString(got[0].event().value()));
  EXPECT_EQ(created.name(), "example.com/app:1");
  EXPECT_LT(got[0].sequence(), got[1].sequence());
  auto extra = stream.Recv(std::chrono::milliseconds(300));
  EXPECT_FALSE(extra.ok() && extra->has_value()) << "unexpected " << (*extra)->topic();
}

}  // namespace
}  // namespace berth::integration
