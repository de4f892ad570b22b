// berthctl image (alias images), the metadata part: image records in berth-metadata.
//   ls [-q] [FILTER...]            REF TYPE DIGEST SIZE CREATED LABELS (filters: containerd's;
//                                  SIZE: the host platform's content present in berth-content)
//   rm [--sync] NAME...            deletes image records (--sync: wait for GC, print its report)
//   tag [--force] SOURCE TARGET... new names for SOURCE's target (--force replaces TARGET)
//   label NAME [K=V...]            sets labels (K= removes one); without labels prints them
// Other files add pull, push, import... through ImageCommand (cli/image.h).
#include "cli/image.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "berth/metadata/v1/images.berth.h"
#include "cli/command_group.h"
#include "cli/context.h"
#include "cli/metadata_util.h"
#include "client/local_image.h"
#include "client/platform.h"
#include "client/progress.h"
#include "services/content/proxy.h"

namespace berth::cli {

CLI::App* ImageCommand(CLI::App& app) {
  auto found = app.get_subcommands([](CLI::App* sub) { return sub->get_name() == "image"; });
  if (!found.empty()) return found.front();
  auto* image = app.add_subcommand("image", "manage images");
  image->alias("images");
  image->require_subcommand(1);
  return image;
}

namespace image_cmd {
namespace {

namespace v1 = ::berth::metadata::v1;

std::string MediaTypeName(const std::string& media_type) {
  if (media_type.find("image.index") != std::string::npos ||
      media_type.find("manifest.list") != std::string::npos) {
    return "index";
  }
  if (media_type.find("manifest") != std::string::npos) return "manifest";
  return media_type;
}

// The size of an image's content for this host's platform (index, manifest, config, layers
// present in the content store), or nullopt when the content service cannot say.
std::optional<uint64_t> ImageSize(content::Store& store, const v1::Image& image) {
  client::Descriptor target;
  target.media_type = image.target().media_type();
  target.size = image.target().size();
  auto digest = ParseDigest(image.target().digest());
  if (!digest.ok()) return std::nullopt;
  target.digest = *digest;
  auto check =
      client::CheckImage(store, nullptr, target, client::PlatformMatcher(client::HostPlatform()));
  if (!check.ok()) return std::nullopt;
  return check->size;
}

int List(CliContext& context, const std::vector<std::string>& filters, bool quiet) {
  v1::ImagesClient client(context.ClientFor("metadata"));
  v1::ListImagesRequest request;
  for (const auto& filter : filters) request.add_filters(filter);
  auto stream = client.ListStream(request, context.Options());
  std::vector<v1::Image> images;
  while (true) {
    auto message = stream.Recv();
    if (!message.ok()) return context.Fail("metadata", message.status(), "list images");
    if (!message->has_value()) break;
    for (auto& image : *(*message)->mutable_images()) images.push_back(std::move(image));
  }
  std::sort(images.begin(), images.end(),
            [](const auto& a, const auto& b) { return a.name() < b.name(); });
  std::vector<std::vector<std::string>> rows;
  nlohmann::json json = nlohmann::json::array();
  content::Proxy store(context.ClientFor("content"), {.ns = context.ns});
  for (const auto& image : images) {
    if (quiet) {
      fmt::print("{}\n", image.name());
      continue;
    }
    const auto& t = image.target();
    std::optional<uint64_t> size = ImageSize(store, image);
    rows.push_back({image.name(), MediaTypeName(t.media_type()), t.digest(),
                    size ? client::HumanBytes(*size) : "-", FormatTimestamp(image.created_at()),
                    JoinLabels(image.labels())});
    json.push_back(
        {{"name", image.name()},
         {"target", {{"mediaType", t.media_type()}, {"digest", t.digest()}, {"size", t.size()}}},
         {"size", size ? nlohmann::json(*size) : nlohmann::json()},
         {"labels", LabelMap(image.labels())},
         {"created_at", FormatTimestamp(image.created_at())},
         {"updated_at", FormatTimestamp(image.updated_at())}});
  }
  if (!quiet) {
    context.PrintTable({"REF", "TYPE", "DIGEST", "SIZE", "CREATED", "LABELS"}, rows, json);
  }
  return 0;
}

int Remove(CliContext& context, const std::vector<std::string>& names, bool sync) {
  v1::ImagesClient client(context.ClientFor("metadata"));
  int code = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    v1::DeleteImageRequest request;
    request.set_name(names[i]);
    request.set_sync(sync && i + 1 == names.size());  // one collection after the last
    auto deleted = client.Delete(request, context.Options(std::chrono::minutes(5)));
    if (!deleted.ok()) {
      code = context.Fail("metadata", deleted.status(), "remove image " + names[i]);
      continue;
    }
    fmt::print("{}\n", names[i]);
    if (deleted->has_gc()) {
      fmt::print(stderr, "gc: removed {} blobs, {} snapshots\n",
                 deleted->gc().removed_content_size(), deleted->gc().removed_snapshots_size());
    }
  }
  return code;
}

int Tag(CliContext& context, const std::string& source, const std::vector<std::string>& targets,
        bool force) {
  v1::ImagesClient client(context.ClientFor("metadata"));
  v1::GetImageRequest get;
  get.set_name(source);
  auto found = client.Get(get, context.Options());
  if (!found.ok()) return context.Fail("metadata", found.status(), "tag");
  for (const auto& target : targets) {
    v1::CreateImageRequest create;
    *create.mutable_image() = found->image();
    create.mutable_image()->set_name(target);
    auto created = client.Create(create, context.Options());
    if (!created.ok() && created.status().code() == Code::kAlreadyExists && force) {
      v1::UpdateImageRequest update;
      *update.mutable_image() = create.image();
      update.mutable_update_mask()->add_paths("target");
      auto updated = client.Update(update, context.Options());
      if (!updated.ok()) return context.Fail("metadata", updated.status(), "tag " + target);
    } else if (!created.ok()) {
      return context.Fail(
          "metadata", created.status(),
          "tag " + target +
              (created.status().code() == Code::kAlreadyExists ? " (use --force to replace it)"
                                                               : ""));
    }
    fmt::print("{}\n", target);
  }
  return 0;
}

int Label(CliContext& context, const std::string& name, const std::vector<std::string>& args) {
  auto labels = ParseKeyValues(args);
  if (!labels.ok()) return context.Fail(labels.status().message());
  v1::ImagesClient client(context.ClientFor("metadata"));
  if (labels->empty()) {
    v1::GetImageRequest get;
    get.set_name(name);
    auto found = client.Get(get, context.Options());
    if (!found.ok()) return context.Fail("metadata", found.status());
    fmt::print("{}\n", JoinLabels(found->image().labels()));
    return 0;
  }
  v1::UpdateImageRequest request;
  request.mutable_image()->set_name(name);
  for (const auto& [key, value] : *labels) {
    if (!value.empty()) (*request.mutable_image()->mutable_labels())[key] = value;
    request.mutable_update_mask()->add_paths("labels." + key);
  }
  auto updated = client.Update(request, context.Options());
  if (!updated.ok()) return context.Fail("metadata", updated.status(), "label image");
  fmt::print("{}\n", JoinLabels(updated->image().labels()));
  return 0;
}

void AddImage(CLI::App& app, CliContext& context) {
  auto* image = ImageCommand(app);

  auto* ls = image->add_subcommand("ls", "list images");
  ls->alias("list");
  auto filters = std::make_shared<std::vector<std::string>>();
  auto quiet = std::make_shared<bool>(false);
  ls->add_option("filters", *filters, "filters, e.g. name~=busybox labels.\"a.b\"==c");
  ls->add_flag("-q,--quiet", *quiet, "names only");
  ls->callback(
      Run(context, [&context, filters, quiet] { return List(context, *filters, *quiet); }));

  auto* rm = image->add_subcommand("rm", "delete image records");
  rm->alias("remove");
  auto names = std::make_shared<std::vector<std::string>>();
  auto sync = std::make_shared<bool>(false);
  rm->add_option("names", *names, "image names")->required();
  rm->add_flag("--sync", *sync, "wait for garbage collection before returning");
  rm->callback(Run(context, [&context, names, sync] { return Remove(context, *names, *sync); }));

  auto* tag = image->add_subcommand("tag", "give an image more names");
  auto source = std::make_shared<std::string>();
  auto targets = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  tag->add_option("source", *source, "existing image name")->required();
  tag->add_option("targets", *targets, "new names")->required();
  tag->add_flag("-f,--force", *force, "replace a target that exists");
  tag->callback(Run(context, [&context, source, targets, force] {
    return Tag(context, *source, *targets, *force);
  }));

  auto* label = image->add_subcommand("label", "set (K=V) or remove (K=) image labels");
  auto label_name = std::make_shared<std::string>();
  auto label_args = std::make_shared<std::vector<std::string>>();
  label->add_option("name", *label_name, "image name")->required();
  label->add_option("labels", *label_args, "KEY=VALUE labels");
  label->callback(Run(context, [&context, label_name, label_args] {
    return Label(context, *label_name, *label_args);
  }));
}

}  // namespace

BERTH_COMMAND_GROUP("image", AddImage);

}  // namespace image_cmd

}  // namespace berth::cli
