#include "supervisor/pid_file.h"

#include <fmt/format.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <sstream>

#include "common/fs.h"

namespace berth::supervisor {

Result<ProcStat> ReadProcStat(pid_t pid) {
  Result<std::string> text = ReadFile(fmt::format("/proc/{}/stat", pid));
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) {
      return Error(Code::kNotFound, "no process {}", pid);
    }
    return text.status();
  }
  // "pid (comm) state ppid ..."; comm may hold spaces and parentheses: cut at the last ')'.
  size_t close = text->rfind(')');
  if (close == std::string::npos) {
    return Error(Code::kInternal, "unexpected /proc/{}/stat format", pid);
  }
  std::istringstream fields(text->substr(close + 1));
  ProcStat stat;
  std::string field;
  for (int index = 3; fields >> field; ++index) {
    if (index == 3) stat.state = field.empty() ? '?' : field[0];
    if (index == 22) {
      auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), stat.start_ticks);
      if (ec != std::errc()) break;
      return stat;
    }
  }
  return Error(Code::kInternal, "unexpected /proc/{}/stat format", pid);
}

Result<PidRecord> RecordOf(pid_t pid) {
  BERTH_ASSIGN_OR_RETURN(ProcStat stat, ReadProcStat(pid));
  return PidRecord{pid, stat.start_ticks};
}

Status WritePidFile(const std::string& path, const PidRecord& record) {
  BERTH_RETURN_IF_ERROR(MakeDirs(path.substr(0, path.find_last_of('/')), 0700));
  return WriteFileAtomic(path, fmt::format("{} {}\n", record.pid, record.start_ticks), 0600);
}

Result<PidRecord> ReadPidFile(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::istringstream in(text);
  long long pid = 0;
  unsigned long long ticks = 0;
  std::string rest;
  if (!(in >> pid >> ticks) || pid <= 0 || (in >> rest)) {
    return Error(Code::kInvalidArgument, "pid file {} does not hold \"<pid> <start time>\"", path);
  }
  return PidRecord{static_cast<pid_t>(pid), ticks};
}

Result<UniqueFd> OpenRecordedProcess(const PidRecord& record) {
  auto same = [&]() -> bool {
    Result<ProcStat> stat = ReadProcStat(record.pid);
    return stat.ok() && stat->state != 'Z' && stat->start_ticks == record.start_ticks;
  };
  if (!same()) return Error(Code::kNotFound, "process {} is gone", record.pid);
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, record.pid, 0)));
  if (!fd) {
    if (errno == ESRCH) return Error(Code::kNotFound, "process {} is gone", record.pid);
    return ErrnoStatus(errno, fmt::format("pidfd_open {}", record.pid));
  }
  // The pidfd names whatever process had the pid when it was opened: check it still is ours.
  if (!same()) return Error(Code::kNotFound, "process {} is gone", record.pid);
  return fd;
}

int64_t StartTicksToUnixNanos(uint64_t start_ticks) {
  static const int64_t boot_nanos = [] {
    Result<std::string> stat = ReadFile("/proc/stat");
    if (!stat.ok()) return int64_t{0};
    size_t at = stat->find("\nbtime ");
    if (at == std::string::npos) return int64_t{0};
    return static_cast<int64_t>(std::stoll(stat->substr(at + 7))) * 1'000'000'000;
  }();
  long hz = ::sysconf(_SC_CLK_TCK);
  if (hz <= 0) hz = 100;
  return boot_nanos + static_cast<int64_t>(start_ticks) * (1'000'000'000 / hz);
}

}  // namespace berth::supervisor
