// berthctl image inspect / check / unpack / mount / unmount: local images.
//   inspect [--platform P] REF       the record, manifest, config and chain IDs as JSON
//   check [--platform P] [REF...]    content present? unpacked? (all images when none given);
//                                    one row per image, also for one that cannot be checked;
//                                    exit code 1 when one could not be checked, else 2 when
//                                    content is missing
//   unpack [--platform P] [--snapshotter S] REF
//   mount [--platform P] [--snapshotter S] REF DIR   read-only view of the rootfs at DIR
//   unmount [--snapshotter S] DIR
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdlib>

#include "cli/command_group.h"
#include "cli/context.h"
#include "cli/image.h"
#include "cli/image_services.h"
#include "client/local_image.h"
#include "client/pull.h"
#include "services/snapshot/mount.h"

namespace berth::cli {
namespace image_local_cmd {
namespace {

struct LocalFlags {
  std::string ref, dir, platform, snapshotter = "overlayfs";
  std::vector<std::string> refs;
};

int Inspect(CliContext& context, const LocalFlags& f) {
  ImageServices s(context, f.snapshotter);
  auto image = FindImage(*s.images, f.ref);
  if (!image.ok()) return context.Fail("metadata", image.status(), "inspect");
  auto platform = PlatformFlag(f.platform);
  if (!platform.ok()) return context.Fail(platform.status().message());
  auto local = client::LoadImage(s.content, image->target, client::PlatformMatcher(*platform));
  if (!local.ok()) return context.Fail("content", local.status(), "inspect " + image->name);
  nlohmann::json chains = nlohmann::json::array();
  for (const Digest& c : local->chain_ids) chains.push_back(c.ToString());
  auto manifest = content::ReadBlob(s.content, local->manifest_descriptor.digest);
  context.PrintJson(
      {{"name", image->name},
       {"target", client::ToJson(image->target)},
       {"labels", image->labels},
       {"manifest_descriptor", client::ToJson(local->manifest_descriptor)},
       {"manifest", nlohmann::json::parse(manifest.ok() ? *manifest : "{}", nullptr, false)},
       {"config", local->config.raw},
       {"chain_ids", chains},
       {"unpacked", s.snapshots.Stat(local->TopChain()).ok()}});
  return 0;
}

// The rows of `image check`: one per image, an image that cannot be checked included.
struct CheckReport {
  std::vector<std::vector<std::string>> rows;
  nlohmann::json json = nlohmann::json::array();
  int code = 0;  // 1 when an image could not be checked, else 2 when one is incomplete

  void AddError(CliContext& context, const std::string& name, const std::string& digest,
                const Status& status) {
    context.Fail("content", status, "check " + name);  // the whole message, on stderr
    rows.push_back({name, digest, "error: " + status.message(), "-", "-"});
    json.push_back({{"name", name}, {"digest", digest}, {"error", status.message()}});
    code = 1;
  }

