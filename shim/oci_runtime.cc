#include "shim/oci_runtime.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>

#include "common/fs.h"

namespace berth::shim {
namespace {

off_t FileSize(const std::string& path) {
  struct stat st;
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return 0;
  return st.st_size;
}

int FdOrDevNull(int fd) { return fd >= 0 ? fd : SpawnOptions::kDevNull; }

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  size_t start = 0;
  while (start < s.size() && (s[start] == '\n' || s[start] == ' ')) ++start;
  return s.substr(start);
}

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

Status RuntimeConfig::Resolve() {
  if (binary.empty()) binary = "runc";
  if (binary.find('/') != std::string::npos) {
    if (::access(binary.c_str(), X_OK) != 0) return ErrnoStatus(errno, "runtime " + binary);
    return Status::Ok();
  }
  const char* env = ::getenv("PATH");
  std::string_view path =
      env ? env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  while (!path.empty()) {
    size_t colon = path.find(':');
    std::string dir(path.substr(0, colon));
    if (!dir.empty() && dir[0] == '/') {
      std::string candidate = dir + "/" + binary;
      struct stat st;
      if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
          ::access(candidate.c_str(), X_OK) == 0) {
        binary = candidate;
        return Status::Ok();
      }
    }
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  return Error(Code::kNotFound,
               "OCI runtime \"{}\" not found in PATH ({}); install it or set "
               "its absolute path",
               binary, env ? env : "");
}

std::vector<std::string> RuntimeConfig::GlobalArgs() const {
  std::vector<std::string> args{binary};
  if (!root.empty()) args.insert(args.end(), {"--root", root});
  if (!log_path.empty()) args.insert(args.end(), {"--log", log_path, "--log-format", "json"});
  if (systemd_cgroup) args.push_back("--systemd-cgroup");
  return args;
}

std::string LastLoggedError(const std::string& log_path, off_t offset) {
  if (log_path.empty()) return {};
  UniqueFd fd(::open(log_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || st.st_size <= offset) return {};
  constexpr off_t kMaxTail = 64 * 1024;
  off_t start = std::max(offset, st.st_size - kMaxTail);
  std::string text(static_cast<size_t>(st.st_size - start), '\0');
  ssize_t n = ::pread(fd.get(), text.data(), text.size(), start);
  if (n <= 0) return {};
  text.resize(static_cast<size_t>(n));
  std::string last;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    auto line = nlohmann::json::parse(text.begin() + static_cast<long>(pos),
                                      text.begin() + static_cast<long>(end), nullptr, false);
    if (line.is_object() && line.value("level", "") == "error") last = line.value("msg", "");
    pos = end + 1;
  }
  return last;
}

Result<std::vector<pid_t>> ParsePsOutput(const std::string& json) {
  auto parsed = nlohmann::json::parse(json, nullptr, false);
  if (parsed.is_null()) return std::vector<pid_t>();  // runc prints "null" for no processes
  if (!parsed.is_array()) {
    return Error(Code::kInternal, "unexpected runtime ps output: {}", json.substr(0, 200));
  }
  std::vector<pid_t> pids;
  for (const auto& v : parsed) {
    if (!v.is_number_integer()) {
      return Error(Code::kInternal, "unexpected runtime ps output: {}", json.substr(0, 200));
    }
    pids.push_back(v.get<pid_t>());
  }
  return pids;
}

Status RuntimeFailure(const std::string& what, const CommandResult& result,
                      const std::string& log_path, off_t log_offset) {
  std::string detail = LastLoggedError(log_path, log_offset);
  if (detail.empty()) detail = Trim(result.output);
  if (detail.size() > 2000) detail = detail.substr(detail.size() - 2000);
  if (detail.empty()) detail = result.Describe();
  return Error(Code::kUnknown, "{} failed: {}", what, detail);
}

void OciRuntime::Run(std::string what, std::vector<std::string> args, RuntimeStdio* stdio,
                     std::string stdin_data, std::function<void(Status, std::string output)> done) {
  CommandOptions options;
  options.spawn.argv = config_.GlobalArgs();
  options.spawn.argv.insert(options.spawn.argv.end(), std::make_move_iterator(args.begin()),
                            std::make_move_iterator(args.end()));
  if (stdio != nullptr) {
    options.spawn.stdin_fd = FdOrDevNull(stdio->in);
    options.spawn.stdout_fd = FdOrDevNull(stdio->out);
    options.spawn.stderr_fd = FdOrDevNull(stdio->err);
  } else {
    options.spawn.stdin_fd = SpawnOptions::kDevNull;
    options.capture = true;
  }
  options.stdin_data = std::move(stdin_data);
  off_t offset = FileSize(config_.log_path);
  what = "OCI runtime " + what;
  RunCommand(loop_, reaper_, std::move(options),
             [log_path = config_.log_path, what = std::move(what), offset,
              done = std::move(done)](Result<CommandResult> result) {
               if (!result.ok()) return done(result.status().Annotate(what), "");
               if (!result->success()) {
                 return done(RuntimeFailure(what, *result, log_path, offset), "");
               }
               done(Status::Ok(), std::move(result->output));
             });
}

void OciRuntime::Create(const std::string& id, const std::string& bundle,
                        const std::string& pid_file, const std::string& console_socket,
                        RuntimeStdio stdio, Done done) {
  std::vector<std::string> args{"create", "--bundle", bundle, "--pid-file", pid_file};
  if (!console_socket.empty()) args.insert(args.end(), {"--console-socket", console_socket});
  if (config_.no_pivot_root) args.push_back("--no-pivot");
  if (config_.no_new_keyring) args.push_back("--no-new-keyring");
  args.push_back(id);
  Run("create", std::move(args), &stdio, {},
      [done = std::move(done)](Status s, std::string) { done(std::move(s)); });
}

void OciRuntime::Start(const std::string& id, Done done) {
  Run("start", {"start", id}, nullptr, {},
      [done = std::move(done)](Status s, std::string) { done(std::move(s)); });
}

void OciRuntime::Exec(const std::string& id, const std::string& process_file,
                      const std::string& pid_file, const std::string& console_socket,
                      RuntimeStdio stdio, Done done) {
  std::vector<std::string> args{"exec",     "--process",  process_file,
                                "--detach", "--pid-file", pid_file};
  if (!console_socket.empty()) args.insert(args.end(), {"--console-socket", console_socket});
  args.push_back(id);
  Run("exec", std::move(args), &stdio, {},
      [done = std::move(done)](Status s, std::string) { done(std::move(s)); });
}

void OciRuntime::Kill(const std::string& id, int signal, bool all, Done done) {
  std::vector<std::string> args{"kill"};
  if (all) args.push_back("--all");
  args.insert(args.end(), {id, std::to_string(signal)});
  Run("kill", std::move(args), nullptr, {}, [done = std::move(done)](Status s, std::string) {
    if (!s.ok() &&
        (Contains(s.message(), "not running") || Contains(s.message(), "does not exist") ||
         Contains(s.message(), "process already finished"))) {
      s = Error(Code::kNotFound, "process already finished: {}", s.message());
    }
    done(std::move(s));
  });
}

void OciRuntime::Delete(const std::string& id, bool force, Done done) {
  std::vector<std::string> args{"delete"};
  if (force) args.push_back("--force");
  args.push_back(id);
  Run("delete", std::move(args), nullptr, {}, [done = std::move(done)](Status s, std::string) {
    if (!s.ok() && Contains(s.message(), "does not exist")) s = Status::Ok();
    done(std::move(s));
  });
}

void OciRuntime::Pause(const std::string& id, Done done) {
  Run("pause", {"pause", id}, nullptr, {},
      [done = std::move(done)](Status s, std::string) { done(std::move(s)); });
}

void OciRuntime::Resume(const std::string& id, Done done) {
  Run("resume", {"resume", id}, nullptr, {},
      [done = std::move(done)](Status s, std::string) { done(std::move(s)); });
}

void OciRuntime::Ps(const std::string& id, PidsDone done) {
  Run("ps", {"ps", "--format", "json", id}, nullptr, {},
      [done = std::move(done)](Status s, std::string output) {
        if (!s.ok()) return done(std::move(s));
        done(ParsePsOutput(output));
      });
}

void OciRuntime::Update(const std::string& id, const std::string& resources_json, Done done) {
  Run("update", {"update", "--resources", "-", id}, nullptr, resources_json,
      [done = std::move(done)](Status s, std::string) { done(std::move(s)); });
}

}  // namespace berth::shim
