// The conformance suite of the content interface (content.h): every test runs against the
// LocalStore directly and through Proxy -> IPC -> ContentServer -> LocalStore.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "services/content/conformance_fixture.h"

namespace berth::content {
namespace {

using testing::Backend;
using ::testing::HasSubstr;
using testing::RandomBytes;
using testing::Sha256;
using ::testing::UnorderedElementsAre;

class ContentConformance : public testing::ConformanceFixture {};

TEST_P(ContentConformance, WriteThenReadBack) {
  std::string data = RandomBytes(3 * 1024 * 1024 + 17, 1);  // several chunks through IPC
  Digest digest = Sha256(data);
  auto writer = store().OpenWriter({.ref = "w1", .total = data.size(), .expected = digest});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(0, 1000)).ok());
  ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(1000)).ok());
  EXPECT_EQ((*writer)->CurrentDigest().value(), digest);
  ASSERT_TRUE((*writer)->Commit(data.size(), digest).ok());
  EXPECT_EQ((*writer)->Write("more").code(), Code::kFailedPrecondition);
  writer->reset();

  auto info = store().GetInfo(digest);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->digest, digest);
  EXPECT_EQ(info->size, data.size());
  EXPECT_GT(info->created_at, 0);
  EXPECT_EQ(ReadBlob(store(), digest).value(), data);

  auto reader = store().OpenReader(digest);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->Size(), data.size());
  char buffer[10];
  EXPECT_EQ((*reader)->ReadAt(5, buffer, sizeof(buffer)).value(), 10u);
  EXPECT_EQ(std::string(buffer, 10), data.substr(5, 10));
  EXPECT_EQ((*reader)->ReadAt(data.size() - 3, buffer, sizeof(buffer)).value(), 3u);
  EXPECT_EQ((*reader)->ReadAt(data.size() + 5, buffer, sizeof(buffer)).value(), 0u);
  EXPECT_EQ(store().GetStatus("w1").status().code(), Code::kNotFound);  // ingest gone
  EXPECT_EQ(FilesUnder("ingest"), 0u);
}

TEST_P(ContentConformance, EmptyBlob) {
  Digest digest = Put("");
  EXPECT_EQ(store().GetInfo(digest)->size, 0u);
  EXPECT_EQ(ReadBlob(store(), digest).value(), "");
}

TEST_P(ContentConformance, MissingContentIsNotFound) {
  Digest absent = Sha256("absent");
  EXPECT_EQ(store().GetInfo(absent).status().code(), Code::kNotFound);
  EXPECT_EQ(store().OpenReader(absent).status().code(), Code::kNotFound);
  EXPECT_EQ(store().Delete(absent).code(), Code::kNotFound);
  EXPECT_EQ(store().Update({.digest = absent}, {}).status().code(), Code::kNotFound);
  EXPECT_EQ(store().GetStatus("no-such-ref").status().code(), Code::kNotFound);
  EXPECT_EQ(store().Abort("no-such-ref").code(), Code::kNotFound);
}

TEST_P(ContentConformance, WrongExpectedDigestCommitsNothing) {
  std::string data = "the real bytes";
  Digest wrong = Sha256("other bytes");
  auto writer = store().OpenWriter({.ref = "wrong-digest"});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write(data).ok());
  Status commit = (*writer)->Commit(data.size(), wrong);
  EXPECT_EQ(commit.code(), Code::kFailedPrecondition);
  EXPECT_THAT(commit.message(), HasSubstr(wrong.ToString()));
  EXPECT_THAT(commit.message(), HasSubstr(Sha256(data).ToString()));
  writer->reset();
  EXPECT_EQ(store().GetInfo(wrong).status().code(), Code::kNotFound);
  EXPECT_EQ(store().GetInfo(Sha256(data)).status().code(), Code::kNotFound);
  EXPECT_EQ(FilesUnder("blobs"), 0u);
  // The ingest stays, with what was written.
  EXPECT_EQ(store().GetStatus("wrong-digest")->offset, data.size());
}

