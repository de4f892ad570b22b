#pragma once
// Test helpers for the content store: a Store under test, either the LocalStore itself or a Proxy
// talking over a real socket to a ContentServer in front of a LocalStore (on its own loop
// thread), plus deterministic test data.

#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "ipc/client.h"
#include "ipc/event_loop.h"
#include "ipc/server.h"
#include "services/content/local_store.h"
#include "services/content/proxy.h"
#include "services/content/server.h"

namespace berth::content::testing {

enum class Backend { kLocal, kProxy };

inline std::string BackendName(Backend backend) {
  return backend == Backend::kLocal ? "Local" : "Proxy";
}

// Pseudo-random bytes, the same for the same seed.
inline std::string RandomBytes(size_t size, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  for (; i < size; ++i) out[i] = static_cast<char>(rng());
  return out;
}

inline Digest Sha256(std::string_view data) { return DigestBytes(data).value(); }

struct PublishedEvent {
  std::string ns;
  std::string topic;
  std::string digest;
};

// The store under test. For kProxy: LocalStore <- ContentServer <- socket <- Client <- Proxy.
class StoreHarness {
 public:
  StoreHarness(Backend backend, const std::string& root) : backend_(backend) {
    local_ = LocalStore::Open(root).value();
    if (backend == Backend::kLocal) return;
    sockets_ = std::make_unique<TempDir>(TempDir::Create("b-cs").value());
    loop_ = std::make_unique<ipc::EventLoop>();
    loop_->StartThread();
    std::promise<Status> listening;
    loop_->Post([this, &listening] {
      server_ = std::make_unique<ipc::Server>(*loop_);
      content_ = std::make_unique<ContentServer>(
          *loop_, *local_,
          [this](const std::string& ns, const std::string& topic,
                 const google::protobuf::Message& event) {
            std::lock_guard lock(mutex_);
            events_.push_back({ns, topic, static_cast<const v1::ContentDelete&>(event).digest()});
          });
      content_->RegisterWith(*server_);
      listening.set_value(server_->Listen(socket()));
    });
    Status status = listening.get_future().get();
    if (!status.ok()) std::abort();
    client_ = std::make_unique<ipc::Client>(socket());
    proxy_ = std::make_unique<Proxy>(*client_, ProxyOptions{.ns = "testns"});
  }

  ~StoreHarness() {
    proxy_.reset();
    client_.reset();
    if (loop_) {
      std::promise<void> closed;
      loop_->Post([this, &closed] {
        server_.reset();
        content_.reset();
        closed.set_value();
      });
      closed.get_future().wait();
      loop_.reset();
    }
  }

  Store& store() { return backend_ == Backend::kLocal ? static_cast<Store&>(*local_) : *proxy_; }
  LocalStore& local() { return *local_; }
  std::string socket() const { return sockets_ ? sockets_->Join("c.sock") : ""; }
  std::vector<PublishedEvent> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  Backend backend_;
  std::unique_ptr<LocalStore> local_;
  std::unique_ptr<TempDir> sockets_;
  std::unique_ptr<ipc::EventLoop> loop_;
  std::unique_ptr<ipc::Server> server_;
  std::unique_ptr<ContentServer> content_;
  std::unique_ptr<ipc::Client> client_;
  std::unique_ptr<Proxy> proxy_;
  std::mutex mutex_;
  std::vector<PublishedEvent> events_;
};

}  // namespace berth::content::testing
