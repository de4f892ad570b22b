#include "services/runtime/bundle.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/temp_dir.h"
#include "services/runtime/shim_process.h"

namespace berth::runtime {
namespace {

TEST(Bundle, CreateWriteExitRemove) {
  auto tmp = TempDir::Create("b-bundle");
  ASSERT_TRUE(tmp.ok());
  BundlePaths p = PathsFor(tmp->Join("state"), tmp->Join("root"), "ns", "id");
  ASSERT_TRUE(CreateBundle(p, "{}").ok());
  EXPECT_EQ(ReadFile(p.Config()).value(), "{}");
  struct stat st {};
  ASSERT_EQ(::stat(p.LogFifo().c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  ASSERT_EQ(::stat(p.bundle.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
  EXPECT_EQ(CreateBundle(p, "{}").code(), Code::kAlreadyExists);
  EXPECT_FALSE(ReadExit(p).has_value());
  ASSERT_TRUE(WriteExit(p, {137, 1234567890123, 42}).ok());
  auto exit = ReadExit(p);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->status, 137u);
  EXPECT_EQ(exit->exited_at_nanos, 1234567890123);
  EXPECT_EQ(exit->pid, 42u);
  ASSERT_TRUE(RemoveBundle(p).ok());
  EXPECT_NE(::access(p.bundle.c_str(), F_OK), 0);
  EXPECT_NE(::access(p.work.c_str(), F_OK), 0);
  EXPECT_TRUE(RemoveBundle(p).ok());
}

TEST(Bundle, Names) {
  EXPECT_TRUE(ValidateName("id", "abc-1.2_x").ok());
  for (const char* bad : {"", "-a", "a/b", "..", "a b", "x\n"}) {
    EXPECT_EQ(ValidateName("id", bad).code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ValidateName("id", std::string(77, 'a')).ok());
}

TEST(Bundle, ShimAddresses) {
  EXPECT_EQ(SocketFromAddress("unix:///run/x.sock\n").value(), "/run/x.sock");
  EXPECT_EQ(
      SocketFromAddress(R"({"version":2,"address":"unix:///a/b","protocol":"ttrpc"})").value(),
      "/a/b");
  EXPECT_FALSE(SocketFromAddress("/run/x.sock").ok());  // containerd would dial an abstract one
  EXPECT_FALSE(SocketFromAddress("unix://relative").ok());
  EXPECT_FALSE(SocketFromAddress("").ok());
}

TEST(ShimProcess, ResolvesRuntimeNames) {
  auto runc = ResolveShimBinary("io.containerd.runc.v2", {});
  ASSERT_TRUE(runc.ok()) << runc.status().ToString();
  EXPECT_EQ(runc->substr(runc->rfind('/') + 1), "containerd-shim-runc-v2");
  EXPECT_EQ(ResolveShimBinary("/usr/bin/containerd-shim-runc-v2", {}).value(),
            "/usr/bin/containerd-shim-runc-v2");
  EXPECT_EQ(ResolveShimBinary("io.containerd.nope.v1", {}).status().code(), Code::kNotFound);
  EXPECT_EQ(ResolveShimBinary("nodots", {}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ResolveShimBinary("a/b.c", {}).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace berth::runtime