TEST_P(ContentConformance, ExpectedDigestFromOpenIsChecked) {
  auto writer = store().OpenWriter({.ref = "r", .expected = Sha256("abc")});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write("abd").ok());
  EXPECT_EQ((*writer)->Commit(0, {}).code(), Code::kFailedPrecondition);
  writer->reset();
  EXPECT_EQ(FilesUnder("blobs"), 0u);
}

TEST_P(ContentConformance, WrongSizeCommitsNothing) {
  std::string data = "twelve bytes";
  auto writer = store().OpenWriter({.ref = "wrong-size"});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write(data).ok());
  Status commit = (*writer)->Commit(data.size() + 1, Sha256(data));
  EXPECT_EQ(commit.code(), Code::kFailedPrecondition);
  EXPECT_THAT(commit.message(), HasSubstr("size"));
  writer->reset();
  EXPECT_EQ(store().GetInfo(Sha256(data)).status().code(), Code::kNotFound);
  EXPECT_EQ(FilesUnder("blobs"), 0u);
}

TEST_P(ContentConformance, MalformedDigestsAreInvalidArgument) {
  // A Digest built by hand bypasses ParseDigest: the store must still refuse it.
  Digest evil{"sha256", "../../../../etc/passwd"};
  Digest upper{"sha256", std::string(64, 'A')};
  Digest unknown{"md5", std::string(32, 'a')};
  for (const Digest& d : {evil, upper, unknown}) {
    EXPECT_EQ(store().GetInfo(d).status().code(), Code::kInvalidArgument) << d.ToString();
    EXPECT_EQ(store().OpenReader(d).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(store().Delete(d).code(), Code::kInvalidArgument);
    EXPECT_EQ(store().Update({.digest = d}, {}).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(store().OpenWriter({.ref = "x", .expected = d}).status().code(),
              Code::kInvalidArgument);
  }
  auto writer = store().OpenWriter({.ref = "evil-commit"});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write("x").ok());
  EXPECT_EQ((*writer)->Commit(1, evil).code(), Code::kInvalidArgument);
  writer->reset();
  EXPECT_FALSE(std::filesystem::exists(dir_->Join("etc")));
  EXPECT_EQ(FilesUnder("blobs"), 0u);
}

TEST_P(ContentConformance, BadRefsAndLabelsAreInvalidArgument) {
  EXPECT_EQ(store().OpenWriter({.ref = ""}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store().OpenWriter({.ref = std::string(kMaxRefSize + 1, 'r')}).status().code(),
            Code::kInvalidArgument);
  auto writer = store().OpenWriter({.ref = "labels"});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write("x").ok());
  EXPECT_EQ((*writer)->Commit(1, Sha256("x"), {{"", "v"}}).code(), Code::kInvalidArgument);
  writer->reset();
  Digest digest = Put("y");
  Info info{.digest = digest, .labels = {{"k", std::string(kMaxLabelSize, 'v')}}};
  EXPECT_EQ(store().Update(info, {"labels.k"}).status().code(), Code::kInvalidArgument);
}

TEST_P(ContentConformance, CommitOfExistingBlobSucceedsWithoutRewrite) {
  std::string data = "same bytes";
  Digest digest = Put(data, "first");
  struct stat before {};
  ASSERT_EQ(::stat(harness_->local().BlobPath(digest).c_str(), &before), 0);
  auto info_before = store().GetInfo(digest).value();

  // Another ref with no expected digest: only the commit can find out it exists.
  auto writer = store().OpenWriter({.ref = "second"});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write(data).ok());
  EXPECT_TRUE((*writer)->Commit(data.size(), digest, {{"added", "at-commit"}}).ok());
  writer->reset();

  struct stat after {};
  ASSERT_EQ(::stat(harness_->local().BlobPath(digest).c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  auto info_after = store().GetInfo(digest).value();
  EXPECT_EQ(info_after.created_at, info_before.created_at);
  EXPECT_EQ(info_after.labels.at("added"), "at-commit");
  EXPECT_EQ(store().GetStatus("second").status().code(), Code::kNotFound);
  // Opening a writer for content that exists says so up front.
  EXPECT_EQ(store().OpenWriter({.ref = "third", .expected = digest}).status().code(),
            Code::kAlreadyExists);
  EXPECT_TRUE(WriteBlob(store(), "fourth", data, digest).ok());  // idempotent helper
}

TEST_P(ContentConformance, LabelsAtCommitAndUpdate) {
  Digest digest = Put("labelled", "l", {{"a", "1"}, {"b", "2"}});
  EXPECT_EQ(store().GetInfo(digest)->labels, (Labels{{"a", "1"}, {"b", "2"}}));

  auto updated = store().Update({.digest = digest, .labels = {{"a", "10"}, {"c", "3"}}},
                                {"labels.a", "labels.b", "labels.c"});
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->labels, (Labels{{"a", "10"}, {"c", "3"}}));
  EXPECT_GE(updated->updated_at, updated->created_at);
  EXPECT_EQ(store().GetInfo(digest)->labels, updated->labels);

  updated = store().Update({.digest = digest, .labels = {{"only", "me"}}}, {"labels"});
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->labels, (Labels{{"only", "me"}}));
  updated = store().Update({.digest = digest}, {});
  ASSERT_TRUE(updated.ok());
  EXPECT_TRUE(updated->labels.empty());
  EXPECT_EQ(store().Update({.digest = digest}, {"size"}).status().code(), Code::kInvalidArgument);
}

