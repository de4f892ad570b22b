// berthd's configuration: the file, then the command-line flags laid over it.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "common/fs.h"
#include "common/temp_dir.h"
#include "supervisor/daemon.h"

namespace berth::supervisor {
namespace {

constexpr char kFileToml[] =
    "root = \"/file/root\"\nstate = \"/file/state\"\nlog_level = \"warn\"\n"
    "restart_backoff_initial_ms = 7\n[services]\nspawn = false\n";

class DaemonConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("b");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    dir_.emplace(std::move(dir).value());
    path_ = dir_->Join("config.toml");
    ASSERT_TRUE(WriteFileAtomic(path_, kFileToml).ok());
  }
  std::optional<TempDir> dir_;
  std::string path_;
};

TEST_F(DaemonConfigTest, WithoutFlagsTheFileDecides) {
  auto config = ResolveConfig({.config_path = path_});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->root, "/file/root");
  EXPECT_EQ(config->state, "/file/state");
  EXPECT_EQ(config->log_level, "warn");
  EXPECT_FALSE(config->services.spawn);
  EXPECT_EQ(config->restart_backoff_initial_ms, 7);
}

TEST_F(DaemonConfigTest, FlagsWinOverTheFileAndLeaveTheRestOfItAlone) {
  auto config = ResolveConfig({.config_path = path_,
                               .root = "/flag/root/",
                               .state = "/flag/state",
                               .log_level = "debug",
                               .mode = "embedded"});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->root, "/flag/root");  // trailing slash trimmed
  EXPECT_EQ(config->state, "/flag/state");
  EXPECT_EQ(config->log_level, "debug");
  EXPECT_TRUE(config->services.spawn);
  EXPECT_EQ(config->restart_backoff_initial_ms, 7);  // no flag for it: the file's value

  // One flag at a time: only that key changes.
  auto state_only = ResolveConfig({.config_path = path_, .state = "/other/state"});
  ASSERT_TRUE(state_only.ok()) << state_only.status().ToString();
  EXPECT_EQ(state_only->root, "/file/root");
  EXPECT_EQ(state_only->state, "/other/state");
  EXPECT_EQ(state_only->log_level, "warn");
}

TEST_F(DaemonConfigTest, ModeSystemdTurnsSpawningOff) {
  ASSERT_TRUE(WriteFileAtomic(path_, "[services]\nspawn = true\n").ok());
  auto config = ResolveConfig({.config_path = path_, .mode = "systemd"});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_FALSE(config->services.spawn);
  EXPECT_EQ(config->root, "/var/lib/berth");  // neither file nor flag: the default
  EXPECT_EQ(config->state, "/run/berth");
}

TEST_F(DaemonConfigTest, BadFlagsAreRefusedWithTheFlagNamed) {
  auto relative = ResolveConfig({.config_path = path_, .root = "relative/root"});
  EXPECT_EQ(relative.status().code(), Code::kInvalidArgument);
  EXPECT_NE(relative.status().message().find("--root"), std::string::npos)
      << relative.status().ToString();
  auto mode = ResolveConfig({.config_path = path_, .mode = "cluster"});
  EXPECT_EQ(mode.status().code(), Code::kInvalidArgument);
  EXPECT_NE(mode.status().message().find("--mode"), std::string::npos) << mode.status().ToString();
  EXPECT_EQ(ResolveConfig({.config_path = path_, .log_level = "loud"}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ResolveConfig({.config_path = dir_->Join("missing.toml")}).status().code(),
            Code::kNotFound);
}

}  // namespace
}  // namespace berth::supervisor
