// berthctl snapshot: the snapshotters of berth-snapshot, like `ctr snapshots`.
//   [--snapshotter NAME] (overlayfs by default, or native) before the subcommand, then:
//   ls [FILTER...]                  KEY PARENT KIND (filters: name, parent, kind, labels.K)
//   tree                            parent chains as a tree
//   prepare KEY [PARENT]            a new active snapshot; prints its mounts
//   view KEY [PARENT]               a new read-only view; prints its mounts
//   mounts TARGET KEY               mount(8) commands that assemble KEY at TARGET
//   commit NAME KEY                 commits active KEY as NAME
//   rm KEY...                       removes snapshots
//   usage [KEY...]                  disk usage (size, inodes)
//   info KEY                        a snapshot's info (JSON)
//   label KEY K=V...                sets (K=V) or removes (K=) labels
//   cleanup                         removes directories no snapshot refers to
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

#include "cli/command_group.h"
#include "cli/context.h"
#include "common/time.h"
#include "services/snapshot/proxy.h"

namespace berth::cli {
namespace snapshot_cmd {
namespace {

using snapshot::Info;
using snapshot::Mount;

snapshot::SnapshotterProxy ProxyFor(CliContext& context, const std::string& snapshotter) {
  snapshot::ProxyOptions options;
  options.ns = context.ns;
  options.timeout = context.Options(std::chrono::minutes(10)).timeout;
  return snapshot::SnapshotterProxy(context.ClientFor("snapshot"), snapshotter, options);
}

nlohmann::json InfoJson(const Info& info) {
  return {{"name", info.name},
          {"parent", info.parent},
          {"kind", std::string(snapshot::KindName(info.kind))},
          {"created_at", FormatRfc3339Nano(info.created_at)},
          {"updated_at", FormatRfc3339Nano(info.updated_at)},
          {"labels", info.labels}};
}

nlohmann::json MountsJson(const std::vector<Mount>& mounts) {
  nlohmann::json json = nlohmann::json::array();
  for (const Mount& m : mounts) {
    json.push_back(
        {{"type", m.type}, {"source", m.source}, {"target", m.target}, {"options", m.options}});
  }
  return json;
}

// One mount(8) line per mount, like ctr.
void PrintMountCommands(const std::vector<Mount>& mounts, const std::string& target) {
  for (const Mount& m : mounts) {
    std::string where = m.target.empty() ? target : target + "/" + m.target;
    fmt::print("mount -t {} {} {} -o {}\n", m.type, m.source, where, fmt::join(m.options, ","));
  }
}

Result<snapshot::Labels> ParseLabels(const std::vector<std::string>& pairs) {
  snapshot::Labels labels;
  for (const std::string& pair : pairs) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error(Code::kInvalidArgument, "labels are KEY=VALUE, got \"{}\"", pair);
    }
    labels[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return labels;
}

Result<std::vector<Info>> ListAll(snapshot::SnapshotterProxy& proxy,
                                  const std::vector<std::string>& filters) {
  std::vector<Info> infos;
  BERTH_RETURN_IF_ERROR(proxy.Walk(
      [&](const Info& info) {
        infos.push_back(info);
        return Status::Ok();
      },
      filters));
  return infos;
}

int List(CliContext& context, const std::string& snapshotter,
         const std::vector<std::string>& filters) {
  auto proxy = ProxyFor(context, snapshotter);
  auto infos = ListAll(proxy, filters);
  if (!infos.ok()) return context.Fail("snapshot", infos.status(), "list snapshots");
  std::vector<std::vector<std::string>> rows;
  nlohmann::json json = nlohmann::json::array();
  for (const Info& info : *infos) {
    rows.push_back({info.name, info.parent.empty() ? "-" : info.parent,
                    std::string(snapshot::KindName(info.kind))});
    json.push_back(InfoJson(info));
  }
  context.PrintTable({"KEY", "PARENT", "KIND"}, rows, json);
  return 0;
}

void PrintTree(const std::multimap<std::string, std::string>& children, const std::string& name,
               int depth) {
  fmt::print("{}{}{}\n", std::string(depth * 3, ' '), depth ? "\\_ " : "", name);
  auto [begin, end] = children.equal_range(name);
  for (auto it = begin; it != end; ++it) PrintTree(children, it->second, depth + 1);
}

int Tree(CliContext& context, const std::string& snapshotter) {
  auto proxy = ProxyFor(context, snapshotter);
  auto infos = ListAll(proxy, {});
  if (!infos.ok()) return context.Fail("snapshot", infos.status(), "list snapshots");
  std::multimap<std::string, std::string> children;
  for (const Info& info : *infos) children.emplace(info.parent, info.name);
  auto [begin, end] = children.equal_range("");
  for (auto it = begin; it != end; ++it) PrintTree(children, it->second, 0);
  return 0;
}

int Create(CliContext& context, const std::string& snapshotter, bool view, const std::string& key,
           const std::string& parent, const std::vector<std::string>& label_args,
           const std::string& target) {
  auto labels = ParseLabels(label_args);
  if (!labels.ok()) return context.Fail(labels.status().message());
  auto proxy = ProxyFor(context, snapshotter);
  auto mounts = view ? proxy.View(key, parent, *labels) : proxy.Prepare(key, parent, *labels);
  if (!mounts.ok())
    return context.Fail("snapshot", mounts.status(), (view ? "view " : "prepare ") + key);
  if (context.json()) {
    context.PrintJson(MountsJson(*mounts));
  } else if (!target.empty()) {
    PrintMountCommands(*mounts, target);
  } else {
    for (const Mount& m : *mounts) fmt::print("{}\n", snapshot::MountToString(m));
  }
  return 0;
}

int Mounts(CliContext& context, const std::string& snapshotter, const std::string& target,
           const std::string& key) {
  auto proxy = ProxyFor(context, snapshotter);
  auto mounts = proxy.Mounts(key);
  if (!mounts.ok()) return context.Fail("snapshot", mounts.status(), "mounts of " + key);
  if (context.json()) {
    context.PrintJson(MountsJson(*mounts));
  } else {
    PrintMountCommands(*mounts, target);
  }
  return 0;
}

int Commit(CliContext& context, const std::string& snapshotter, const std::string& name,
           const std::string& key, const std::vector<std::string>& label_args) {
  auto labels = ParseLabels(label_args);
  if (!labels.ok()) return context.Fail(labels.status().message());
  auto proxy = ProxyFor(context, snapshotter);
  Status status = proxy.Commit(name, key, *labels);
  if (!status.ok()) return context.Fail("snapshot", status, "commit " + key);
  return 0;
}

int Remove(CliContext& context, const std::string& snapshotter,
           const std::vector<std::string>& keys) {
  auto proxy = ProxyFor(context, snapshotter);
  int code = 0;
  for (const std::string& key : keys) {
    Status status = proxy.Remove(key);
    if (!status.ok()) code = context.Fail("snapshot", status, "remove " + key);
  }
  return code;
}

int ShowUsage(CliContext& context, const std::string& snapshotter, std::vector<std::string> keys) {
  auto proxy = ProxyFor(context, snapshotter);
  if (keys.empty()) {
    auto infos = ListAll(proxy, {});
    if (!infos.ok()) return context.Fail("snapshot", infos.status(), "list snapshots");
    for (const Info& info : *infos) keys.push_back(info.name);
  }
  std::vector<std::vector<std::string>> rows;
  nlohmann::json json = nlohmann::json::array();
  for (const std::string& key : keys) {
    auto usage = proxy.GetUsage(key);
    if (!usage.ok()) return context.Fail("snapshot", usage.status(), "usage of " + key);
    rows.push_back(
        {key, fmt::format("{:.1f} KiB", usage->size / 1024.0), std::to_string(usage->inodes)});
    json.push_back({{"key", key}, {"size", usage->size}, {"inodes", usage->inodes}});
  }
  context.PrintTable({"KEY", "SIZE", "INODES"}, rows, json);
  return 0;
}

int ShowInfo(CliContext& context, const std::string& snapshotter, const std::string& key) {
  auto proxy = ProxyFor(context, snapshotter);
  auto info = proxy.Stat(key);
  if (!info.ok()) return context.Fail("snapshot", info.status(), "info " + key);
  context.PrintJson(InfoJson(*info));
  return 0;
}

int Label(CliContext& context, const std::string& snapshotter, const std::string& key,
          const std::vector<std::string>& pairs) {
  Info info;
  info.name = key;
  std::vector<std::string> paths;
  for (const std::string& pair : pairs) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0)
      return context.Fail("labels are KEY=VALUE, got " + pair);
    info.labels[pair.substr(0, eq)] = pair.substr(eq + 1);
    paths.push_back("labels." + pair.substr(0, eq));
  }
  auto proxy = ProxyFor(context, snapshotter);
  auto updated = proxy.Update(info, paths);
  if (!updated.ok()) return context.Fail("snapshot", updated.status(), "label " + key);
  context.PrintJson(InfoJson(*updated));
  return 0;
}

int Cleanup(CliContext& context, const std::string& snapshotter) {
  auto proxy = ProxyFor(context, snapshotter);
  auto removed = proxy.Cleanup();
  if (!removed.ok()) return context.Fail("snapshot", removed.status(), "cleanup");
  fmt::print("removed {} unreferenced directories\n", *removed);
  return 0;
}

struct Args {
  std::string snapshotter;
  std::vector<std::string> list;
  std::vector<std::string> labels;
  std::string key, parent, name, target;
};

void AddCreate(CLI::App* group, CliContext& context, std::shared_ptr<Args> a, bool view) {
  CLI::App* cmd = group->add_subcommand(
      view ? "view" : "prepare",
      view ? "create a read-only view of a committed snapshot" : "create an active snapshot");
  cmd->add_option("key", a->key, "key of the new snapshot")->required();
  cmd->add_option("parent", a->parent, "committed parent (none: an empty snapshot)");
  cmd->add_option("--label", a->labels, "KEY=VALUE label");
  cmd->add_option("--target", a->target, "print mount(8) commands for this mount point");
  cmd->callback(Run(context, [&context, a, view] {
    return Create(context, a->snapshotter, view, a->key, a->parent, a->labels, a->target);
  }));
}

void AddSnapshot(CLI::App& app, CliContext& context) {
  auto a = std::make_shared<Args>();
  CLI::App* group = app.add_subcommand("snapshot", "snapshots (berth-snapshot)");
  group->alias("snapshots");
  group->require_subcommand(1);
  group->add_option("--snapshotter", a->snapshotter, "overlayfs (default) or native");

  CLI::App* ls = group->add_subcommand("ls", "list snapshots");
  ls->alias("list");
  ls->add_option("filters", a->list, "filters over name, parent, kind, labels.K (any may match)");
  ls->callback(Run(context, [&context, a] { return List(context, a->snapshotter, a->list); }));

  CLI::App* tree = group->add_subcommand("tree", "show parent chains as a tree");
  tree->callback(Run(context, [&context, a] { return Tree(context, a->snapshotter); }));

  AddCreate(group, context, a, false);
  AddCreate(group, context, a, true);

  CLI::App* mounts = group->add_subcommand("mounts", "mount(8) commands for a snapshot");
  mounts->add_option("target", a->target, "mount point")->required();
  mounts->add_option("key", a->key, "active snapshot or view")->required();
  mounts->callback(
      Run(context, [&context, a] { return Mounts(context, a->snapshotter, a->target, a->key); }));

  CLI::App* commit = group->add_subcommand("commit", "commit an active snapshot");
  commit->add_option("name", a->name, "name of the committed snapshot")->required();
  commit->add_option("key", a->key, "active snapshot")->required();
  commit->add_option("--label", a->labels, "KEY=VALUE label");
  commit->callback(Run(context, [&context, a] {
    return Commit(context, a->snapshotter, a->name, a->key, a->labels);
  }));

  CLI::App* rm = group->add_subcommand("rm", "remove snapshots");
  rm->alias("remove");
  rm->add_option("keys", a->list, "keys")->required();
  rm->callback(Run(context, [&context, a] { return Remove(context, a->snapshotter, a->list); }));

  CLI::App* usage = group->add_subcommand("usage", "disk usage of snapshots");
  usage->add_option("keys", a->list, "keys (default: all)");
  usage->callback(
      Run(context, [&context, a] { return ShowUsage(context, a->snapshotter, a->list); }));

  CLI::App* info = group->add_subcommand("info", "a snapshot's info");
  info->add_option("key", a->key, "key")->required();
  info->callback(Run(context, [&context, a] { return ShowInfo(context, a->snapshotter, a->key); }));

  CLI::App* label = group->add_subcommand("label", "set (K=V) or remove (K=) labels");
  label->add_option("key", a->key, "key")->required();
  label->add_option("labels", a->list, "KEY=VALUE...")->required();
  label->callback(
      Run(context, [&context, a] { return Label(context, a->snapshotter, a->key, a->list); }));

  CLI::App* cleanup = group->add_subcommand("cleanup", "remove unreferenced directories");
  cleanup->callback(Run(context, [&context, a] { return Cleanup(context, a->snapshotter); }));
}

}  // namespace

BERTH_COMMAND_GROUP("snapshot", AddSnapshot);

}  // namespace snapshot_cmd

}  // namespace berth::cli