TEST_P(ContentConformance, WalkWithFilters) {
  Digest a = Put("blob a", "a", {{"containerd.io/gc.root", "x"}, {"team", "red"}});
  Digest b = Put("blob b", "b", {{"team", "blue"}});
  Digest c = Put("blob c", "c");
  auto walk = [&](std::vector<std::string> filters) {
    std::vector<Digest> seen;
    Status status = store().Walk(
        [&](const Info& info) {
          seen.push_back(info.digest);
          return Status::Ok();
        },
        filters);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return seen;
  };
  EXPECT_THAT(walk({}), UnorderedElementsAre(a, b, c));
  EXPECT_THAT(walk({"digest==" + b.ToString()}), UnorderedElementsAre(b));
  EXPECT_THAT(walk({"labels.\"containerd.io/gc.root\""}), UnorderedElementsAre(a));
  EXPECT_THAT(walk({"labels.team==red", "labels.team==blue"}), UnorderedElementsAre(a, b));
  EXPECT_THAT(walk({"labels.team!=red"}), UnorderedElementsAre(b, c));
  EXPECT_THAT(walk({"labels.team~=^bl,size==6"}), UnorderedElementsAre(b));
  Status bad = store().Walk([](const Info&) { return Status::Ok(); }, {"labels.=="});
  EXPECT_EQ(bad.code(), Code::kInvalidArgument);
  // A callback error stops the walk and comes back.
  int calls = 0;
  Status stopped = store().Walk([&](const Info&) {
    ++calls;
    return Status(Code::kCancelled, "enough");
  });
  EXPECT_EQ(stopped.code(), Code::kCancelled);
  EXPECT_EQ(calls, 1);
}

TEST_P(ContentConformance, DeleteKeepsOpenReadersWorking) {
  std::string data = "to be deleted";
  Digest digest = Put(data);
  auto reader = store().OpenReader(digest);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(store().Delete(digest).ok());
  EXPECT_EQ(store().GetInfo(digest).status().code(), Code::kNotFound);
  EXPECT_EQ(store().Delete(digest).code(), Code::kNotFound);
  std::string back(data.size(), '\0');
  EXPECT_EQ((*reader)->ReadAt(0, back.data(), back.size()).value(), data.size());
  EXPECT_EQ(back, data);
  EXPECT_EQ(FilesUnder("blobs") + FilesUnder("labels"), 0u);
}

