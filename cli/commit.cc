// berthctl commit [--message M] [--change INSTR]... [--compression gzip|zstd|none]
//                 [--no-pause] CONTAINER IMAGE-REF
//   packs the changes in a container's snapshot (running or stopped) as a new layer on top of
//   its image, made by the diff service, with a history entry; the image is unpacked and
//   recorded. A running task is paused while its snapshot is read (so the layer is a consistent
//   picture), unless --no-pause, and resumed even when the commit fails.
#include <unistd.h>

#include <random>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "berth/metadata/v1/containers.berth.h"
#include "berth/runtime/v1/tasks.berth.h"
#include "cli/build_image.h"
#include "cli/command_group.h"
#include "client/platform.h"

namespace berth::cli {
namespace commit_cmd {
namespace {

namespace md = berth::metadata::v1;
namespace rt = berth::runtime::v1;

struct CommitFlags {
  BuildFlags build;
  std::string container;
  std::string ref;
  bool no_pause = false;
};

// Pauses the container's task when it runs; Resume undoes exactly that.
class TaskPause {
 public:
  TaskPause(CliContext& context, std::string id) : context_(context), id_(std::move(id)) {}
  Status Pause() {
    rt::TasksClient tasks(context_.ClientFor("runtime"));
    rt::GetRequest get;
    get.set_container_id(id_);
    auto task = tasks.Get(get, context_.Options());
    if (!task.ok()) {  // no task (never started, or deleted): nothing runs
      return task.status().code() == Code::kNotFound ? Status::Ok() : task.status();
    }
    if (task->process().status() != rt::RUNNING) return Status::Ok();
    rt::PauseTaskRequest pause;
    pause.set_container_id(id_);
    auto paused = tasks.Pause(pause, context_.Options());
    if (!paused.ok()) return paused.status().Annotate("pause " + id_);
    paused_ = true;
    return Status::Ok();
  }
  void Resume() {
    if (!paused_) return;
    paused_ = false;
    rt::TasksClient tasks(context_.ClientFor("runtime"));
    rt::ResumeTaskRequest resume;
    resume.set_container_id(id_);
    auto resumed = tasks.Resume(resume, context_.Options());
    if (!resumed.ok()) {
      fmt::print(stderr, "berthctl: commit: resume {}: {} (berthctl task resume {})\n", id_,
                 resumed.status().ToString(), id_);
    }
  }
  ~TaskPause() { Resume(); }

 private:
  CliContext& context_;
  std::string id_;
  bool paused_ = false;
};

Result<md::Container> GetContainer(CliContext& context, const std::string& id) {
  md::ContainersClient containers(context.ClientFor("metadata"));
  md::GetContainerRequest get;
  get.set_id(id);
  auto found = containers.Get(get, context.Options());
  if (!found.ok()) return found.status().Annotate("container " + id);
  return found->container();
}

// The container's image, checked to be the parent of its snapshot.
Result<client::LocalImage> ContainerImage(ImageServices& s, const md::Container& c) {
  BERTH_ASSIGN_OR_RETURN(auto record, FindImage(*s.images, c.image()));
  BERTH_ASSIGN_OR_RETURN(
      auto image,
      client::LoadImage(s.content, record.target, client::PlatformMatcher(client::HostPlatform())));
  BERTH_ASSIGN_OR_RETURN(snapshot::Info info, s.snapshots.Stat(c.snapshot_key()));
  if (info.parent != image.TopChain()) {
    return Error(Code::kFailedPrecondition,
                 "container {}'s snapshot is not based on the rootfs of image {} (was the image "
                 "replaced since the container was created?)",
                 c.id(), c.image());
  }
  return image;
}

int Commit(CliContext& context, const CommitFlags& f) {
  client::ImageSpec spec;
  std::string media_type;
  Status parsed = f.build.Parse(media_type, spec.changes);
  auto name = ImageName(f.ref);
  if (!parsed.ok() || !name.ok()) {
    return context.Fail("commit: " + (parsed.ok() ? name.status() : parsed).message());
  }
  auto container = GetContainer(context, f.container);
  if (!container.ok()) return context.Fail("metadata", container.status(), "commit");
  ImageServices s(context, container->snapshotter());
  auto image = ContainerImage(s, *container);
  if (!image.ok()) return context.Fail("commit: " + image.status().message());
  spec.base = &*image;
  spec.history = {"berthctl commit " + f.container, f.build.message, ""};
  auto lease = CommandLease::Create(*s.images, container->snapshotter());
  if (!lease.ok()) return context.Fail("metadata", lease.status(), "commit");
  std::string view = fmt::format("commit-{}-{:08x}", ::getpid(), std::random_device()());
  Status protect = (*lease)->AddSnapshot(view);
  if (!protect.ok()) return context.Fail("metadata", protect, "commit");
  TaskPause pause(context, f.container);
  if (!f.no_pause) {
    Status paused = pause.Pause();
    if (!paused.ok()) return context.Fail("runtime", paused, "commit");
  }
  auto upper = s.snapshots.Mounts(container->snapshot_key());
  if (!upper.ok()) return context.Fail("snapshot", upper.status(), "commit");
  auto lower = s.snapshots.View(view, image->TopChain(), {});
  if (!lower.ok()) return context.Fail("snapshot", lower.status(), "commit");
  int code = BuildAndReport(context, s, **lease, *lower, *upper, media_type, std::move(spec), *name,
                            "commit " + f.container, [&pause] { pause.Resume(); });
  (void)s.snapshots.Remove(view);
  return code;
}

void AddCommit(CLI::App& app, CliContext& context) {
  CLI::App* cmd = app.add_subcommand(
      "commit", "create an image from a container's changes (a new layer on top of its image)");
  auto flags = std::make_shared<CommitFlags>();
  cmd->add_flag("--no-pause", flags->no_pause, "do not pause a running container while reading");
  flags->build.Add(cmd);
  cmd->add_option("container", flags->container, "container id")->required();
  cmd->add_option("ref", flags->ref, "name of the new image (e.g. example.com/app:v2)")->required();
  cmd->callback(Run(context, [&context, flags] { return Commit(context, *flags); }));
}

}  // namespace

BERTH_COMMAND_GROUP("commit", AddCommit);

}  // namespace commit_cmd

}  // namespace berth::cli
