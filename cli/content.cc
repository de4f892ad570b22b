// berthctl content: the content store (berth-content), like `ctr content`.
//   ls [FILTER...]                 DIGEST SIZE AGE LABELS of committed blobs
//   info DIGEST                    one blob's info (JSON)
//   get DIGEST                     the blob's bytes to stdout (read through a handed-over fd)
//   ingest [--expected D] [--total N] [--label K=V]... REF < FILE
//                                  writes stdin as one blob; resumes REF where it stopped (a
//                                  file on stdin is handed to berth-content as an fd)
//   rm DIGEST...                   deletes blobs
//   label DIGEST K=V...            sets labels (K= removes one)
//   active [FILTER...]             in-flight ingests: REF OFFSET TOTAL EXPECTED UPDATED
//   abort REF...                   drops in-flight ingests
//   check [DIGEST...]              re-hashes blobs; exit 1 when any does not match its name
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <optional>

#include "cli/command_group.h"
#include "cli/context.h"
#include "common/fs.h"
#include "common/time.h"
#include "services/content/convert.h"
#include "services/content/proxy.h"

namespace berth::cli {
namespace content_cmd {
namespace {

using content::Info;
using content::IngestStatus;

constexpr size_t kChunk = 1 << 20;

content::Proxy ProxyFor(CliContext& context) {
  content::ProxyOptions options;
  options.ns = context.ns;
  options.timeout = context.Options().timeout;
  return content::Proxy(context.ClientFor("content"), options);
}

std::string HumanSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string Age(int64_t unix_nanos) {
  int64_t seconds = std::max<int64_t>(0, (NowUnixNanos() - unix_nanos) / 1000000000);
  if (seconds < 60) return fmt::format("{} seconds", seconds);
  if (seconds < 3600) return fmt::format("{} minutes", seconds / 60);
  if (seconds < 86400) return fmt::format("{} hours", seconds / 3600);
  return fmt::format("{} days", seconds / 86400);
}

std::string JoinLabels(const content::Labels& labels) {
  std::string out;
  for (const auto& [key, value] : labels) out += (out.empty() ? "" : ",") + key + "=" + value;
  return out.empty() ? "-" : out;
}

nlohmann::json InfoJson(const Info& info) {
  return {{"digest", info.digest.ToString()},
          {"size", info.size},
          {"created_at", FormatRfc3339Nano(info.created_at)},
          {"updated_at", FormatRfc3339Nano(info.updated_at)},
          {"labels", info.labels}};
}

Result<std::vector<Digest>> ParseDigests(const std::vector<std::string>& texts) {
  std::vector<Digest> digests;
  for (const auto& text : texts) {
    BERTH_ASSIGN_OR_RETURN(Digest digest, ParseDigest(text));
    digests.push_back(std::move(digest));
  }
  return digests;
}

int List(CliContext& context, const std::vector<std::string>& filters, bool quiet) {
  auto proxy = ProxyFor(context);
  std::vector<Info> infos;
  Status status = proxy.Walk(
      [&](const Info& info) {
        infos.push_back(info);
        return Status::Ok();
      },
      filters);
  if (!status.ok()) return context.Fail("content", status, "list content");
  std::sort(infos.begin(), infos.end(),
            [](const Info& a, const Info& b) { return a.digest < b.digest; });
  if (quiet) {
    for (const auto& info : infos) fmt::print("{}\n", info.digest);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  nlohmann::json json = nlohmann::json::array();
  for (const auto& info : infos) {
    rows.push_back({info.digest.ToString(), HumanSize(info.size), Age(info.created_at),
                    JoinLabels(info.labels)});
    json.push_back(InfoJson(info));
  }
  context.PrintTable({"DIGEST", "SIZE", "AGE", "LABELS"}, rows, json);
  return 0;
}

int ShowInfo(CliContext& context, const std::string& text) {
  auto digest = ParseDigest(text);
  if (!digest.ok()) return context.Fail(digest.status().message());
  auto proxy = ProxyFor(context);
  auto info = proxy.GetInfo(*digest);
  if (!info.ok()) return context.Fail("content", info.status());
  context.PrintJson(InfoJson(*info));
  return 0;
}

// Copies the blob behind `fd` to stdout: sendfile when stdout allows it, else read/write.
Status CopyToStdout(int fd, uint64_t size) {
  struct stat st {};
  if (::fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode) &&
      ::fcntl(STDOUT_FILENO, F_GETPIPE_SZ) < static_cast<int>(kChunk)) {
    // sendfile moves a pipe's worth per call: a 1 MiB pipe (instead of 64 KiB) makes it as fast
    // as cat's read/write. Best effort: a smaller pipe only costs speed.
    (void)::fcntl(STDOUT_FILENO, F_SETPIPE_SZ, static_cast<int>(kChunk));
  }
  off_t offset = 0;
  while (static_cast<uint64_t>(offset) < size) {
    ssize_t n = ::sendfile(STDOUT_FILENO, fd, &offset, size - static_cast<uint64_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EINVAL || errno == ENOSYS) && offset == 0) break;
    if (n < 0) return ErrnoStatus(errno, "write to stdout");
    if (n == 0) return Status(Code::kDataLoss, "blob ended before its size");
  }
  std::vector<char> buffer(kChunk);
  while (static_cast<uint64_t>(offset) < size) {
    ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? ErrnoStatus(errno, "read blob") : Status(Code::kDataLoss, "short");
    BERTH_RETURN_IF_ERROR(
        WriteAll(STDOUT_FILENO, std::string_view(buffer.data(), static_cast<size_t>(n)), "stdout"));
    offset += n;
  }
  return Status::Ok();
}

// A regular file on stdin, from its current position to its end: berth-content reads it
// through the fd (WriterOptions::source_fd) instead of getting its bytes over the socket.
struct StdinFile {
  uint64_t start = 0;
  uint64_t end = 0;
};

std::optional<StdinFile> StdinAsFile() {
  struct stat st {};
  if (!content::ValidateSource(STDIN_FILENO).ok() || ::fstat(STDIN_FILENO, &st) != 0) {
    return std::nullopt;
  }
  off_t start = ::lseek(STDIN_FILENO, 0, SEEK_CUR);
  if (start < 0 || start > st.st_size) return std::nullopt;
  return StdinFile{static_cast<uint64_t>(start), static_cast<uint64_t>(st.st_size)};
}

// Has berth-content copy the rest of the stdin file into `writer`, from the offset the ingest
// reports.
Status IngestStdinFile(content::Writer& writer, const std::string& ref, const StdinFile& file) {
  BERTH_ASSIGN_OR_RETURN(IngestStatus status, writer.GetStatus());
  uint64_t size = file.end - file.start;
  if (status.offset > size) {
    return Error(Code::kFailedPrecondition, "stdin has {} bytes but ref \"{}\" already has {}",
                 size, ref, status.offset);
  }
  if (status.offset > 0) fmt::print(stderr, "resuming {} at offset {}\n", ref, status.offset);
  return writer.WriteFrom(file.start + status.offset, size - status.offset);
}

// Streams stdin into `writer` from the offset the ingest reports: seeks a seekable stdin there,
// else reads and drops what was already written.
Status IngestStdinStream(content::Writer& writer, const std::string& ref) {
  BERTH_ASSIGN_OR_RETURN(IngestStatus status, writer.GetStatus());
  uint64_t offset = status.offset;
  std::vector<char> buffer(kChunk);
  if (offset > 0 && ::lseek(STDIN_FILENO, static_cast<off_t>(offset), SEEK_SET) < 0) {
    for (uint64_t skipped = 0; skipped < offset;) {
      ssize_t n = ::read(STDIN_FILENO, buffer.data(),
                         static_cast<size_t>(std::min<uint64_t>(buffer.size(), offset - skipped)));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus(errno, "read stdin");
      if (n == 0)
        return Error(Code::kFailedPrecondition,
                     "stdin ends at {} but ref \"{}\" already has {} bytes", skipped, ref, offset);
      skipped += static_cast<uint64_t>(n);
    }
  }
  if (offset > 0) fmt::print(stderr, "resuming {} at offset {}\n", ref, offset);
  while (true) {
    ssize_t n = ::read(STDIN_FILENO, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "read stdin");
    if (n == 0) return Status::Ok();
    BERTH_RETURN_IF_ERROR(writer.Write(std::string_view(buffer.data(), static_cast<size_t>(n))));
  }
}

int Get(CliContext& context, const std::string& text) {
  auto digest = ParseDigest(text);
  if (!digest.ok()) return context.Fail(digest.status().message());
  auto proxy = ProxyFor(context);
  auto reader = proxy.OpenReader(*digest);
  if (!reader.ok()) return context.Fail("content", reader.status());
  Status copied = CopyToStdout((*reader)->fd(), (*reader)->Size());
  if (!copied.ok()) return context.Fail(copied.message());
  return 0;
}

int Ingest(CliContext& context, const std::string& ref, const std::string& expected_text,
           uint64_t total, const std::vector<std::string>& label_args) {
  auto expected = content::ParseOptionalDigest(expected_text);
  if (!expected.ok()) return context.Fail(expected.status().message());
  content::Labels labels;
  for (const auto& arg : label_args) {
    size_t eq = arg.find('=');
    if (eq == std::string::npos) return context.Fail("--label wants KEY=VALUE, got " + arg);
    labels[arg.substr(0, eq)] = arg.substr(eq + 1);
  }
  auto proxy = ProxyFor(context);
  std::optional<StdinFile> file = StdinAsFile();
  auto writer = proxy.OpenWriter(
      {.ref = ref, .total = total, .expected = *expected, .source_fd = file ? STDIN_FILENO : -1});
  if (!writer.ok()) {
    if (writer.status().code() == Code::kAlreadyExists) {
      fmt::print("{}\n", expected->ToString());
      return 0;
    }
    return context.Fail("content", writer.status(), "ingest " + ref);
  }
  Status status = file ? IngestStdinFile(**writer, ref, *file) : IngestStdinStream(**writer, ref);
  if (!status.ok()) return context.Fail("content", status, "ingest " + ref);
  auto digest = expected->empty() ? (*writer)->CurrentDigest() : Result<Digest>(*expected);
  if (!digest.ok()) return context.Fail("content", digest.status(), "ingest " + ref);
  status = (*writer)->Commit(total, *expected, labels);
  if (!status.ok()) return context.Fail("content", status);
  fmt::print("{}\n", digest->ToString());
  return 0;
}

int Remove(CliContext& context, const std::vector<std::string>& texts) {
  auto digests = ParseDigests(texts);
  if (!digests.ok()) return context.Fail(digests.status().message());
  auto proxy = ProxyFor(context);
  int code = 0;
  for (const auto& digest : *digests) {
    Status status = proxy.Delete(digest);
    if (!status.ok()) {
      code = context.Fail("content", status, "delete " + digest.ToString());
    } else {
      fmt::print("{}\n", digest.ToString());
    }
  }
  return code;
}

int Label(CliContext& context, const std::string& text, const std::vector<std::string>& pairs) {
  auto digest = ParseDigest(text);
  if (!digest.ok()) return context.Fail(digest.status().message());
  Info info{.digest = *digest};
  std::vector<std::string> paths;
  for (const auto& pair : pairs) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0)
      return context.Fail("labels are KEY=VALUE, got " + pair);
    std::string key = pair.substr(0, eq);
    info.labels[key] = pair.substr(eq + 1);
    paths.push_back("labels." + key);
  }
  auto proxy = ProxyFor(context);
  auto updated = proxy.Update(info, paths);
  if (!updated.ok()) return context.Fail("content", updated.status(), "label " + text);
  if (context.json()) {
    context.PrintJson(InfoJson(*updated));
  } else {
    fmt::print("{}\t{}\n", updated->digest.ToString(), JoinLabels(updated->labels));
  }
  return 0;
}

