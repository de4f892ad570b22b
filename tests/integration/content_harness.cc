#include "tests/integration/content_harness.h"

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

#include "berth/metadata/v1/leases.berth.h"
#include "common/fs.h"

namespace berth::integration {

std::string ContentBuildPath(const std::string& relative) {
  const char* dir = std::getenv("BERTH_BUILD_DIR");
  return dir == nullptr ? "" : std::string(dir) + "/" + relative;
}

BlobsWatcher::BlobsWatcher(std::string blobs, Digest expected, uint64_t size)
    : blobs_(std::move(blobs)), expected_(std::move(expected)), size_(size) {
  thread_ = std::thread([this] { Run(); });
}

void BlobsWatcher::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void BlobsWatcher::Run() {
  while (!stop_) {
    std::error_code ec;
    for (auto& e : std::filesystem::recursive_directory_iterator(blobs_, ec)) {
      if (e.is_directory()) continue;
      std::string name = e.path().filename().string();
      std::error_code size_ec;
      uint64_t size = std::filesystem::file_size(e.path(), size_ec);
      if (violation_.empty() && (name != expected_.hex || (!size_ec && size != size_))) {
        violation_ = e.path().string() + " with " + std::to_string(size) + " bytes";
      }
    }
    ++scans_;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

ContentServiceHarness::ContentServiceHarness() : dir_(TempDir::Create("b").value()) {
  root_ = dir_.Join("root");
  state_ = dir_.Join("state");
  (void)MakeDirs(root_, 0711);
  (void)MakeDirs(state_, 0700);
  client_ = std::make_unique<ipc::Client>(socket(), ipc::ClientOptions{.connect_timeout = 10s});
  proxy_ = std::make_unique<content::Proxy>(*client_, content::ProxyOptions{.ns = "default"});
}

ContentServiceHarness::~ContentServiceHarness() {
  proxy_.reset();
  client_.reset();
  (void)Kill9();
}

Status ContentServiceHarness::Start(std::vector<std::string> extra_flags,
                                    std::chrono::milliseconds timeout) {
  std::string binary = ContentBuildPath("services/content/berth-content");
  if (binary.empty() || !std::filesystem::exists(binary)) {
    return Error(Code::kNotFound, "berth-content not found at \"{}\" (set BERTH_BUILD_DIR)",
                 binary);
  }
  SpawnOptions options;
  options.argv = {binary,     "--root", root_,         "--state", state_,
                  "--berthd", "none",   "--log-level", "warn"};
  for (auto& flag : extra_flags) options.argv.push_back(std::move(flag));
  options.stdin_fd = SpawnOptions::kDevNull;
  BERTH_ASSIGN_OR_RETURN(process_, ChildProcess::Spawn(options));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto exited = process_.TryWait();
    if (exited.ok() && exited->has_value()) {
      return Error(Code::kInternal, "berth-content exited at start: {}", (*exited)->ToString());
    }
    // Any answer from the store (NOT_FOUND for a ref nobody wrote) means it serves.
    Status probe = Status(Code::kUnavailable, "no socket yet");
    if (std::filesystem::exists(socket())) probe = proxy_->GetStatus("harness-probe").status();
    if (probe.ok() || probe.code() == Code::kNotFound) return Status::Ok();
    if (std::chrono::steady_clock::now() > deadline) {
      return Error(Code::kDeadlineExceeded, "berth-content did not answer: {}", probe.ToString());
    }
    std::this_thread::sleep_for(20ms);
  }
}

Status ContentServiceHarness::Kill9() {
  if (process_.pid() < 0 || process_.exit_status()) return Status::Ok();
  (void)process_.Kill(SIGKILL);
  return process_.Wait().status();
}

Result<ExitStatus> ContentServiceHarness::Terminate(std::chrono::milliseconds timeout) {
  BERTH_RETURN_IF_ERROR(process_.Kill(SIGTERM));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    BERTH_ASSIGN_OR_RETURN(auto exited, process_.TryWait());
    if (exited) return *exited;
    std::this_thread::sleep_for(10ms);
  }
  (void)Kill9();
  return Status(Code::kDeadlineExceeded, "berth-content did not stop on SIGTERM");
}

namespace mv1 = ::berth::metadata::v1;

class FakeLeasedIngests::Service : public mv1::LeasesService {
 public:
  explicit Service(FakeLeasedIngests& fake) : fake_(fake) {}
  void Create(const mv1::CreateLeaseRequest&, ipc::Reply<mv1::CreateLeaseResponse> r) override {
    r.Fail(Unimplemented());
  }
  void Delete(const mv1::DeleteLeaseRequest&, ipc::Reply<mv1::DeleteLeaseResponse> r) override {
    r.Fail(Unimplemented());
  }
  void List(const mv1::ListLeasesRequest&, ipc::Reply<mv1::ListLeasesResponse> r) override {
    r.Fail(Unimplemented());
  }
  void AddResource(const mv1::AddLeaseResourceRequest&,
                   ipc::Reply<mv1::AddLeaseResourceResponse> r) override {
    r.Fail(Unimplemented());
  }
  void DeleteResource(const mv1::DeleteLeaseResourceRequest&,
                      ipc::Reply<mv1::DeleteLeaseResourceResponse> r) override {
    r.Fail(Unimplemented());
  }
  void ListResources(const mv1::ListLeaseResourcesRequest&,
                     ipc::Reply<mv1::ListLeaseResourcesResponse> r) override {
    r.Fail(Unimplemented());
  }
  void ListLeasedIngests(const mv1::ListLeasedIngestsRequest&,
                         ipc::ServerWriter<mv1::ListLeasedIngestsResponse> writer) override {
    mv1::ListLeasedIngestsResponse response;
    {
      std::lock_guard lock(fake_.mutex_);
      for (const auto& ref : fake_.leased_) response.add_refs(ref);
    }
    ++fake_.asked_;
    writer.Send(response);
    writer.Close();
  }

 private:
  static Status Unimplemented() { return Status(Code::kUnimplemented, "fake"); }
  FakeLeasedIngests& fake_;
};

FakeLeasedIngests::FakeLeasedIngests(std::string socket) : socket_(std::move(socket)) {}

FakeLeasedIngests::~FakeLeasedIngests() {
  if (!loop_) return;
  std::promise<void> closed;
  loop_->Post([this, &closed] {
    server_.reset();
    closed.set_value();
  });
  closed.get_future().wait();
  loop_.reset();
}

Status FakeLeasedIngests::Listen() {
  loop_ = std::make_unique<ipc::EventLoop>();
  loop_->StartThread();
  service_ = std::make_unique<Service>(*this);
  std::promise<Status> listening;
  loop_->Post([this, &listening] {
    server_ = std::make_unique<ipc::Server>(*loop_);
    service_->RegisterWith(*server_);
    listening.set_value(server_->Listen(socket_));
  });
  return listening.get_future().get();
}

void FakeLeasedIngests::SetLeased(std::set<std::string> refs) {
  std::lock_guard lock(mutex_);
  leased_ = std::move(refs);
}

}  // namespace berth::integration