TEST_P(ContentConformance, ResumeAfterWriterGoesAway) {
  std::string data = RandomBytes(5 * 1024 * 1024, 2);
  Digest digest = Sha256(data);
  size_t half = data.size() / 2 + 3;
  {
    auto writer = store().OpenWriter({.ref = "resume", .total = data.size(), .expected = digest});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(0, half)).ok());
    auto status = (*writer)->GetStatus();
    ASSERT_TRUE(status.ok());
    EXPECT_EQ(status->offset, half);
  }  // the writer disconnects without committing
  auto status = store().GetStatus("resume");
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(status->offset, half);
  EXPECT_EQ(status->total, data.size());
  EXPECT_EQ(status->expected, digest);
  EXPECT_GT(status->started_at, 0);

  auto writer = store().OpenWriter({.ref = "resume"});  // resumes without restating anything
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  auto resumed = (*writer)->GetStatus();
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->offset, half);
  EXPECT_EQ(resumed->expected, digest);
  ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(resumed->offset)).ok());
  ASSERT_TRUE((*writer)->Commit(data.size(), {}).ok());
  EXPECT_EQ(ReadBlob(store(), digest).value(), data);
}

TEST_P(ContentConformance, ResumeWithConflictingExpectationsFails) {
  {
    auto writer = store().OpenWriter({.ref = "conflict", .total = 5, .expected = Sha256("12345")});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write("12").ok());
  }
  EXPECT_EQ(store().OpenWriter({.ref = "conflict", .expected = Sha256("other")}).status().code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(store().OpenWriter({.ref = "conflict", .total = 6}).status().code(),
            Code::kFailedPrecondition);
}

TEST_P(ContentConformance, OneWriterPerRef) {
  auto first = store().OpenWriter({.ref = "locked"});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->Write("abc").ok());
  auto second = store().OpenWriter({.ref = "locked"});
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr("ref locked"));
  EXPECT_EQ(store().Abort("locked").code(), Code::kUnavailable);
  // Other refs are not affected.
  EXPECT_TRUE(store().OpenWriter({.ref = "other"}).ok());
  first->reset();
  auto third = store().OpenWriter({.ref = "locked"});
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ((*third)->GetStatus()->offset, 3u);
}

TEST_P(ContentConformance, ConcurrentWritersOnOneRef) {
  // Many threads race for one ref: at every moment at most one holds it, and every attempt
  // either gets the lock or UNAVAILABLE.
  std::atomic<int> holders{0};
  std::atomic<int> max_holders{0};
  std::atomic<int> got{0};
  std::atomic<int> refused{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto writer = store().OpenWriter({.ref = "contended"});
        if (!writer.ok()) {
          (writer.status().code() == Code::kUnavailable ? refused : other)++;
          continue;
        }
        int now = ++holders;
        int seen = max_holders.load();
        while (now > seen && !max_holders.compare_exchange_weak(seen, now)) {
        }
        got++;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        --holders;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(max_holders.load(), 1);
  EXPECT_GT(got.load(), 0);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(got.load() + refused.load(), 120);
}

TEST_P(ContentConformance, ConcurrentWritersOfOneBlobUnderDifferentRefs) {
  std::string data = RandomBytes(4 * 1024 * 1024 + 1, 3);
  Digest digest = Sha256(data);
  std::vector<std::thread> threads;
  std::vector<Status> results(6);
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      auto writer = store().OpenWriter({.ref = "same-blob-" + std::to_string(t)});
      if (!writer.ok()) {
        results[t] = writer.status();
        return;
      }
      for (size_t off = 0; off < data.size(); off += 300000) {
        Status s = (*writer)->Write(std::string_view(data).substr(off, 300000));
        if (!s.ok()) {
          results[t] = s;
          return;
        }
      }
      results[t] = (*writer)->Commit(data.size(), digest, {{"writer", std::to_string(t)}});
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < 6; ++t) EXPECT_TRUE(results[t].ok()) << t << ": " << results[t].ToString();
  EXPECT_EQ(ReadBlob(store(), digest).value(), data);
  EXPECT_EQ(FilesUnder("blobs"), 1u);
  EXPECT_EQ(FilesUnder("ingest"), 0u);
  EXPECT_TRUE(store().ListStatuses()->empty());
  // The labels of every commit were kept (same key: one of them wins).
  EXPECT_EQ(store().GetInfo(digest)->labels.count("writer"), 1u);
}