int Active(CliContext& context, const std::vector<std::string>& filters) {
  auto proxy = ProxyFor(context);
  auto statuses = proxy.ListStatuses(filters);
  if (!statuses.ok()) return context.Fail("content", statuses.status(), "list ingests");
  std::sort(statuses->begin(), statuses->end(),
            [](const IngestStatus& a, const IngestStatus& b) { return a.ref < b.ref; });
  std::vector<std::vector<std::string>> rows;
  nlohmann::json json = nlohmann::json::array();
  for (const auto& s : *statuses) {
    rows.push_back({s.ref, std::to_string(s.offset), s.total ? std::to_string(s.total) : "-",
                    s.expected.empty() ? "-" : s.expected.ToString(), Age(s.updated_at) + " ago"});
    json.push_back({{"ref", s.ref},
                    {"offset", s.offset},
                    {"total", s.total},
                    {"expected", s.expected.ToString()},
                    {"started_at", FormatRfc3339Nano(s.started_at)},
                    {"updated_at", FormatRfc3339Nano(s.updated_at)}});
  }
  context.PrintTable({"REF", "OFFSET", "TOTAL", "EXPECTED", "UPDATED"}, rows, json);
  return 0;
}

int AbortIngests(CliContext& context, const std::vector<std::string>& refs) {
  auto proxy = ProxyFor(context);
  int code = 0;
  for (const auto& ref : refs) {
    Status status = proxy.Abort(ref);
    if (!status.ok()) code = context.Fail("content", status, "abort " + ref);
  }
  return code;
}

