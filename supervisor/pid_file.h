#pragma once
// Pid files that survive pid reuse: berthd records each service it starts as
// "<pid> <start time>\n" in <state>/services/<name>.pid, where the start time is field 22 of
// /proc/<pid>/stat (clock ticks after boot). A restarted berthd adopts the process only when a
// process with that pid exists, is not a zombie, and started at that very tick.
//
// Thread-safety: plain functions, no shared state; they read /proc and files (blocking, cheap).

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::supervisor {

struct PidRecord {
  pid_t pid = 0;
  uint64_t start_ticks = 0;
  bool operator==(const PidRecord&) const = default;
};

struct ProcStat {
  char state = '?';  // R, S, D, Z, ...
  uint64_t start_ticks = 0;
};
// Reads /proc/<pid>/stat. NOT_FOUND when there is no such process.
Result<ProcStat> ReadProcStat(pid_t pid);

// The record for a running process (its current start time).
Result<PidRecord> RecordOf(pid_t pid);

// Writes the record atomically (mode 0600), creating the parent directory (0700).
Status WritePidFile(const std::string& path, const PidRecord& record);
// NOT_FOUND when the file is absent; INVALID_ARGUMENT when it does not hold "<pid> <ticks>".
Result<PidRecord> ReadPidFile(const std::string& path);

// A pidfd for the process `record` names, if it is still that process and alive: NOT_FOUND when
// it is gone, a zombie, or its pid now belongs to another process.
Result<UniqueFd> OpenRecordedProcess(const PidRecord& record);

// The wall-clock start of a process from its start ticks (boot time + ticks / CLK_TCK), in Unix
// nanoseconds.
int64_t StartTicksToUnixNanos(uint64_t start_ticks);

}  // namespace berth::supervisor
