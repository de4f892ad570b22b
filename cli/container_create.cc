// berthctl container create [flags] IMAGE ID [CMD ARG...]
#include "cli/container_create.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "berth/metadata/v1/containers.berth.h"
#include "cli/build_image.h"
#include "cli/command_group.h"
#include "cli/container.h"
#include "cli/image_services.h"
#include "client/local_image.h"
#include "client/spec/spec.h"

namespace berth::cli {

namespace md = berth::metadata::v1;

void ContainerFlags::Add(CLI::App* cmd) {
  AddFlags(cmd);
  cmd->add_option("image", image, "image name")->required();
  cmd->add_option("id", id, "container id")->required();
  // Everything after ID is the command, dashes included (`run IMG ID sh -c "..."`).
  cmd->prefix_command();
  cmd->footer("CMD ARG...: the command to run instead of the image's (after IMAGE and ID)");
}

void ContainerFlags::AddFlags(CLI::App* cmd) {
  // Repeatable options take one value per occurrence (allow_extra_args(false)): otherwise a
  // vector option swallows IMAGE, ID and the command up to the command's first dash argument
  // (`run --env A=1 IMG ID sh -c CMD`).
  cmd->add_option("--env,-e", env, "set an environment variable (KEY=VALUE)")
      ->allow_extra_args(false);
  cmd->add_option("--env-file", env_files, "read KEY=VALUE lines from a file")
      ->allow_extra_args(false);
  cmd->add_option("--user,-u", user, "USER[:GROUP] (names or ids) to run as");
  cmd->add_option("--cwd,-w", cwd, "working directory inside the container");
  cmd->add_option("--mount", mounts, "type=bind,src=/host,dst=/ctr,options=rbind:ro")
      ->allow_extra_args(false);
  cmd->add_option("--net", net, "network: none (a new empty namespace) or host")
      ->check(CLI::IsMember({"none", "host"}))
      ->capture_default_str();
  cmd->add_flag("--privileged", privileged, "all capabilities and host devices");
  cmd->add_flag("--read-only", read_only, "read-only root filesystem");
  cmd->add_option("--memory-limit", memory_limit, "memory limit (bytes, or 512m, 1g...)");
  cmd->add_option("--cpus", cpus, "CPU quota in CPUs (e.g. 0.5)");
  cmd->add_option("--label", labels, "container label KEY=VALUE")->allow_extra_args(false);
  cmd->add_option("--runtime", runtime, "runtime (shim) name, e.g. io.containerd.runc.v2")
      ->capture_default_str();
  cmd->add_option("--hostname", hostname, "host name (default: the container id)");
  cmd->add_option("--entrypoint", entrypoint, "replace the image's entrypoint");
  cmd->add_option("--snapshotter", snapshotter, "snapshotter (default: the service's)");
  cmd->add_option("--cgroup-parent", cgroup_parent,
                  "cgroup parent: the container's cgroup is PARENT/NAMESPACE/ID")
      ->capture_default_str();
}

Result<spec::SpecOptions> SpecOptionsFrom(const CliContext& context, const ContainerFlags& f) {
  spec::SpecOptions o;
  o.ns = context.ns;
  o.id = f.id;
  o.args = f.args;
  if (!f.entrypoint.empty()) o.entrypoint = std::vector<std::string>{f.entrypoint};
  for (const auto& file : f.env_files) {
    BERTH_ASSIGN_OR_RETURN(auto entries, spec::ReadEnvFile(file));
    o.env.insert(o.env.end(), entries.begin(), entries.end());
  }
  o.env.insert(o.env.end(), f.env.begin(), f.env.end());
  if (!f.user.empty()) o.user = f.user;
  if (!f.cwd.empty()) o.cwd = f.cwd;
  if (!f.hostname.empty()) o.hostname = f.hostname;
  for (const auto& m : f.mounts) {
    BERTH_ASSIGN_OR_RETURN(auto mount, spec::ParseMountFlag(m));
    o.mounts.push_back(std::move(mount));
  }
  o.net = f.net == "host" ? spec::NetworkMode::kHost : spec::NetworkMode::kNone;
  o.privileged = f.privileged;
  o.read_only = f.read_only;
  o.terminal = f.terminal;
  if (!f.memory_limit.empty()) {
    BERTH_ASSIGN_OR_RETURN(o.memory_limit, spec::ParseMemorySize(f.memory_limit));
  }
  if (f.cpus != 0) o.cpus = f.cpus;
  if (f.cgroup_parent.empty() || f.cgroup_parent.front() != '/') {
    return Error(Code::kInvalidArgument, "--cgroup-parent {:?}: must be an absolute cgroup path",
                 f.cgroup_parent);
  }
  o.cgroup_parent = f.cgroup_parent == "/" ? "" : f.cgroup_parent;
  return o;
}

namespace {

Status AddLabels(const std::vector<std::string>& labels, md::Container& c) {
  for (const auto& l : labels) {
    size_t eq = l.find('=');
    if (eq == 0 || eq == std::string::npos) {
      return Error(Code::kInvalidArgument, "--label {:?}: expected KEY=VALUE", l);
    }
    (*c.mutable_labels())[l.substr(0, eq)] = l.substr(eq + 1);
  }
  return Status::Ok();
}

// The snapshot is prepared; what remains may fail and must then remove it.
Result<md::Container> BuildRecord(CliContext& context, const ContainerFlags& flags,
                                  const client::LocalImage& image,
                                  const std::vector<snapshot::Mount>& mounts,
                                  const std::string& snapshotter) {
  std::vector<spec::RootfsMount> rootfs;
  for (const auto& m : mounts) rootfs.push_back({m.type, m.source, m.options});
  std::unique_ptr<spec::RootfsFiles> files = std::make_unique<spec::NoRootfsFiles>();
  if (auto layered = spec::LayeredRootfsFiles::FromMounts(rootfs); layered.ok()) {
    files = std::move(layered).value();
  }
  BERTH_ASSIGN_OR_RETURN(auto options, SpecOptionsFrom(context, flags));
  BERTH_ASSIGN_OR_RETURN(auto generated, spec::GenerateSpec(image.config.raw, options, *files));
  md::Container c;
  c.set_id(flags.id);
  c.set_image(flags.image);
  c.mutable_runtime()->set_name(flags.runtime);
  c.mutable_spec()->set_type_url(kSpecTypeUrl);
  c.mutable_spec()->set_value(generated.dump());
  c.set_snapshotter(snapshotter);
  c.set_snapshot_key(flags.id);
  BERTH_RETURN_IF_ERROR(AddLabels(flags.labels, c));
  return c;
}

}  // namespace

Result<CreatedContainer> CreateContainer(CliContext& context, const ContainerFlags& flags) {
  std::string snapshotter = flags.snapshotter.empty() ? "overlayfs" : flags.snapshotter;
  ImageServices services(context, snapshotter);
  BERTH_ASSIGN_OR_RETURN(auto record, FindImage(*services.images, flags.image));
  auto image = client::LoadImage(services.content, record.target,
                                 client::PlatformMatcher(client::HostPlatform()));
  if (!image.ok()) return image.status().Annotate("image " + flags.image);
  // The new snapshot has no container record yet: a collection running before the record
  // exists would remove it. A lease holds it until then (as containerd's clients do).
  BERTH_ASSIGN_OR_RETURN(auto lease, CommandLease::Create(*services.images, snapshotter));
  BERTH_RETURN_IF_ERROR(lease->AddSnapshot(flags.id));
  auto mounts = services.snapshots.Prepare(flags.id, image->TopChain(), {});
  if (!mounts.ok()) {
    return mounts.status().Annotate("prepare snapshot " + flags.id + " (is the image unpacked?)");
  }
  auto container = BuildRecord(context, flags, *image, *mounts, snapshotter);
  Status created = container.status();
  if (container.ok()) {
    md::CreateContainerRequest request;
    *request.mutable_container() = *container;
    md::ContainersClient client(context.ClientFor("metadata"));
    auto response = client.Create(request, context.Options());
    created = response.ok() ? Status::Ok() : response.status().Annotate("create container");
  }
  if (!created.ok()) {
    (void)services.snapshots.Remove(flags.id);
    return created;
  }
  return CreatedContainer{flags.id, snapshotter, flags.id};
}

Status RemoveContainer(CliContext& context, const std::string& id) {
  md::ContainersClient client(context.ClientFor("metadata"));
  md::GetContainerRequest get;
  get.set_id(id);
  auto found = client.Get(get, context.Options());
  std::string snapshotter, key;
  if (found.ok()) {
    snapshotter = found->container().snapshotter();
    key = found->container().snapshot_key();
    md::DeleteContainerRequest del;
    del.set_id(id);
    auto deleted = client.Delete(del, context.Options());
    if (!deleted.ok() && deleted.status().code() != Code::kNotFound) return deleted.status();
  } else if (found.status().code() != Code::kNotFound) {
    return found.status();
  }
  if (key.empty()) return Status::Ok();
  ImageServices services(context, snapshotter);
  Status removed = services.snapshots.Remove(key);
  if (!removed.ok() && removed.code() != Code::kNotFound) return removed;
  return Status::Ok();
}

namespace {

void AddContainerCreate(CLI::App& app, CliContext& context) {
  CLI::App* cmd = ContainerCommand(app)->add_subcommand(
      "create", "create a container (snapshot, spec, record) without starting it");
  auto flags = std::make_shared<ContainerFlags>();
  cmd->add_flag("--tty,-t", flags->terminal, "allocate a terminal for the task");
  flags->Add(cmd);
  cmd->callback(Run(context, [&context, flags, cmd] {
    flags->args = cmd->remaining();
    auto created = CreateContainer(context, *flags);
    if (!created.ok()) return context.Fail("metadata", created.status(), "container create");
    return 0;
  }));
}

}  // namespace

BERTH_COMMAND_GROUP("container-create", AddContainerCreate);

}  // namespace berth::cli