  void Add(const client::ImageRecord& image, const client::ImageCheck& check) {
    std::string status = check.complete()
                             ? "complete"
                             : fmt::format("incomplete ({} missing)", check.missing.size());
    if (!check.complete() && code == 0) code = 2;
    rows.push_back({image.name, image.target.digest.ToString(), status,
                    client::HumanBytes(check.size), check.unpacked ? "true" : "false"});
    nlohmann::json missing = nlohmann::json::array();
    for (const auto& d : check.missing) missing.push_back(d.digest.ToString());
    json.push_back({{"name", image.name},
                    {"digest", image.target.digest.ToString()},
                    {"complete", check.complete()},
                    {"missing", missing},
                    {"size", check.size},
                    {"unpacked", check.unpacked}});
  }
};

int Check(CliContext& context, const LocalFlags& f) {
  ImageServices s(context, f.snapshotter);
  auto platform = PlatformFlag(f.platform);
  if (!platform.ok()) return context.Fail(platform.status().message());
  std::vector<client::ImageRecord> images;
  if (f.refs.empty()) {
    auto all = s.images->List();
    if (!all.ok()) return context.Fail("metadata", all.status(), "check");
    images = std::move(all).value();
  }
  CheckReport report;
  for (const std::string& ref : f.refs) {
    auto image = FindImage(*s.images, ref);
    if (image.ok()) {
      images.push_back(*image);
    } else {
      report.AddError(context, ref, "-", image.status());
    }
  }
  for (const auto& image : images) {
    auto check = client::CheckImage(s.content, &s.snapshots, image.target,
                                    client::PlatformMatcher(*platform));
    if (check.ok()) {
      report.Add(image, *check);
    } else {
      report.AddError(context, image.name, image.target.digest.ToString(), check.status());
    }
  }
  context.PrintTable({"REF", "DIGEST", "STATUS", "SIZE", "UNPACKED"}, report.rows, report.json);
  return report.code;
}

int Unpack(CliContext& context, const LocalFlags& f) {
  ImageServices s(context, f.snapshotter);
  auto image = FindImage(*s.images, f.ref);
  if (!image.ok()) return context.Fail("metadata", image.status(), "unpack");
  auto platform = PlatformFlag(f.platform);
  if (!platform.ok()) return context.Fail(platform.status().message());
  auto local = client::LoadImage(s.content, image->target, client::PlatformMatcher(*platform));
  if (!local.ok()) return context.Fail("content", local.status(), "unpack " + image->name);
  auto lease = s.images->CreateLease(std::chrono::hours(24));
  if (!lease.ok()) return context.Fail("metadata", lease.status(), "unpack");
  client::UnpackContext ctx{&s.content,    &s.snapshots,   &s.differ,
                            f.snapshotter, s.images.get(), *lease};
  Status unpacked = client::UnpackImage(ctx, *local, nullptr);
  if (unpacked.ok()) {  // the config refers to its snapshot, as after a pull
    unpacked = client::AddContentLabels(s.content, local->manifest.config.digest,
                                        client::SnapshotLabel(f.snapshotter, local->TopChain()));
  }
  if (unpacked.ok()) {
    client::ImageRecord record = *image;
    for (auto& [k, v] : client::ImageLabels(f.snapshotter, *local, true)) record.labels[k] = v;
    unpacked = s.images->Put(record);
  }
  (void)s.images->DeleteLease(*lease);
  if (!unpacked.ok()) return context.Fail("unpack " + image->name + ": " + unpacked.message());
  if (!context.json()) fmt::print("{}: unpacked as {}\n", image->name, local->TopChain());
  return 0;
}

// The view snapshot and lease of a mount point (realpath'd, so mount and unmount agree).
struct MountNames {
  std::string dir, key, lease;
};
Result<MountNames> NamesFor(const std::string& dir) {
  char* real = ::realpath(dir.c_str(), nullptr);
  if (real == nullptr) return ErrnoStatus(errno, "realpath " + dir);
  MountNames n{real, "", ""};
  std::free(real);
  n.key = "berth-mount " + n.dir;
  n.lease = "berth-mount-" + DigestBytes(n.dir).value().hex.substr(0, 24);
  return n;
}

int Mount(CliContext& context, const LocalFlags& f) {
  ImageServices s(context, f.snapshotter);
  auto names = NamesFor(f.dir);
  if (!names.ok()) return context.Fail(names.status().message());
  auto image = FindImage(*s.images, f.ref);
  if (!image.ok()) return context.Fail("metadata", image.status(), "mount");
  auto platform = PlatformFlag(f.platform);
  if (!platform.ok()) return context.Fail(platform.status().message());
  auto local = client::LoadImage(s.content, image->target, client::PlatformMatcher(*platform));
  if (!local.ok()) return context.Fail("content", local.status(), "mount " + image->name);
  if (!s.snapshots.Stat(local->TopChain()).ok()) {
    return context.Fail(fmt::format("mount: {} is not unpacked (berthctl image unpack {})",
                                    image->name, image->name));
  }
  auto lease = s.images->CreateLease(std::chrono::seconds(0), names->lease);
  if (!lease.ok()) return context.Fail("metadata", lease.status(), "mount " + names->dir);
  Status st = s.images->AddLeaseResource(*lease, "snapshots/" + f.snapshotter, names->key);
  auto mounts = st.ok() ? s.snapshots.View(names->key, local->TopChain(), {})
                        : Result<std::vector<snapshot::Mount>>(st);
  if (mounts.ok()) st = snapshot::MountAll(*mounts, names->dir);
  if (!mounts.ok() || !st.ok()) {
    if (mounts.ok()) (void)s.snapshots.Remove(names->key);
    (void)s.images->DeleteLease(*lease);
    return context.Fail("mount " + names->dir + ": " +
                        (mounts.ok() ? st : mounts.status()).message());
  }
  if (!context.json()) fmt::print("{}\n", names->dir);
  return 0;
}

int Unmount(CliContext& context, const LocalFlags& f) {
  ImageServices s(context, f.snapshotter);
  auto names = NamesFor(f.dir);
  if (!names.ok()) return context.Fail(names.status().message());
  Status st = snapshot::Unmount(names->dir);
  if (!st.ok() && st.code() != Code::kInvalidArgument) {
    return context.Fail("unmount " + names->dir + ": " + st.message());
  }
  Status removed = s.snapshots.Remove(names->key);
  (void)s.images->DeleteLease(names->lease);
  if (!st.ok() && !removed.ok()) {
    return context.Fail(
        fmt::format("unmount {}: nothing of berthctl is mounted there", names->dir));
  }
  if (!context.json()) fmt::print("{}\n", names->dir);
  return 0;
}

void AddImageLocal(CLI::App& app, CliContext& context) {
  CLI::App* image = ImageCommand(app);
  auto f = std::make_shared<LocalFlags>();
  auto common = [&](CLI::App* cmd) {
    cmd->add_option("--platform", f->platform, "os/arch[/variant] (default: this host)");
    cmd->add_option("--snapshotter", f->snapshotter, "snapshotter")->capture_default_str();
  };
  auto* inspect = image->add_subcommand("inspect", "show an image's record, manifest and config");
  inspect->add_option("ref", f->ref, "image")->required();
  common(inspect);
  inspect->callback(Run(context, [&context, f] { return Inspect(context, *f); }));
  auto* check = image->add_subcommand("check", "is the image's content present and unpacked?");
  check->add_option("refs", f->refs, "images (default: all)");
  common(check);
  check->callback(Run(context, [&context, f] { return Check(context, *f); }));
  auto* unpack = image->add_subcommand("unpack", "unpack an image into snapshots");
  unpack->add_option("ref", f->ref, "image")->required();
  common(unpack);
  unpack->callback(Run(context, [&context, f] { return Unpack(context, *f); }));
  auto* mount = image->add_subcommand("mount", "mount an image's rootfs read-only at DIR");
  mount->add_option("ref", f->ref, "image")->required();
  mount->add_option("dir", f->dir, "mount point")->required();
  common(mount);
  mount->callback(Run(context, [&context, f] { return Mount(context, *f); }));
  auto* unmount = image->add_subcommand("unmount", "unmount what image mount mounted at DIR");
  unmount->alias("umount");
  unmount->add_option("dir", f->dir, "mount point")->required();
  unmount->add_option("--snapshotter", f->snapshotter, "snapshotter")->capture_default_str();
  unmount->callback(Run(context, [&context, f] { return Unmount(context, *f); }));
}

}  // namespace

BERTH_COMMAND_GROUP("image-local", AddImageLocal);

}  // namespace image_local_cmd

}  // namespace berth::cli
