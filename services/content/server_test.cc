// The wire side of the content service: what only a raw client can exercise (malformed input,
// the Read stream, the fd hand-over, the Write protocol, the lock's release on disconnect,
// events).
#include "services/content/server.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "berth/content/v1/content.berth.h"
#include "common/fs.h"
#include "services/content/content_test_util.h"

namespace berth::content {
namespace {

using testing::Backend;
using ::testing::HasSubstr;
using testing::RandomBytes;
using testing::Sha256;

class ContentServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>(TempDir::Create("b-srv").value());
    harness_ = std::make_unique<testing::StoreHarness>(Backend::kProxy, dir_->Join("content"));
    client_ = std::make_unique<ipc::Client>(harness_->socket());
    stub_ = std::make_unique<v1::ContentClient>(*client_);
  }
  void TearDown() override {
    stub_.reset();
    client_.reset();
    harness_.reset();
  }
  Digest Put(std::string_view data) {
    Digest digest = Sha256(data);
    EXPECT_TRUE(WriteBlob(harness_->local(), "put", data, digest).ok());
    return digest;
  }
  ipc::CallOptions Ns(std::string ns = "") {
    ipc::CallOptions options;
    options.ns = std::move(ns);
    return options;
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<testing::StoreHarness> harness_;
  std::unique_ptr<ipc::Client> client_;
  std::unique_ptr<v1::ContentClient> stub_;
};

TEST_F(ContentServerTest, DigestsWithPathsAreInvalidArgumentNeverPaths) {
  Put("something");
  std::vector<std::string> bads = {"sha256:../../../../etc/passwd",
                                   "sha256/../../x",
                                   "",
                                   "sha256:",
                                   "../blobs/sha256/" + std::string(64, 'a'),
                                   "sha256:" + std::string(63, 'a') + "/",
                                   "SHA256:" + std::string(64, 'a')};
  for (const std::string& bad : bads) {
    v1::InfoRequest info;
    info.set_digest(bad);
    EXPECT_EQ(stub_->Info(info).status().code(), Code::kInvalidArgument) << bad;
    v1::DeleteContentRequest del;
    del.set_digest(bad);
    EXPECT_EQ(stub_->Delete(del).status().code(), Code::kInvalidArgument) << bad;
    v1::ReadFdRequest fd;
    fd.set_digest(bad);
    EXPECT_EQ(stub_->ReadFd(fd).status().code(), Code::kInvalidArgument) << bad;
    v1::ReadContentRequest read;
    read.set_digest(bad);
    auto stream = stub_->Read(read);
    EXPECT_EQ(stream.Recv().status().code(), Code::kInvalidArgument) << bad;
    v1::UpdateRequest update;
    update.mutable_info()->set_digest(bad);
    EXPECT_EQ(stub_->Update(update).status().code(), Code::kInvalidArgument) << bad;

    if (bad.empty()) continue;  // an empty expected digest is "unknown", which is fine
    auto write = stub_->Write();
    v1::WriteContentRequest open;
    open.set_ref("r");
    open.set_expected(bad);
    ASSERT_TRUE(write.Send(open).ok());
    auto answer = write.Recv();
    EXPECT_EQ(answer.status().code(), Code::kInvalidArgument) << bad;

    // COMMIT's own `expected`, sent raw (the Proxy would refuse it before sending), on a ref
    // opened without one.
    auto commit_stream = stub_->Write();
    v1::WriteContentRequest chunk;
    chunk.set_action(v1::WRITE);
    chunk.set_ref("commit-" + std::to_string(&bad - bads.data()));
    chunk.set_data("x");
    ASSERT_TRUE(commit_stream.Send(chunk).ok());
    auto written = commit_stream.Recv();
    ASSERT_TRUE(written.ok() && written->has_value()) << written.status().ToString();
    v1::WriteContentRequest commit;
    commit.set_action(v1::COMMIT);
    commit.set_offset(1);
    commit.set_expected(bad);
    ASSERT_TRUE(commit_stream.Send(commit).ok());
    EXPECT_EQ(commit_stream.Recv().status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_->Join("etc")));
  EXPECT_EQ(harness_->local().GetInfo(Sha256("x")).status().code(), Code::kNotFound);
  size_t blobs = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_->path())) {
    if (entry.is_regular_file() && entry.path().parent_path().filename() == "sha256" &&
        entry.path().parent_path().parent_path().filename() == "blobs") {
      ++blobs;
    }
  }
  EXPECT_EQ(blobs, 1u);  // only Put's
}

