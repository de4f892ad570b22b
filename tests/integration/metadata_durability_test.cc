// Durability: kill -9 berth-metadata during a storm of writes. Every write that was answered OK
// must be there after the restart, and the database must open cleanly, cycle after cycle.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "berth/metadata/v1/containers.berth.h"
#include "berth/metadata/v1/images.berth.h"
#include "ipc/client.h"
#include "services/metadata/test_util.h"
#include "tests/integration/metadata_harness.h"

namespace berth::integration {
namespace {

namespace v1 = ::berth::metadata::v1;
using metadata::testing::FakeDigest;
using metadata::testing::MakeContainer;
using metadata::testing::MakeImage;

class DurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dirs = ServiceDirs::Create();
    ASSERT_TRUE(dirs.ok());
    dirs_ = std::move(dirs).value();
    auto binary = BuiltBinary("services/metadata/berth-metadata");
    ASSERT_TRUE(binary.ok()) << binary.status().ToString();
    metadata_ = std::make_unique<ServiceProcess>(
        *binary, "metadata", dirs_.root, dirs_.state,
        std::vector<std::string>{"--berthd", "none", "--content-socket", "none"});
  }

  ipc::CallOptions Call() {
    ipc::CallOptions options;
    options.ns = "storm";
    options.timeout = std::chrono::seconds(10);
    return options;
  }

  // What the storm's writers were told.
  struct Acked {
    std::set<std::string> created;     // creations answered OK
    std::set<std::string> deleted;     // deletions answered OK (of names in `created`)
    std::set<std::string> unanswered;  // deletions sent but not answered: either state is right
  };

  // Writers create containers (every 4th write an image) and delete every 8th container right
  // after creating it, until told to stop or the process dies.
  void Storm(int cycle, std::atomic<bool>& stop, Acked& acked, std::mutex& mutex,
             std::atomic<int>& count) {
    constexpr int kWriters = 8;
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        ipc::Client client(metadata_->socket());
        v1::ContainersClient containers(client);
        v1::ImagesClient images(client);
        for (int i = 0; !stop; ++i) {
          std::string name = fmt::format("c{}-w{}-{}", cycle, w, i);
          bool ok;
          if (i % 4 == 3) {
            v1::CreateImageRequest request;
            *request.mutable_image() = MakeImage("img/" + name, FakeDigest(i));
            ok = images.Create(request, Call()).ok();
            name = "img/" + name;
          } else {
            v1::CreateContainerRequest request;
            *request.mutable_container() = MakeContainer(name, "overlayfs", name + "-rw");
            ok = containers.Create(request, Call()).ok();
          }
          if (!ok) break;  // the process is gone
          {
            std::lock_guard lock(mutex);
            acked.created.insert(name);
            count++;
          }
          if (i % 8 != 1) continue;
          {
            std::lock_guard lock(mutex);
            acked.unanswered.insert(name);
          }
          v1::DeleteContainerRequest del;
          del.set_id(name);
          if (!containers.Delete(del, Call()).ok()) break;
          std::lock_guard lock(mutex);
          acked.unanswered.erase(name);
          acked.deleted.insert(name);
        }
      });
    }
    for (auto& writer : writers) writer.join();
  }

  // Every acknowledged write is visible in `existing`; returns how many were not.
  static size_t Lost(const Acked& acked, const std::set<std::string>& existing) {
    size_t lost = 0;
    for (const auto& name : acked.created) {
      if (acked.unanswered.contains(name)) continue;
      bool should_exist = !acked.deleted.contains(name);
      if (existing.contains(name) != should_exist) {
        ADD_FAILURE() << name
                      << (should_exist ? " was acknowledged but is missing"
                                       : " was deleted (acknowledged) but is back");
        ++lost;
      }
    }
    return lost;
  }

  // Every name that exists now.
  std::set<std::string> Existing() {
    std::set<std::string> names;
    ipc::Client client(metadata_->socket());
    auto containers = v1::ContainersClient(client).ListStream(v1::ListContainersRequest(), Call());
    while (true) {
      auto message = containers.Recv();
      EXPECT_TRUE(message.ok()) << message.status().ToString();
      if (!message.ok() || !message->has_value()) break;
      for (const auto& c : (*message)->containers()) names.insert(c.id());
    }
    auto images = v1::ImagesClient(client).ListStream(v1::ListImagesRequest(), Call());
    while (true) {
      auto message = images.Recv();
      EXPECT_TRUE(message.ok()) << message.status().ToString();
      if (!message.ok() || !message->has_value()) break;
      for (const auto& i : (*message)->images()) names.insert(i.name());
    }
    return names;
  }

  ServiceDirs dirs_;
  std::unique_ptr<ServiceProcess> metadata_;
};

TEST_F(DurabilityTest, AcknowledgedWritesSurviveKill9MidStorm) {
  Acked acked;
  std::mutex mutex;
  std::mt19937 random(std::random_device{}());
  for (int cycle = 0; cycle < 3; ++cycle) {
    Status started = metadata_->Start();
    ASSERT_TRUE(started.ok()) << "cycle " << cycle << ": " << started.ToString();
    // What earlier cycles acknowledged is all there (and what they deleted is not).
    ASSERT_EQ(Lost(acked, Existing()), 0u) << "cycle " << cycle;
    std::atomic<bool> stop{false};
    std::atomic<int> count{0};
    std::thread killer([&] {
      // Kill once the storm is well under way, at a random moment.
      auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (count < 500 && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(random() % 300));
      metadata_->Kill9();
      stop = true;
    });
    Storm(cycle, stop, acked, mutex, count);
    killer.join();
    EXPECT_GE(count.load(), 500);
  }
  ASSERT_TRUE(metadata_->Start().ok());
  std::set<std::string> existing = Existing();
  EXPECT_EQ(Lost(acked, existing), 0u) << "of " << acked.created.size() << " acknowledged writes";
  EXPECT_GT(acked.deleted.size(), 0u);
  EXPECT_TRUE(metadata_->Terminate().ok()) << metadata_->LogTail();
}

}  // namespace
}  // namespace berth::integration
