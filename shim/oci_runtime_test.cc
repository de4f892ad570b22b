#include "shim/oci_runtime.h"

#include <gtest/gtest.h>

#include "common/fs.h"
#include "common/temp_dir.h"
#include "shim/bundle_files.h"

namespace berth::shim {
namespace {

TEST(ShimOciRuntime, LastLoggedErrorOfThisCallOnly) {
  auto dir = TempDir::Create("b");
  ASSERT_TRUE(dir.ok());
  std::string log = dir->Join("log.json");
  std::string old = R"({"level":"error","msg":"old failure","time":"t"})"
                    "\n";
  ASSERT_TRUE(
      WriteFileAtomic(
          log,
          old + R"({"level":"warning","msg":"just a warning","time":"t"})"
                "\n"
                R"({"level":"error","msg":"exec: \"nope\": executable file not found","time":"t"})"
                "\n"
                R"(not json)"
                "\n")
          .ok());
  EXPECT_EQ(LastLoggedError(log, 0), "exec: \"nope\": executable file not found");
  EXPECT_EQ(LastLoggedError(log, static_cast<off_t>(ReadFile(log)->size())), "");
  EXPECT_EQ(LastLoggedError(dir->Join("missing"), 0), "");
}

TEST(ShimOciRuntime, PsOutput) {
  EXPECT_EQ(ParsePsOutput("[1,22,333]\n").value(), (std::vector<pid_t>{1, 22, 333}));
  EXPECT_TRUE(ParsePsOutput("null").value().empty());
  EXPECT_FALSE(ParsePsOutput("{\"a\":1}").ok());
  EXPECT_FALSE(ParsePsOutput("[\"x\"]").ok());
}

TEST(ShimBundleFiles, RoundTrips) {
  auto dir = TempDir::Create("b");
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(WriteFileAtomic(dir->Join("init.pid"), "4242").ok());
  EXPECT_EQ(ReadPidFile(dir->Join("init.pid")).value(), 4242);
  ASSERT_TRUE(WriteFileAtomic(dir->Join("bad.pid"), "-3\n").ok());
  EXPECT_EQ(ReadPidFile(dir->Join("bad.pid")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ReadPidFile(dir->Join("none.pid")).status().code(), Code::kNotFound);

  EXPECT_FALSE(ReadExitRecord(dir->path()));
  ASSERT_TRUE(WriteExitRecord(dir->path(), {137, 1700000000123456789}).ok());
  auto exit = ReadExitRecord(dir->path());
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->status, 137u);
  EXPECT_EQ(exit->exited_at_ns, 1700000000123456789);

  RuntimeConfig config;
  config.binary = "/usr/bin/crun";
  config.root = "/run/crun/x";
  config.systemd_cgroup = true;
  ASSERT_TRUE(WriteRuntimeRecord(dir->path(), config).ok());
  auto saved = ReadRuntimeRecord(dir->path());
  ASSERT_TRUE(saved);
  EXPECT_EQ(saved->binary, "/usr/bin/crun");
  EXPECT_EQ(saved->root, "/run/crun/x");
  EXPECT_TRUE(saved->systemd_cgroup);
}

}  // namespace
}  // namespace berth::shim