TEST_F(ContentServerTest, ReadStreamsTheRequestedRange) {
  std::string data = RandomBytes(3 * 1024 * 1024 + 5, 11);
  Digest digest = Put(data);
  auto read_range = [&](int64_t offset, int64_t size) -> Result<std::string> {
    v1::ReadContentRequest request;
    request.set_digest(digest.ToString());
    request.set_offset(offset);
    request.set_size(size);
    auto stream = stub_->Read(request);
    std::string out;
    while (true) {
      BERTH_ASSIGN_OR_RETURN(auto chunk, stream.Recv());
      if (!chunk) return out;
      EXPECT_EQ(chunk->offset(), offset + static_cast<int64_t>(out.size()));
      out += chunk->data();
    }
  };
  EXPECT_EQ(read_range(0, 0).value(), data);
  EXPECT_EQ(read_range(100, 2500000).value(), data.substr(100, 2500000));
  EXPECT_EQ(read_range(data.size() - 10, 1000).value(), data.substr(data.size() - 10));
  EXPECT_EQ(read_range(data.size(), 0).value(), "");
  EXPECT_EQ(read_range(data.size() + 1, 0).status().code(), Code::kOutOfRange);
  EXPECT_EQ(read_range(-1, 0).status().code(), Code::kInvalidArgument);
  v1::ReadContentRequest missing;
  missing.set_digest(Sha256("missing").ToString());
  EXPECT_EQ(stub_->Read(missing).Recv().status().code(), Code::kNotFound);
}

TEST_F(ContentServerTest, ReadFdHandsOverAReadOnlyFd) {
  std::string data = "fd contents";
  Digest digest = Put(data);
  v1::ReadFdRequest request;
  request.set_digest(digest.ToString());
  auto reply =
      client_->Call(v1::ContentService::kServiceName, "ReadFd", ipc::SerializeMessage(request));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ASSERT_EQ(reply->fds.size(), 1u);
  int fd = reply->fds[0].get();
  EXPECT_EQ(::fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
  EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(::write(fd, "x", 1), -1);
  char buffer[64];
  ssize_t n = ::pread(fd, buffer, sizeof(buffer), 0);
  EXPECT_EQ(std::string(buffer, n > 0 ? n : 0), data);
  EXPECT_EQ(ipc::ParseMessage<v1::ReadFdResponse>(reply->payload)->size(),
            static_cast<int64_t>(data.size()));
}

TEST_F(ContentServerTest, DeletePublishesAnEvent) {
  Digest digest = Put("doomed");
  v1::DeleteContentRequest request;
  request.set_digest(digest.ToString());
  ASSERT_TRUE(stub_->Delete(request, Ns("team-a")).ok());
  auto events = harness_->events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].topic, "/content/delete");
  EXPECT_EQ(events[0].ns, "team-a");
  EXPECT_EQ(events[0].digest, digest.ToString());
  EXPECT_EQ(stub_->Delete(request).status().code(), Code::kNotFound);
  EXPECT_EQ(harness_->events().size(), 1u);  // a failed delete publishes nothing
}

TEST_F(ContentServerTest, WriteProtocol) {
  auto stream = stub_->Write();
  v1::WriteContentRequest message;
  message.set_action(v1::WRITE);
  message.set_data("no ref");
  ASSERT_TRUE(stream.Send(message).ok());
  EXPECT_EQ(stream.Recv().status().code(), Code::kInvalidArgument);

  std::string data = "hello, content";
  Digest digest = Sha256(data);
  auto write = stub_->Write();
  v1::WriteContentRequest stat;
  stat.set_action(v1::STAT);
  stat.set_ref("proto");
  stat.set_total(static_cast<int64_t>(data.size()));
  ASSERT_TRUE(write.Send(stat).ok());
  auto answer = write.Recv();
  ASSERT_TRUE(answer.ok() && answer->has_value()) << answer.status().ToString();
  EXPECT_EQ((*answer)->action(), v1::STAT);
  EXPECT_EQ((*answer)->offset(), 0);
  EXPECT_EQ((*answer)->total(), static_cast<int64_t>(data.size()));
  EXPECT_EQ((*answer)->digest(), Sha256("").ToString());

  v1::WriteContentRequest chunk;
  chunk.set_action(v1::WRITE);
  chunk.set_offset(0);
  chunk.set_data(data.substr(0, 5));
  ASSERT_TRUE(write.Send(chunk).ok());
  answer = write.Recv();
  ASSERT_TRUE(answer.ok() && answer->has_value());
  EXPECT_EQ((*answer)->offset(), 5);

  v1::WriteContentRequest commit;
  commit.set_action(v1::COMMIT);
  commit.set_offset(5);
  commit.set_data(data.substr(5));
  commit.set_total(static_cast<int64_t>(data.size()));
  commit.set_expected(digest.ToString());
  (*commit.mutable_labels())["from"] = "commit";
  ASSERT_TRUE(write.Send(commit).ok());
  answer = write.Recv();
  ASSERT_TRUE(answer.ok() && answer->has_value()) << answer.status().ToString();
  EXPECT_EQ((*answer)->action(), v1::COMMIT);
  EXPECT_EQ((*answer)->digest(), digest.ToString());
  EXPECT_EQ(harness_->local().GetInfo(digest)->labels.at("from"), "commit");
  ASSERT_TRUE(write.CloseSend().ok());
  EXPECT_FALSE(write.Recv().value().has_value());  // the server ends the stream cleanly
}

