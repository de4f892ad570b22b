// berthctl content against a real berth-content: ingest (with a wrong digest, and resuming),
// ls, info, get, label, active, abort, rm and check (finding a blob flipped on disk).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "common/fs.h"
#include "tests/integration/content_harness.h"

namespace berth::integration {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ContentCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    berthctl_ = ContentBuildPath("cli/berthctl");
    ASSERT_TRUE(std::filesystem::exists(berthctl_)) << "berthctl not built at " << berthctl_;
    ASSERT_TRUE(service_.Start().ok());
    files_ = std::make_unique<TempDir>(TempDir::Create("b-cli").value());
  }

  // berthctl --state <state> <args...>; stdout on exit 0, else the error with stderr's tail.
  Result<std::string> Ctl(std::vector<std::string> args, std::string_view stdin_data = {}) {
    std::vector<std::string> argv = {berthctl_, "--state", service_.state()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCapture(argv, stdin_data, std::chrono::seconds(60));
  }
  // The same through sh, with stdin redirected from `file` (a seekable stdin).
  Result<std::string> CtlFromFile(const std::string& args, const std::string& file) {
    return RunCapture(
        {"sh", "-c", berthctl_ + " --state " + service_.state() + " " + args + " < " + file}, {},
        std::chrono::seconds(60));
  }
  std::string WriteInput(const std::string& name, const std::string& data) {
    std::string path = files_->Join(name);
    EXPECT_TRUE(WriteFileAtomic(path, data).ok());
    return path;
  }

  std::string berthctl_;
  ContentServiceHarness service_;
  std::unique_ptr<TempDir> files_;
};

TEST_F(ContentCliTest, IngestListInfoGetLabelRemove) {
  std::string data(3 << 20, 'x');
  data += "tail";
  Digest digest = DigestBytes(data).value();
  std::string file = WriteInput("blob", data);

  auto ingested = CtlFromFile(
      "content ingest --expected " + digest.ToString() + " --label team=red my-ref", file);
  ASSERT_TRUE(ingested.ok()) << ingested.status().ToString();
  EXPECT_EQ(*ingested, digest.ToString() + "\n");

  auto ls = Ctl({"content", "ls"});
  ASSERT_TRUE(ls.ok()) << ls.status().ToString();
  EXPECT_THAT(*ls, HasSubstr("DIGEST"));
  EXPECT_THAT(*ls, HasSubstr(digest.ToString()));
  EXPECT_THAT(*ls, HasSubstr("team=red"));
  auto json = Ctl({"--format", "json", "content", "ls", "labels.team==red"});
  ASSERT_TRUE(json.ok());
  auto parsed = nlohmann::json::parse(*json);
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0]["digest"], digest.ToString());
  EXPECT_EQ(parsed[0]["size"], data.size());
  EXPECT_EQ(
      nlohmann::json::parse(Ctl({"--format", "json", "content", "ls", "labels.team==blue"}).value())
          .size(),
      0u);

  auto info = Ctl({"content", "info", digest.ToString()});
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(nlohmann::json::parse(*info)["labels"]["team"], "red");

  auto got = Ctl({"content", "get", digest.ToString()});
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == data) << "get returned " << got->size() << " bytes";
  auto piped = RunCapture({"sh", "-c",
                           berthctl_ + " --state " + service_.state() + " content get " +
                               digest.ToString() + " | sha256sum"},
                          {}, std::chrono::seconds(60));
  ASSERT_TRUE(piped.ok());
  EXPECT_THAT(*piped, HasSubstr(digest.hex));

  ASSERT_TRUE(Ctl({"content", "label", digest.ToString(), "team=", "tier=gold"}).ok());
  auto relabelled = nlohmann::json::parse(Ctl({"content", "info", digest.ToString()}).value());
  EXPECT_FALSE(relabelled["labels"].contains("team"));
  EXPECT_EQ(relabelled["labels"]["tier"], "gold");

  ASSERT_TRUE(Ctl({"content", "rm", digest.ToString()}).ok());
  EXPECT_THAT(Ctl({"content", "ls", "-q"}).value(), Not(HasSubstr(digest.hex)));
  auto gone = Ctl({"content", "get", digest.ToString()});
  EXPECT_FALSE(gone.ok());
  EXPECT_THAT(gone.status().message(), HasSubstr("not found"));
}