int Check(CliContext& context, const std::vector<std::string>& texts) {
  auto digests = ParseDigests(texts);
  if (!digests.ok()) return context.Fail(digests.status().message());
  auto proxy = ProxyFor(context);
  auto results = content::CheckBlobs(proxy, *digests);
  if (!results.ok()) return context.Fail("content", results.status(), "check");
  int bad = 0;
  nlohmann::json json = nlohmann::json::array();
  for (const auto& r : *results) {
    bool ok = r.status.ok();
    if (!ok) ++bad;
    json.push_back({{"digest", r.digest.ToString()},
                    {"ok", ok},
                    {"actual", r.actual.ToString()},
                    {"error", ok ? "" : r.status.message()}});
    if (!context.json()) {
      if (ok) {
        fmt::print("ok       {}\n", r.digest.ToString());
      } else {
        fmt::print("CORRUPT  {}: {}\n", r.digest.ToString(), r.status.message());
      }
    }
  }
  if (context.json()) context.PrintJson(json);
  if (bad > 0) {
    fmt::print(stderr, "berthctl: {} of {} blobs do not match their digest\n", bad,
               results->size());
    return 1;
  }
  return 0;
}

// ls, info, get, check: commands that only read.
void AddReadCommands(CLI::App* group, CliContext& context) {
  auto ls_filters = std::make_shared<std::vector<std::string>>();
  auto quiet = std::make_shared<bool>(false);
  CLI::App* ls = group->add_subcommand("ls", "list blobs (filters over digest, size, labels.K)");
  ls->alias("list");
  ls->add_option("filters", *ls_filters, "containerd-style filters (any may match)");
  ls->add_flag("-q,--quiet", *quiet, "print digests only");
  ls->callback(
      Run(context, [&context, ls_filters, quiet] { return List(context, *ls_filters, *quiet); }));

  auto digest = std::make_shared<std::string>();
  CLI::App* info = group->add_subcommand("info", "show a blob's info");
  info->add_option("digest", *digest, "sha256:...")->required();
  info->callback(Run(context, [&context, digest] { return ShowInfo(context, *digest); }));

  CLI::App* get = group->add_subcommand("get", "write a blob to stdout");
  get->add_option("digest", *digest, "sha256:...")->required();
  get->callback(Run(context, [&context, digest] { return Get(context, *digest); }));

  auto check_digests = std::make_shared<std::vector<std::string>>();
  CLI::App* check = group->add_subcommand(
      "check", "re-hash blobs (all, or the ones named) and report any that do not match");
  check->add_option("digests", *check_digests, "sha256:...");
  check->callback(
      Run(context, [&context, check_digests] { return Check(context, *check_digests); }));
}