TEST_F(ContentServerTest, WriteBeyondTheOffsetIsOutOfRange) {
  auto write = stub_->Write();
  v1::WriteContentRequest chunk;
  chunk.set_action(v1::WRITE);
  chunk.set_ref("gap");
  chunk.set_offset(10);
  chunk.set_data("x");
  ASSERT_TRUE(write.Send(chunk).ok());
  auto answer = write.Recv();
  EXPECT_EQ(answer.status().code(), Code::kOutOfRange);
  EXPECT_THAT(answer.status().message(), HasSubstr("status"));
}

// The source fd of a Write stream, as a raw client sends it: one fd with the Request frame.
TEST_F(ContentServerTest, WriteSourceMustBeOneReadableRegularFile) {
  auto open_with = [&](std::vector<UniqueFd> fds, v1::WriteContentRequest message) {
    ipc::CallOptions options;
    options.fds = std::move(fds);
    ipc::TypedStream<v1::WriteContentRequest, v1::WriteContentResponse> stream(client_->OpenStream(
        v1::ContentService::kServiceName, "Write", "", ipc::StreamKind::kBidi, std::move(options)));
    EXPECT_TRUE(stream.Send(message).ok());
    return stream.Recv();
  };
  v1::WriteContentRequest stat;
  stat.set_ref("sourced");
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  std::vector<UniqueFd> pipe;
  pipe.emplace_back(pipe_fds[0]);
  UniqueFd pipe_write(pipe_fds[1]);
  auto refused = open_with(std::move(pipe), stat);
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("regular file"));

  std::string file = dir_->Join("source");
  ASSERT_TRUE(WriteFileAtomic(file, "source bytes").ok());
  std::vector<UniqueFd> two;
  two.emplace_back(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  two.emplace_back(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_EQ(open_with(std::move(two), stat).status().code(), Code::kInvalidArgument);

  v1::WriteContentRequest copy;
  copy.set_ref("sourced");
  copy.set_action(v1::COPY);
  copy.set_size(1);
  auto no_source = open_with({}, copy);
  EXPECT_EQ(no_source.status().code(), Code::kFailedPrecondition);

  std::vector<UniqueFd> one;
  one.emplace_back(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  copy.set_source_offset(7);
  copy.set_size(5);
  auto copied = open_with(std::move(one), copy);
  ASSERT_TRUE(copied.ok() && copied->has_value()) << copied.status().ToString();
  EXPECT_EQ((*copied)->action(), v1::COPY);
  EXPECT_EQ((*copied)->offset(), 5);
  EXPECT_EQ(harness_->local().GetStatus("sourced")->offset, 5u);
  EXPECT_EQ(harness_->local().ListStatuses()->size(), 1u);
}

TEST_F(ContentServerTest, RefLockIsReleasedWhenTheWriterDisconnects) {
  auto first_client = std::make_unique<ipc::Client>(harness_->socket());
  v1::ContentClient first(*first_client);
  auto holder = first.Write();
  v1::WriteContentRequest open;
  open.set_action(v1::WRITE);
  open.set_ref("held");
  open.set_data("partial");
  ASSERT_TRUE(holder.Send(open).ok());
  ASSERT_TRUE(holder.Recv().ok());

  auto second = stub_->Write();
  v1::WriteContentRequest stat;
  stat.set_ref("held");
  ASSERT_TRUE(second.Send(stat).ok());
  auto refused = second.Recv();
  EXPECT_EQ(refused.status().code(), Code::kUnavailable);
  EXPECT_THAT(refused.status().message(), HasSubstr("ref locked"));

  first_client.reset();  // the connection drops without closing the stream
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  Result<std::optional<v1::WriteContentResponse>> answer = Status(Code::kUnknown, "not tried");
  while (std::chrono::steady_clock::now() < deadline) {
    auto retry = stub_->Write();
    ASSERT_TRUE(retry.Send(stat).ok());
    answer = retry.Recv();
    if (answer.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->offset(), 7);  // resumes what the first writer left
}

}  // namespace
}  // namespace berth::content
