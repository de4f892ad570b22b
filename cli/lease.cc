// berthctl lease (alias leases): leases in berth-metadata, which keep resources from GC.
//   ls [-q] [FILTER...]                         ID CREATED EXPIRES LABELS
//   create [--id ID] [--expires 24h] [K=V...]   prints the new lease's id
//   rm [--sync] ID...                           deletes leases (--sync: wait for GC)
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <random>

#include "berth/metadata/v1/leases.berth.h"
#include "cli/command_group.h"
#include "cli/context.h"
#include "cli/metadata_util.h"

namespace berth::cli {
namespace lease_cmd {
namespace {

namespace v1 = ::berth::metadata::v1;

constexpr char kExpireLabel[] = "containerd.io/gc.expire";

int List(CliContext& context, const std::vector<std::string>& filters, bool quiet) {
  v1::LeasesClient client(context.ClientFor("metadata"));
  v1::ListLeasesRequest request;
  for (const auto& filter : filters) request.add_filters(filter);
  auto listed = client.List(request, context.Options());
  if (!listed.ok()) return context.Fail("metadata", listed.status(), "list leases");
  std::vector<std::vector<std::string>> rows;
  nlohmann::json json = nlohmann::json::array();
  for (const auto& lease : listed->leases()) {
    if (quiet) {
      fmt::print("{}\n", lease.id());
      continue;
    }
    auto expire = lease.labels().find(kExpireLabel);
    rows.push_back({lease.id(), FormatTimestamp(lease.created_at()),
                    expire == lease.labels().end() ? "-" : expire->second,
                    JoinLabels(lease.labels())});
    json.push_back({{"id", lease.id()},
                    {"created_at", FormatTimestamp(lease.created_at())},
                    {"labels", LabelMap(lease.labels())}});
  }
  if (!quiet) context.PrintTable({"ID", "CREATED", "EXPIRES", "LABELS"}, rows, json);
  return 0;
}

std::string RandomId() {
  std::random_device random;
  return fmt::format("berthctl-{:08x}{:08x}", random(), random());
}

int Create(CliContext& context, std::string id, const std::string& expires,
           const std::vector<std::string>& args) {
  auto labels = ParseKeyValues(args);
  if (!labels.ok()) return context.Fail(labels.status().message());
  v1::CreateLeaseRequest request;
  request.set_id(id.empty() ? RandomId() : id);
  request.mutable_labels()->insert(labels->begin(), labels->end());
  if (!expires.empty()) {
    auto duration = ParseDuration(expires);
    if (!duration.ok()) return context.Fail("--expires: " + duration.status().message());
    (*request.mutable_labels())[kExpireLabel] =
        FormatRfc3339Nano(NowUnixNanos() + duration->count());
  }
  v1::LeasesClient client(context.ClientFor("metadata"));
  auto created = client.Create(request, context.Options());
  if (!created.ok()) return context.Fail("metadata", created.status(), "create lease");
  fmt::print("{}\n", created->lease().id());
  return 0;
}

int Remove(CliContext& context, const std::vector<std::string>& ids, bool sync) {
  v1::LeasesClient client(context.ClientFor("metadata"));
  int code = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    v1::DeleteLeaseRequest request;
    request.set_id(ids[i]);
    request.set_sync(sync && i + 1 == ids.size());
    auto deleted = client.Delete(request, context.Options(std::chrono::minutes(5)));
    if (!deleted.ok()) {
      code = context.Fail("metadata", deleted.status(), "remove lease " + ids[i]);
      continue;
    }
    fmt::print("{}\n", ids[i]);
  }
  return code;
}

void AddLease(CLI::App& app, CliContext& context) {
  auto* group = app.add_subcommand("lease", "manage leases (they keep resources from GC)");
  group->alias("leases");
  group->require_subcommand(1);

  auto* ls = group->add_subcommand("ls", "list leases");
  ls->alias("list");
  auto filters = std::make_shared<std::vector<std::string>>();
  auto quiet = std::make_shared<bool>(false);
  ls->add_option("filters", *filters, "filters, e.g. id~=^pull labels.k==v");
  ls->add_flag("-q,--quiet", *quiet, "ids only");
  ls->callback(
      Run(context, [&context, filters, quiet] { return List(context, *filters, *quiet); }));

  auto* create = group->add_subcommand("create", "create a lease and print its id");
  auto id = std::make_shared<std::string>();
  auto expires = std::make_shared<std::string>();
  auto labels = std::make_shared<std::vector<std::string>>();
  create->add_option("--id", *id, "lease id (default: random)");
  create->add_option("--expires", *expires, "expire after this duration, e.g. 24h, 90m");
  create->add_option("labels", *labels, "KEY=VALUE labels");
  create->callback(Run(context, [&context, id, expires, labels] {
    return Create(context, *id, *expires, *labels);
  }));

  auto* rm = group->add_subcommand("rm", "delete leases");
  rm->alias("remove");
  auto ids = std::make_shared<std::vector<std::string>>();
  auto sync = std::make_shared<bool>(false);
  rm->add_option("ids", *ids, "lease ids")->required();
  rm->add_flag("--sync", *sync, "wait for garbage collection before returning");
  rm->callback(Run(context, [&context, ids, sync] { return Remove(context, *ids, *sync); }));
}

}  // namespace

BERTH_COMMAND_GROUP("lease", AddLease);

}  // namespace lease_cmd

}  // namespace berth::cli
