// berthctl namespaces (alias ns): the metadata service's namespaces, like `ctr namespaces`.
//   ls [-q]                 NAME LABELS
//   create NAME [K=V...]    creates a namespace with labels
//   rm NAME...              deletes empty namespaces
//   label NAME [K=V...]     sets labels (K= removes one); without labels prints them
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "berth/metadata/v1/namespaces.berth.h"
#include "cli/command_group.h"
#include "cli/context.h"
#include "cli/metadata_util.h"

namespace berth::cli {
namespace namespaces_cmd {
namespace {

namespace v1 = ::berth::metadata::v1;

int List(CliContext& context, bool quiet) {
  v1::NamespacesClient client(context.ClientFor("metadata"));
  auto listed = client.List(v1::ListNamespacesRequest(), context.Options());
  if (!listed.ok()) return context.Fail("metadata", listed.status(), "list namespaces");
  std::vector<std::vector<std::string>> rows;
  nlohmann::json json = nlohmann::json::array();
  for (const auto& ns : listed->namespaces()) {
    if (quiet) {
      fmt::print("{}\n", ns.name());
      continue;
    }
    rows.push_back({ns.name(), JoinLabels(ns.labels())});
    json.push_back({{"name", ns.name()}, {"labels", LabelMap(ns.labels())}});
  }
  if (!quiet) context.PrintTable({"NAME", "LABELS"}, rows, json);
  return 0;
}

int Create(CliContext& context, const std::string& name, const std::vector<std::string>& args) {
  auto labels = ParseKeyValues(args);
  if (!labels.ok()) return context.Fail(labels.status().message());
  v1::CreateNamespaceRequest request;
  request.mutable_namespace_()->set_name(name);
  request.mutable_namespace_()->mutable_labels()->insert(labels->begin(), labels->end());
  v1::NamespacesClient client(context.ClientFor("metadata"));
  auto created = client.Create(request, context.Options());
  if (!created.ok()) return context.Fail("metadata", created.status(), "create namespace");
  return 0;
}

int Remove(CliContext& context, const std::vector<std::string>& names) {
  v1::NamespacesClient client(context.ClientFor("metadata"));
  int code = 0;
  for (const auto& name : names) {
    v1::DeleteNamespaceRequest request;
    request.set_name(name);
    auto deleted = client.Delete(request, context.Options());
    if (!deleted.ok()) {
      code = context.Fail("metadata", deleted.status(), "remove namespace " + name);
      continue;
    }
    fmt::print("{}\n", name);
  }
  return code;
}

int Label(CliContext& context, const std::string& name, const std::vector<std::string>& args) {
  auto labels = ParseKeyValues(args);
  if (!labels.ok()) return context.Fail(labels.status().message());
  v1::NamespacesClient client(context.ClientFor("metadata"));
  if (labels->empty()) {
    v1::GetNamespaceRequest request;
    request.set_name(name);
    auto got = client.Get(request, context.Options());
    if (!got.ok()) return context.Fail("metadata", got.status());
    fmt::print("{}\n", JoinLabels(got->namespace_().labels()));
    return 0;
  }
  v1::UpdateNamespaceRequest request;
  request.mutable_namespace_()->set_name(name);
  for (const auto& [key, value] : *labels) {
    if (!value.empty()) (*request.mutable_namespace_()->mutable_labels())[key] = value;
    request.mutable_update_mask()->add_paths("labels." + key);
  }
  auto updated = client.Update(request, context.Options());
  if (!updated.ok()) return context.Fail("metadata", updated.status(), "label namespace");
  fmt::print("{}\n", JoinLabels(updated->namespace_().labels()));
  return 0;
}

void AddNamespaces(CLI::App& app, CliContext& context) {
  auto* group = app.add_subcommand("namespaces", "manage namespaces (berth-metadata)");
  group->alias("ns");
  group->alias("namespace");
  group->require_subcommand(1);

  auto* ls = group->add_subcommand("ls", "list namespaces");
  ls->alias("list");
  auto quiet = std::make_shared<bool>(false);
  ls->add_flag("-q,--quiet", *quiet, "names only");
  ls->callback(Run(context, [&context, quiet] { return List(context, *quiet); }));

  auto* create = group->add_subcommand("create", "create a namespace");
  auto name = std::make_shared<std::string>();
  auto labels = std::make_shared<std::vector<std::string>>();
  create->add_option("name", *name, "namespace name")->required();
  create->add_option("labels", *labels, "KEY=VALUE labels");
  create->callback(
      Run(context, [&context, name, labels] { return Create(context, *name, *labels); }));

  auto* rm = group->add_subcommand("rm", "delete empty namespaces");
  rm->alias("remove");
  auto names = std::make_shared<std::vector<std::string>>();
  rm->add_option("names", *names, "namespace names")->required();
  rm->callback(Run(context, [&context, names] { return Remove(context, *names); }));

  auto* label = group->add_subcommand("label", "set (K=V) or remove (K=) namespace labels");
  auto label_name = std::make_shared<std::string>();
  auto label_args = std::make_shared<std::vector<std::string>>();
  label->add_option("name", *label_name, "namespace name")->required();
  label->add_option("labels", *label_args, "KEY=VALUE labels");
  label->callback(Run(context, [&context, label_name, label_args] {
    return Label(context, *label_name, *label_args);
  }));
}

}  // namespace

BERTH_COMMAND_GROUP("namespaces", AddNamespaces);

}  // namespace namespaces_cmd

}  // namespace berth::cli
