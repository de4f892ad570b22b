// berthctl image import / export: OCI layout and docker save archives.
//   import [--base-name NAME] [--no-unpack] [--platform P] [--snapshotter S] FILE
//   export [--platform P | --all-platforms] [--compress gzip|zstd] FILE REF...
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command_group.h"
#include "cli/context.h"
#include "cli/image.h"
#include "cli/image_services.h"
#include "client/archive.h"
#include "client/local_image.h"
#include "client/pull.h"

namespace berth::cli {
namespace image_archive_cmd {
namespace {

struct ImportFlags {
  std::string file, base_name, platform, snapshotter = "overlayfs";
  bool no_unpack = false;
};

// Records (and unpacks) one imported image.
Status RecordImage(ImageServices& s, const ImportFlags& f, const std::string& lease,
                   const client::ArchiveImage& image, const client::Platform& platform) {
  client::ImageRecord record{image.name, image.target, {}};
  if (!f.no_unpack) {
    auto local = client::LoadImage(s.content, image.target, client::PlatformMatcher(platform));
    if (!local.ok()) return local.status();
    client::UnpackContext ctx{&s.content,    &s.snapshots,   &s.differ,
                              f.snapshotter, s.images.get(), lease};
    BERTH_RETURN_IF_ERROR(client::UnpackImage(ctx, *local, nullptr));
    BERTH_RETURN_IF_ERROR(
        client::AddContentLabels(s.content, local->manifest.config.digest,
                                 client::SnapshotLabel(f.snapshotter, local->TopChain())));
    record.labels = client::ImageLabels(f.snapshotter, *local, true);
  }
  return s.images->Put(record);
}

int DoImport(CliContext& context, const ImportFlags& f) {
  auto platform = PlatformFlag(f.platform);
  if (!platform.ok()) return context.Fail(platform.status().message());
  ImageServices s(context, f.snapshotter);
  auto lease = s.images->CreateLease(std::chrono::hours(24));
  if (!lease.ok()) return context.Fail("metadata", lease.status(), "import");
  struct Drop {
    client::ImageStore& images;
    std::string id;
    ~Drop() { (void)images.DeleteLease(id); }
  } drop{*s.images, *lease};
  client::ImportOptions options;
  options.base_name = f.base_name;
  options.on_blob = [&](const Digest& d) {
    return s.images->AddLeaseResource(*lease, "content", d.ToString());
  };
  auto result = client::ImportArchive(f.file, s.content, options);
  if (!result.ok()) return context.Fail("import " + f.file + ": " + result.status().message());
  nlohmann::json json = nlohmann::json::array();
  int code = 0;
  for (const client::ArchiveImage& image : result->images) {
    if (image.name.empty()) {
      fmt::print(stderr, "berthctl: skipping unnamed image {}: pass --base-name NAME\n",
                 image.target.digest.ToString());
      continue;
    }
    Status recorded = RecordImage(s, f, *lease, image, *platform);
    if (!recorded.ok()) {
      code = context.Fail("import " + image.name + ": " + recorded.message());
      continue;
    }
    json.push_back({{"name", image.name}, {"digest", image.target.digest.ToString()}});
    if (!context.json()) fmt::print("{}: {}\n", image.name, image.target.digest.ToString());
  }
  if (context.json()) context.PrintJson(json);
  return code;
}

struct ExportFlags {
  std::string file, platform, compress;
  std::vector<std::string> refs;
  bool all_platforms = false;
};

int DoExport(CliContext& context, const ExportFlags& f) {
  ImageServices s(context, "overlayfs");
  std::vector<client::ArchiveImage> images;
  for (const std::string& name : f.refs) {
    auto image = FindImage(*s.images, name);
    if (!image.ok()) return context.Fail("metadata", image.status(), "export");
    images.push_back({image->name, image->target});
  }
  client::ExportOptions options;
  if (f.compress == "gzip") options.compression = client::media::Compression::kGzip;
  if (f.compress == "zstd") options.compression = client::media::Compression::kZstd;
  if (!f.all_platforms) {
    auto platform = PlatformFlag(f.platform);
    if (!platform.ok()) return context.Fail(platform.status().message());
    options.platform.emplace(*platform);
  }
  Status s2 = client::ExportArchive(f.file, s.content, images, options);
  if (!s2.ok()) return context.Fail("export " + f.file + ": " + s2.message());
  if (!context.json()) fmt::print("{}\n", f.file);
  return 0;
}

void AddImageArchive(CLI::App& app, CliContext& context) {
  CLI::App* image = ImageCommand(app);
  auto in = std::make_shared<ImportFlags>();
  auto* import_cmd = image->add_subcommand("import", "import an OCI or docker save archive");
  import_cmd->add_option("file", in->file, "archive (tar, optionally gzip/zstd/xz)")->required();
  import_cmd->add_option("--base-name", in->base_name, "name for images named only by a tag");
  import_cmd->add_option("--platform", in->platform, "platform to unpack (default: this host)");
  import_cmd->add_option("--snapshotter", in->snapshotter, "snapshotter")->capture_default_str();
  import_cmd->add_flag("--no-unpack", in->no_unpack, "import content only");
  import_cmd->callback(Run(context, [&context, in] { return DoImport(context, *in); }));

  auto out = std::make_shared<ExportFlags>();
  auto* export_cmd = image->add_subcommand("export", "export images as an OCI archive");
  export_cmd->add_option("file", out->file, "archive to write")->required();
  export_cmd->add_option("refs", out->refs, "images")->required();
  export_cmd->add_option("--platform", out->platform, "platform to export (default: this host)");
  export_cmd->add_flag("--all-platforms", out->all_platforms,
                       "every platform (all must be present)");
  export_cmd->add_option("--compress", out->compress, "gzip or zstd")
      ->check(CLI::IsMember({"", "gzip", "zstd"}));
  export_cmd->callback(Run(context, [&context, out] { return DoExport(context, *out); }));
}

}  // namespace

BERTH_COMMAND_GROUP("image-archive", AddImageArchive);

}  // namespace image_archive_cmd
}  // namespace berth::cli