// ingest, rm, label, active, abort: commands that change the store.
void AddWriteCommands(CLI::App* group, CliContext& context) {
  auto digest = std::make_shared<std::string>();
  auto ref = std::make_shared<std::string>();
  auto expected = std::make_shared<std::string>();
  auto total = std::make_shared<uint64_t>(0);
  auto labels = std::make_shared<std::vector<std::string>>();
  CLI::App* ingest = group->add_subcommand(
      "ingest", "write stdin as one blob under REF (resumes REF if it was interrupted)");
  ingest->add_option("ref", *ref, "name of this write")->required();
  ingest->add_option("--expected", *expected, "digest the blob must have");
  ingest->add_option("--total", *total, "size the blob must have");
  ingest->add_option("--label", *labels, "KEY=VALUE label of the blob");
  ingest->callback(Run(context, [&context, ref, expected, total, labels] {
    return Ingest(context, *ref, *expected, *total, *labels);
  }));

  auto digests = std::make_shared<std::vector<std::string>>();
  CLI::App* rm = group->add_subcommand("rm", "delete blobs");
  rm->alias("delete");
  rm->add_option("digests", *digests, "sha256:...")->required();
  rm->callback(Run(context, [&context, digests] { return Remove(context, *digests); }));

  auto pairs = std::make_shared<std::vector<std::string>>();
  CLI::App* label = group->add_subcommand("label", "set (K=V) or remove (K=) labels of a blob");
  label->add_option("digest", *digest, "sha256:...")->required();
  label->add_option("labels", *pairs, "KEY=VALUE...")->required();
  label->callback(
      Run(context, [&context, digest, pairs] { return Label(context, *digest, *pairs); }));

  auto active_filters = std::make_shared<std::vector<std::string>>();
  CLI::App* active = group->add_subcommand("active", "list in-flight ingests");
  active->add_option("filters", *active_filters, "filters over ref, expected, offset, total");
  active->callback(
      Run(context, [&context, active_filters] { return Active(context, *active_filters); }));

  auto refs = std::make_shared<std::vector<std::string>>();
  CLI::App* abort = group->add_subcommand("abort", "drop in-flight ingests");
  abort->add_option("refs", *refs, "refs")->required();
  abort->callback(Run(context, [&context, refs] { return AbortIngests(context, *refs); }));
}

void AddContent(CLI::App& app, CliContext& context) {
  CLI::App* group = app.add_subcommand("content", "the content store (blobs by digest)");
  group->require_subcommand(1);
  AddReadCommands(group, context);
  AddWriteCommands(group, context);
}

}  // namespace

BERTH_COMMAND_GROUP("content", AddContent);

}  // namespace content_cmd

}  // namespace berth::cli