TEST_P(ContentConformance, ListStatusesAndAbort) {
  for (const char* ref : {"pull-a", "pull-b", "push-c"}) {
    auto writer = store().OpenWriter({.ref = ref, .total = 100});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(ref).ok());
  }
  auto all = store().ListStatuses();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  auto pulls = store().ListStatuses({"ref~=^pull-"});
  ASSERT_TRUE(pulls.ok());
  ASSERT_EQ(pulls->size(), 2u);
  for (const auto& status : *pulls) {
    EXPECT_EQ(status.offset, 6u);
    EXPECT_EQ(status.total, 100u);
  }
  EXPECT_EQ(store().ListStatuses({"ref=="}).status().code(), Code::kOk);
  EXPECT_EQ(store().ListStatuses({"=="}).status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(store().Abort("pull-a").ok());
  EXPECT_EQ(store().GetStatus("pull-a").status().code(), Code::kNotFound);
  EXPECT_EQ(store().ListStatuses()->size(), 2u);
  EXPECT_EQ(store().Abort("pull-a").code(), Code::kNotFound);
}

TEST_P(ContentConformance, TruncateRestartsTheHash) {
  auto writer = store().OpenWriter({.ref = "trunc"});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write("garbage garbage").ok());
  EXPECT_EQ((*writer)->Truncate(100).code(), Code::kOutOfRange);
  ASSERT_TRUE((*writer)->Truncate(7).ok());  // keep "garbage"
  EXPECT_EQ((*writer)->GetStatus()->offset, 7u);
  EXPECT_EQ((*writer)->CurrentDigest().value(), Sha256("garbage"));
  ASSERT_TRUE((*writer)->Truncate(0).ok());
  ASSERT_TRUE((*writer)->Write("good").ok());
  ASSERT_TRUE((*writer)->Commit(4, Sha256("good")).ok());
  EXPECT_EQ(ReadBlob(store(), Sha256("good")).value(), "good");
}

TEST_P(ContentConformance, Sha512IsAccepted) {
  std::string data = "sha512 content";
  Digest digest = DigestBytes(data, kSha512).value();
  auto writer = store().OpenWriter({.ref = "512", .expected = digest});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write(data).ok());
  EXPECT_EQ((*writer)->CurrentDigest().value(), digest);
  ASSERT_TRUE((*writer)->Commit(data.size(), digest).ok());
  writer->reset();
  EXPECT_EQ(store().GetInfo(digest)->size, data.size());
  EXPECT_EQ(ReadBlob(store(), digest).value(), data);
  EXPECT_TRUE(std::filesystem::exists(root() + "/blobs/sha512/" + digest.hex));
}

TEST_P(ContentConformance, CheckFindsFlippedBlob) {
  Digest good = Put("good blob", "g");
  Digest bad = Put("bad blob!", "b");
  std::string path = harness_->local().BlobPath(bad);
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    ASSERT_EQ(::pwrite(fd.get(), "B", 1, 0), 1);  // same size, one byte flipped
  }
  auto results = CheckBlobs(store(), {});
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), 2u);
  for (const auto& r : *results) {
    if (r.digest == good) {
      EXPECT_TRUE(r.status.ok()) << r.status.ToString();
    } else {
      EXPECT_EQ(r.digest, bad);
      EXPECT_EQ(r.status.code(), Code::kDataLoss);
      EXPECT_EQ(r.actual, Sha256("Bad blob!"));
    }
  }
  auto named = CheckBlobs(store(), {good});
  ASSERT_TRUE(named.ok());
  ASSERT_EQ(named->size(), 1u);
  EXPECT_TRUE((*named)[0].status.ok());
}

BERTH_CONTENT_CONFORMANCE(ContentConformance);

}  // namespace
}  // namespace berth::content
