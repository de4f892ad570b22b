// berthctl's command tree as a user meets it without a daemon: every command answers --help,
// and the bash completion script (made from the same tree) loads in bash and completes.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "common/process.h"
#include "tests/integration/supervisor_test_util.h"

namespace berth::integration {
namespace {

std::vector<std::string> CommandPaths() {
  auto out = RunCapture({BuildPath("cli/berthctl"), "completion", "commands"});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  std::vector<std::string> paths;
  std::istringstream lines(out.ok() ? *out : "");
  for (std::string line; std::getline(lines, line);) paths.push_back(line);
  return paths;
}

TEST(BerthctlCliTest, EveryCommandAnswersHelpWithItsUsage) {
  std::vector<std::string> paths = CommandPaths();
  ASSERT_GT(paths.size(), 60u);  // images, containers, tasks, content, snapshots, ...
  for (const std::string& path : paths) {
    std::vector<std::string> argv = {BuildPath("cli/berthctl")};
    std::istringstream words(path);
    for (std::string word; words >> word;) argv.push_back(word);
    argv.push_back("--help");
    auto help = RunCapture(argv);
    ASSERT_TRUE(help.ok()) << path << ": " << help.status().ToString();
    EXPECT_NE(help->find("Usage: berthctl " + path), std::string::npos) << path << "\n" << *help;
  }
}

// Loads the script in a non-interactive bash and asks it to complete `words` (the last one is
// the word being completed); returns COMPREPLY, space separated.
std::string Complete(const std::string& words) {
  std::string script =
      "set -e; source <(\"$0\" completion bash); COMP_WORDS=(" + words +
      "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _berthctl; echo \"${COMPREPLY[*]}\"";
  auto out = RunCapture({"bash", "-c", script, BuildPath("cli/berthctl")});
  EXPECT_TRUE(out.ok()) << words << ": " << out.status().ToString();
  return out.ok() ? *out : "";
}

TEST(BerthctlCliTest, BashCompletionCompletesCommandsAndOptions) {
  EXPECT_EQ(Complete("berthctl ima"), "image images\n");
  EXPECT_EQ(Complete("berthctl image pu"), "pull push\n");
  // An alias leads to the same subcommands.
  EXPECT_EQ(Complete("berthctl images pu"), "pull push\n");
  // Options of the command and berthctl's global ones, which may come anywhere.
  std::string options = Complete("berthctl image pull --");
  EXPECT_NE(options.find("--plain-http"), std::string::npos) << options;
  EXPECT_NE(options.find("--namespace"), std::string::npos) << options;
  // A global option's value is skipped: the command after it still completes.
  EXPECT_EQ(Complete("berthctl --namespace x image pu"), "pull push\n");
  EXPECT_EQ(Complete("berthctl --format \"\""), "table json\n");
}

}  // namespace
}  // namespace berth::integration
