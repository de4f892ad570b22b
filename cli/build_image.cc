// Image building for commit and bundle pack (see build_image.h).
#include "cli/build_image.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "client/reference.h"

namespace berth::cli {

void BuildFlags::Add(CLI::App* cmd) {
  cmd->add_option("--compression", compression, "layer compression: gzip, zstd or none")
      ->capture_default_str();
  cmd->add_option("--message,-m", message, "comment of the image's new history entry");
  cmd->add_option("--change,-c", changes,
                  "config change in Dockerfile syntax: 'ENV KEY=VALUE', 'CMD [\"sh\"]', "
                  "ENTRYPOINT, WORKDIR, USER, LABEL (repeatable)")
      ->allow_extra_args(false);  // one value per --change: CONTAINER and REF stay positionals
  cmd->add_option("--snapshotter", snapshotter, "snapshotter")->capture_default_str();
}

Status BuildFlags::Parse(std::string& media_type, client::ConfigChanges& out) const {
  BERTH_ASSIGN_OR_RETURN(media_type, client::LayerMediaType(compression));
  for (const std::string& change : changes) {
    BERTH_RETURN_IF_ERROR(client::ParseChange(change, out));
  }
  return Status::Ok();
}

Result<std::string> ImageName(const std::string& ref) {
  auto parsed = client::ParseReference(ref);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->digest.empty()) {
    return Error(Code::kInvalidArgument, "{:?}: a new image is named by a tag, not a digest", ref);
  }
  return parsed->String();
}

Result<std::unique_ptr<CommandLease>> CommandLease::Create(client::ImageStore& images,
                                                           std::string snapshotter) {
  BERTH_ASSIGN_OR_RETURN(std::string id, images.CreateLease(std::chrono::hours(24)));
  return std::unique_ptr<CommandLease>(new CommandLease(images, id, std::move(snapshotter)));
}

CommandLease::~CommandLease() { (void)images_.DeleteLease(id_); }

Status CommandLease::AddSnapshot(const std::string& key) {
  return images_.AddLeaseResource(id_, "snapshots/" + snapshotter_, key);
}

int BuildAndReport(CliContext& context, ImageServices& s, const CommandLease& lease,
                   const std::vector<snapshot::Mount>& lower,
                   const std::vector<snapshot::Mount>& upper, const std::string& media_type,
                   client::ImageSpec spec, const std::string& name, const std::string& what,
                   const std::function<void()>& compared) {
  client::UnpackContext ctx{&s.content,          &s.snapshots,   &s.differ,
                            lease.snapshotter(), s.images.get(), lease.id()};
  auto image = client::BuildImage(ctx, lower, upper, media_type, std::move(spec), name, compared);
  if (!image.ok()) return context.Fail(what + ": " + image.status().message());
  const client::Descriptor& layer = image->manifest.layers.back();
  if (context.json()) {
    context.PrintJson({{"name", name},
                       {"digest", image->manifest_descriptor.digest.ToString()},
                       {"config", image->manifest.config.digest.ToString()},
                       {"layer", layer.digest.ToString()},
                       {"layer_size", layer.size},
                       {"media_type", layer.media_type},
                       {"diff_id", image->config.diff_ids.back().ToString()},
                       {"snapshot", image->TopChain()}});
  } else {
    fmt::print("{} {}\n", name, image->manifest_descriptor.digest.ToString());
  }
  return 0;
}

}  // namespace berth::cli
