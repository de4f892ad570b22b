// berthctl container (aliases containers, c): container records in berth-metadata.
//   ls [-q] [FILTER...]     CONTAINER IMAGE RUNTIME SNAPSHOT
//   info ID                 the record as JSON (the OCI spec decoded when it is JSON)
//   rm ID...                deletes records (not tasks: stop them first)
//   label ID [K=V...]       sets labels (K= removes one); without labels prints them
#include "cli/container.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <CLI/CLI.hpp>

#include "berth/metadata/v1/containers.berth.h"
#include "cli/command_group.h"
#include "cli/context.h"
#include "cli/metadata_util.h"

namespace berth::cli {

CLI::App* ContainerCommand(CLI::App& app) {
  auto found = app.get_subcommands([](CLI::App* sub) { return sub->get_name() == "container"; });
  if (!found.empty()) return found.front();
  auto* container = app.add_subcommand("container", "manage containers");
  container->alias("containers");
  container->alias("c");
  container->require_subcommand(1);
  return container;
}

namespace container_cmd {
namespace {

namespace v1 = ::berth::metadata::v1;

// An Any as JSON: its value parsed as JSON when it is (OCI specs are), else base64.
nlohmann::json AnyJson(const google::protobuf::Any& any) {
  nlohmann::json value = nlohmann::json::parse(any.value(), nullptr, false);
  if (value.is_discarded()) {
    std::string out(4 * ((any.value().size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(any.value().data()),
                            static_cast<int>(any.value().size()));
    out.resize(static_cast<size_t>(std::max(n, 0)));
    value = {{"base64", out}};
  }
  return {{"type_url", any.type_url()}, {"value", value}};
}

nlohmann::json ContainerJson(const v1::Container& c) {
  nlohmann::json extensions = nlohmann::json::object();
  for (const auto& [key, any] : c.extensions()) extensions[key] = AnyJson(any);
  nlohmann::json runtime = {{"name", c.runtime().name()}};
  if (c.runtime().has_options()) runtime["options"] = AnyJson(c.runtime().options());
  return {{"id", c.id()},
          {"image", c.image()},
          {"runtime", runtime},
          {"spec", c.has_spec() ? AnyJson(c.spec()) : nlohmann::json()},
          {"snapshotter", c.snapshotter()},
          {"snapshot_key", c.snapshot_key()},
          {"labels", LabelMap(c.labels())},
          {"extensions", extensions},
          {"sandbox", c.sandbox()},
          {"created_at", FormatTimestamp(c.created_at())},
          {"updated_at", FormatTimestamp(c.updated_at())}};
}

int List(CliContext& context, const std::vector<std::string>& filters, bool quiet) {
  v1::ContainersClient client(context.ClientFor("metadata"));
  v1::ListContainersRequest request;
  for (const auto& filter : filters) request.add_filters(filter);
  auto stream = client.ListStream(request, context.Options());
  std::vector<std::vector<std::string>> rows;
  nlohmann::json json = nlohmann::json::array();
  while (true) {
    auto message = stream.Recv();
    if (!message.ok()) return context.Fail("metadata", message.status(), "list containers");
    if (!message->has_value()) break;
    for (const auto& c : (*message)->containers()) {
      if (quiet) {
        fmt::print("{}\n", c.id());
        continue;
      }
      rows.push_back({c.id(), c.image().empty() ? "-" : c.image(), c.runtime().name(),
                      c.snapshot_key().empty() ? "-" : c.snapshotter() + "/" + c.snapshot_key()});
      json.push_back(ContainerJson(c));
    }
  }
  if (!quiet) context.PrintTable({"CONTAINER", "IMAGE", "RUNTIME", "SNAPSHOT"}, rows, json);
  return 0;
}

int Info(CliContext& context, const std::string& id) {
  v1::ContainersClient client(context.ClientFor("metadata"));
  v1::GetContainerRequest request;
  request.set_id(id);
  auto found = client.Get(request, context.Options());
  if (!found.ok()) return context.Fail("metadata", found.status());
  context.PrintJson(ContainerJson(found->container()));
  return 0;
}

int Remove(CliContext& context, const std::vector<std::string>& ids) {
  v1::ContainersClient client(context.ClientFor("metadata"));
  int code = 0;
  for (const auto& id : ids) {
    v1::DeleteContainerRequest request;
    request.set_id(id);
    auto deleted = client.Delete(request, context.Options());
    if (!deleted.ok()) {
      code = context.Fail("metadata", deleted.status(), "remove container " + id);
      continue;
    }
    fmt::print("{}\n", id);
  }
  return code;
}

int Label(CliContext& context, const std::string& id, const std::vector<std::string>& args) {
  auto labels = ParseKeyValues(args);
  if (!labels.ok()) return context.Fail(labels.status().message());
  v1::ContainersClient client(context.ClientFor("metadata"));
  if (labels->empty()) {
    v1::GetContainerRequest get;
    get.set_id(id);
    auto found = client.Get(get, context.Options());
    if (!found.ok()) return context.Fail("metadata", found.status());
    fmt::print("{}\n", JoinLabels(found->container().labels()));
    return 0;
  }
  v1::UpdateContainerRequest request;
  request.mutable_container()->set_id(id);
  for (const auto& [key, value] : *labels) {
    if (!value.empty()) (*request.mutable_container()->mutable_labels())[key] = value;
    request.mutable_update_mask()->add_paths("labels." + key);
  }
  auto updated = client.Update(request, context.Options());
  if (!updated.ok()) return context.Fail("metadata", updated.status(), "label container");
  fmt::print("{}\n", JoinLabels(updated->container().labels()));
  return 0;
}

void AddContainer(CLI::App& app, CliContext& context) {
  auto* container = ContainerCommand(app);

  auto* ls = container->add_subcommand("ls", "list containers");
  ls->alias("list");
  auto filters = std::make_shared<std::vector<std::string>>();
  auto quiet = std::make_shared<bool>(false);
  ls->add_option("filters", *filters, "filters, e.g. image~=busybox labels.app==web");
  ls->add_flag("-q,--quiet", *quiet, "ids only");
  ls->callback(
      Run(context, [&context, filters, quiet] { return List(context, *filters, *quiet); }));

  auto* info = container->add_subcommand("info", "show a container record as JSON");
  auto info_id = std::make_shared<std::string>();
  info->add_option("id", *info_id, "container id")->required();
  info->callback(Run(context, [&context, info_id] { return Info(context, *info_id); }));

  auto* rm = container->add_subcommand("rm", "delete container records");
  rm->alias("remove");
  rm->alias("delete");
  auto ids = std::make_shared<std::vector<std::string>>();
  rm->add_option("ids", *ids, "container ids")->required();
  rm->callback(Run(context, [&context, ids] { return Remove(context, *ids); }));

  auto* label = container->add_subcommand("label", "set (K=V) or remove (K=) container labels");
  auto label_id = std::make_shared<std::string>();
  auto label_args = std::make_shared<std::vector<std::string>>();
  label->add_option("id", *label_id, "container id")->required();
  label->add_option("labels", *label_args, "KEY=VALUE labels");
  label->callback(Run(context, [&context, label_id, label_args] {
    return Label(context, *label_id, *label_args);
  }));
}

}  // namespace

BERTH_COMMAND_GROUP("container", AddContainer);

}  // namespace container_cmd

}  // namespace berth::cli
