#include "common/config.h"

#include <gtest/gtest.h>

#include <sstream>

#include "common/fs.h"
#include "common/temp_dir.h"

namespace berth {
namespace {

Status ParseError(std::string_view toml) { return ParseConfig(toml, "test.toml").status(); }

void ExpectError(std::string_view toml, std::string_view fragment) {
  Status s = ParseError(toml);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << toml;
  EXPECT_NE(s.message().find(fragment), std::string::npos)
      << "message \"" << s.message() << "\" lacks \"" << fragment << "\"";
}

TEST(ConfigTest, DefaultTomlParsesBackToDefaults) {
  auto config = ParseConfig(DefaultConfigToml(), "default");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(*config, Config{});
  EXPECT_EQ(config->root, "/var/lib/berth");
  EXPECT_EQ(config->state, "/run/berth");
  EXPECT_TRUE(config->services.spawn);
  ASSERT_EQ(config->services.list.size(), 4u);
  EXPECT_EQ(config->services.list[0].name, "content");
  EXPECT_EQ(config->events.max_log_entries, 10000);
  EXPECT_EQ(ParseConfig("", "empty").value(), Config{});
}

TEST(ConfigTest, DefaultTomlCommentsEveryKey) {
  std::istringstream in(DefaultConfigToml());
  std::string line, previous;
  int keys = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#' && line[0] != '[') {
      ++keys;
      EXPECT_EQ(previous.rfind("# ", 0), 0u) << "no comment above: " << line;
    }
    previous = line;
  }
  EXPECT_EQ(keys, 12);  // every field of Config
}

TEST(ConfigTest, ParsesEveryKey) {
  auto config = ParseConfig(R"(
root = "/data/berth"
state = "/tmp/berth-state"
log_level = "debug"
restart_backoff_initial_ms = 50
restart_backoff_max_ms = 2000
[services]
spawn = false
names = ["content", "metadata"]
[services.binaries]
metadata = "/opt/berth/berth-metadata"
[events]
max_log_entries = 7
[content]
ingest_expiry_hours = 2
[runtime]
log_max_size = "10m"
log_max_files = 5
[metrics]
address = "127.0.0.1:9100"
)",
                            "full.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->root, "/data/berth");
  EXPECT_EQ(config->state, "/tmp/berth-state");
  EXPECT_EQ(config->log_level, "debug");
  EXPECT_EQ(config->restart_backoff_initial_ms, 50);
  EXPECT_EQ(config->restart_backoff_max_ms, 2000);
  EXPECT_FALSE(config->services.spawn);
  std::vector<Config::Service> expected = {{"content", ""},
                                           {"metadata", "/opt/berth/berth-metadata"}};
  EXPECT_EQ(config->services.list, expected);
  EXPECT_EQ(config->events.max_log_entries, 7);
  EXPECT_EQ(config->content.ingest_expiry_hours, 2);
  EXPECT_EQ(config->metrics.address, "127.0.0.1:9100");
  EXPECT_EQ(config->runtime.log_max_size, 10 << 20);
  EXPECT_EQ(config->runtime.log_max_files, 5);
  EXPECT_EQ(ParseConfig("[runtime]\nlog_max_size = 4096", "t")->runtime.log_max_size, 4096);
  EXPECT_EQ(ParseConfig("[runtime]\nlog_max_size = \"2G\"", "t")->runtime.log_max_size,
            int64_t{2} << 30);
  EXPECT_EQ(ServiceBinaryPath(config->services.list[0], "/usr/bin"), "/usr/bin/berth-content");
  EXPECT_EQ(ServiceBinaryPath(config->services.list[1], "/usr/bin"), "/opt/berth/berth-metadata");
}

TEST(ConfigTest, SyntaxErrorsGiveLineAndColumn) {
  ExpectError("root = \"/x\"\nstate = [\n", "test.toml:2:11: Error while parsing array");
  ExpectError("root = \"/x\"\nstate = \"/y\n", "test.toml:2:");
  Status s = ParseError("root = = 1");
  EXPECT_TRUE(s.message().rfind("config test.toml:1:", 0) == 0) << s.message();
}

TEST(ConfigTest, UnknownKeysAreNamed) {
  ExpectError("roots = \"/x\"", "unknown key \"roots\"");
  ExpectError("[services]\nspwan = true\n", "test.toml:2:1: unknown key \"services.spwan\"");
  ExpectError("[events]\nmax = 1\n", "\"events.max\"");
  ExpectError("[grpc]\naddress = \"x\"\n", "unknown key \"grpc\"");
  ExpectError("[services.binaries]\nfoo = \"/bin/foo\"\n", "\"services.binaries.foo\"");
}

TEST(ConfigTest, BadValuesAreRefused) {
  ExpectError("root = 5", "\"root\" must be a string");
  ExpectError("root = \"relative\"", "root must be absolute");
  ExpectError("log_level = \"loud\"", "invalid log level");
  ExpectError("restart_backoff_initial_ms = 0", "at least 1");
  ExpectError("restart_backoff_initial_ms = 500\nrestart_backoff_max_ms = 100", "must be >=");
  ExpectError("[services]\nspawn = \"yes\"", "\"services.spawn\" must be true or false");
  ExpectError("[services]\nnames = [\"content\", \"content\"]", "distinct");
  ExpectError("[services]\nnames = [\"a/b\"]", "distinct names of [a-z0-9-]");
  ExpectError("[services.binaries]\ncontent = \"bin/x\"", "absolute path");
  ExpectError("events = 3", "\"events\" must be a table");
  ExpectError("[content]\ningest_expiry_hours = 1.5", "must be an integer");
  ExpectError("[runtime]\nlog_max_size = \"10 MB\"", "test.toml:2:16: \"runtime.log_max_size\"");
  ExpectError("[runtime]\nlog_max_size = -1", "must be a size such as \"10m\"");
  ExpectError("[runtime]\nlog_max_files = 0", "\"runtime.log_max_files\" must be at least 1");
  ExpectError("[runtime]\nlog_max_files = 32", "\"runtime.log_max_files\" is at most 31");
  ExpectError("[runtime]\nlog_size = \"1m\"", "unknown key \"runtime.log_size\"");
}

TEST(ConfigTest, LoadConfigFile) {
  auto dir = TempDir::Create("config-test");
  ASSERT_TRUE(dir.ok());
  auto missing_default = LoadConfigFile(dir->Join("none.toml"), /*missing_ok=*/true);
  ASSERT_TRUE(missing_default.ok());
  EXPECT_EQ(*missing_default, Config{});
  auto missing = LoadConfig(dir->Join("none.toml"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find(dir->Join("none.toml")), std::string::npos);

  ASSERT_TRUE(WriteFileAtomic(dir->Join("c.toml"), "log_level = \"warn\"\n").ok());
  auto loaded = LoadConfig(dir->Join("c.toml"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->log_level, "warn");
  ASSERT_TRUE(WriteFileAtomic(dir->Join("bad.toml"), "x = 1\n").ok());
  auto bad = LoadConfig(dir->Join("bad.toml"));
  EXPECT_NE(bad.status().message().find(dir->Join("bad.toml") + ":1:1"), std::string::npos)
      << bad.status().message();
}

TEST(ConfigTest, SelfExeDir) {
  auto dir = SelfExeDir();
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(dir->front(), '/');
  EXPECT_NE(*dir, "");
}

}  // namespace
}  // namespace berth