TEST_F(ContentCliTest, IngestWithWrongDigestCommitsNothing) {
  std::string file = WriteInput("blob", "actual bytes");
  Digest wrong = DigestBytes("other bytes").value();
  auto ingested = CtlFromFile("content ingest --expected " + wrong.ToString() + " bad-ref", file);
  ASSERT_FALSE(ingested.ok());
  EXPECT_THAT(ingested.status().message(), HasSubstr(wrong.ToString()));
  EXPECT_THAT(ingested.status().message(), HasSubstr(DigestBytes("actual bytes")->ToString()));
  EXPECT_EQ(Ctl({"content", "ls", "-q"}).value(), "");
  EXPECT_TRUE(std::filesystem::is_empty(service_.blobs() + "/sha256"));
  auto bad = Ctl({"content", "info", "sha256:../../../etc/passwd"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("invalid digest"));
}

TEST_F(ContentCliTest, ActiveShowsAnInterruptedIngestAndIngestResumesIt) {
  std::string data(2 << 20, 'r');
  Digest digest = DigestBytes(data).value();
  {
    auto writer = service_.proxy().OpenWriter({.ref = "half", .expected = digest});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(0, 1 << 20)).ok());
  }
  auto active = Ctl({"content", "active"});
  ASSERT_TRUE(active.ok());
  EXPECT_THAT(*active, HasSubstr("half"));
  EXPECT_THAT(*active, HasSubstr(std::to_string(1 << 20)));
  EXPECT_THAT(*active, HasSubstr(digest.ToString()));

  // From a pipe (not seekable): the CLI skips what the ingest already has.
  auto resumed = Ctl({"content", "ingest", "--expected", digest.ToString(), "half"}, data);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(*resumed, digest.ToString() + "\n");
  EXPECT_THAT(Ctl({"content", "active"}).value(), Not(HasSubstr("half")));
  // Ingesting what exists is a success that writes nothing.
  EXPECT_TRUE(Ctl({"content", "ingest", "--expected", digest.ToString(), "again"}, data).ok());

  {
    auto writer = service_.proxy().OpenWriter({.ref = "dropme"});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write("abc").ok());
  }
  ASSERT_TRUE(Ctl({"content", "abort", "dropme"}).ok());
  EXPECT_THAT(Ctl({"content", "active"}).value(), Not(HasSubstr("dropme")));
}

// A file on stdin goes to berth-content as an fd: resumed from the ingest's offset, counted from
// stdin's position.
TEST_F(ContentCliTest, IngestOfAFileResumesAndStartsAtStdinsPosition) {
  std::string data = RandomBytes((3 << 20) + 11, 31);
  Digest digest = DigestBytes(data).value();
  std::string file = WriteInput("blob", data);
  {
    auto writer = service_.proxy().OpenWriter({.ref = "file-half", .expected = digest});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(0, 1 << 20)).ok());
  }
  auto resumed = CtlFromFile("content ingest --expected " + digest.ToString() + " file-half", file);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(*resumed, digest.ToString() + "\n");
  EXPECT_EQ(DigestFile(service_.blobs() + "/sha256/" + digest.hex).value(), digest);
  EXPECT_TRUE(service_.proxy().ListStatuses()->empty());

  // dd consumes the first 7 bytes; the ingest takes the rest of the file.
  Digest tail = DigestBytes(std::string_view(data).substr(7)).value();
  auto positioned =
      RunCapture({"sh", "-c",
                  "{ dd bs=7 count=1 of=/dev/null 2>/dev/null; " + berthctl_ + " --state " +
                      service_.state() + " content ingest tail-ref; } < " + file},
                 {}, std::chrono::seconds(60));
  ASSERT_TRUE(positioned.ok()) << positioned.status().ToString();
  EXPECT_EQ(*positioned, tail.ToString() + "\n");

  // A file shorter than what the ref already holds cannot be its source.
  {
    auto writer = service_.proxy().OpenWriter({.ref = "longer"});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(data).ok());
  }
  auto shorter = CtlFromFile("content ingest longer", WriteInput("short", "short"));
  ASSERT_FALSE(shorter.ok());
  EXPECT_THAT(shorter.status().message(), HasSubstr("stdin has 5 bytes"));
  EXPECT_EQ(service_.proxy().GetStatus("longer")->offset, data.size());
}

TEST_F(ContentCliTest, CheckFindsABlobFlippedOnDisk) {
  std::vector<Digest> digests;
  for (const char* text : {"first blob", "second blob", "third blob"}) {
    Digest digest = DigestBytes(text).value();
    ASSERT_TRUE(Ctl({"content", "ingest", "--expected", digest.ToString(), text}, text).ok());
    digests.push_back(digest);
  }
  auto clean = Ctl({"content", "check"});
  ASSERT_TRUE(clean.ok()) << clean.status().ToString();
  EXPECT_THAT(*clean, Not(HasSubstr("CORRUPT")));

  std::string path = service_.blobs() + "/sha256/" + digests[1].hex;
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  ASSERT_TRUE(WriteFileAtomic(path, "secund blob", 0444).ok());  // same size, one byte off

  auto check = Ctl({"content", "check"});
  ASSERT_FALSE(check.ok());
  EXPECT_THAT(check.status().message(), HasSubstr("exit code 1"));
  auto json = RunCapture(
      {"sh", "-c",
       berthctl_ + " --state " + service_.state() + " --format json content check; true"},
      {}, std::chrono::seconds(60));
  ASSERT_TRUE(json.ok());
  auto results = nlohmann::json::parse(*json);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    bool flipped = r["digest"] == digests[1].ToString();
    EXPECT_EQ(r["ok"], !flipped) << r.dump();
    if (flipped) {
      EXPECT_EQ(r["actual"], DigestBytes("secund blob")->ToString());
    }
  }
  // Only the named blobs are checked.
  EXPECT_TRUE(Ctl({"content", "check", digests[0].ToString(), digests[2].ToString()}).ok());
  EXPECT_FALSE(Ctl({"content", "check", digests[1].ToString()}).ok());
}

}  // namespace
}  // namespace berth::integration
