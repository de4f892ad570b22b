// berth-shim driving crun instead of runc (runtime options name the binary), over ttrpc. crun
// needs the lone v2 controller of this hybrid host moved to v1 first (CrunCgroups).
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "containerd/runc/options/oci.pb.h"
#include "tests/shim/shim_harness.h"

namespace berth::shim::testing {
namespace {

namespace task = containerd::task::v2;
namespace types = containerd::v1::types;

// Force-deletes the crun container on the way out, whatever the test reached.
struct CrunContainerGuard {
  std::string root, id;
  ~CrunContainerGuard() { RunCmd({"crun", "--root", root, "delete", "--force", id}); }
};

TEST(ShimCrun, WholeLifecycleRunsUnderCrun) {
  auto shim = DirectShim::Start({"sleep", "1000"});
  ASSERT_TRUE(shim);
  auto cgroups = CrunCgroups::Bind(shim->dir() + "/cgroup-v1");
  ASSERT_TRUE(cgroups.ok()) << cgroups.status().ToString();
  std::string root = shim->dir() + "/crun";
  CrunContainerGuard guard{root, shim->id()};

  auto request = shim->CreateRequest();
  containerd::runc::v1::Options options;
  options.set_binary_name("crun");
  options.set_root(root);
  options.SerializeToString(request.mutable_options()->mutable_value());
  auto created = shim->task().Create(request, shim->opts());
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  task::StartRequest start;
  start.set_id(shim->id());
  ASSERT_TRUE(shim->task().Start(start, shim->opts()).ok());

  // crun, not runc, holds the container: its state is in crun's root.
  auto state = RunCmd({"crun", "--root", root, "state", shim->id()});
  EXPECT_EQ(state.exit_code, 0) << state.output;
  EXPECT_NE(state.output.find("\"running\""), std::string::npos) << state.output;
  EXPECT_NE(RunCmd({"runc", "--root", root, "state", shim->id()}).exit_code, 0);
  std::string crun_path = RunCmd({"sh", "-c", "command -v crun"}).output;
  EXPECT_EQ(ReadText(shim->bundle() + "/runtime").substr(0, 7 + crun_path.size()),
            "binary=" + crun_path);

  EXPECT_EQ(shim->RunExec("e1", {"sh", "-c", "exit 5"}), 5);
  // crun's own error message reaches the RPC error.
  auto missing = shim->ExecRequest("missing", {"/no/such/tool"});
  ASSERT_TRUE(shim->task().Exec(missing, shim->opts()).ok());
  task::StartRequest start_missing;
  start_missing.set_id(shim->id());
  start_missing.set_exec_id("missing");
  auto failed = shim->task().Start(start_missing, shim->opts());
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("OCI runtime exec failed: "), std::string::npos)
      << failed.status().message();
  EXPECT_NE(failed.status().message().find("/no/such/tool"), std::string::npos)
      << failed.status().message();

  task::PauseRequest pause;
  pause.set_id(shim->id());
  ASSERT_TRUE(shim->task().Pause(pause, shim->opts()).ok());
  task::StateRequest query;
  query.set_id(shim->id());
  EXPECT_EQ(shim->task().State(query, shim->opts())->status(), types::PAUSED);
  task::ResumeRequest resume;
  resume.set_id(shim->id());
  ASSERT_TRUE(shim->task().Resume(resume, shim->opts()).ok());
  task::PidsRequest pids;
  pids.set_id(shim->id());
  auto listed = shim->task().Pids(pids, shim->opts());
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->processes_size(), 1);
  EXPECT_EQ(listed->processes(0).pid(), created->pid());

  EXPECT_EQ(shim->FinishInit(SIGKILL), 128 + SIGKILL);
  EXPECT_NE(RunCmd({"crun", "--root", root, "state", shim->id()}).exit_code, 0);
}

}  // namespace
}  // namespace berth::shim::testing
