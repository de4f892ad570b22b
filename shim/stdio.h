#pragma once
// A process's stdio as containerd names it, and the descriptors the shim opens for it.
//
// containerd passes one string per stream: "" (none: /dev/null), an absolute FIFO path that
// the client (ctr, CRI) reads/writes, or "file:///abs/path" (append the output to that file, for
// detached containers; "binary://" logging drivers are not supported). Without a terminal the
// shim hands these files to the runtime directly, so output goes straight from the container to
// the client without a copy:
//   - stdout/stderr FIFOs are opened read-write (never blocks, never EPIPE while the client is
//     away; unread output stays in the FIFO and the writer waits, so nothing is lost; the client
//     sees EOF when the process and its children closed them);
//   - the stdin FIFO is given to the process read-only while the shim keeps a read-write
//     "keeper" open, so the process does not see EOF before the client opened its end; CloseIO
//     closes the keeper and EOF follows once the client closed its writer.
// With a terminal, output is copied from the pty master (see pty_relay.h).
//
// Log rotation (berth's extension of file://): "file:///abs/path?max-size=N&max-files=K", N > 0
// in bytes, K >= 0 (default 1). berth-runtime adds this query from berthd's `[runtime]
// log_max_size` / `log_max_files`. The process then gets a pipe instead of the file, and the
// shim copies the pipe into the file on its loop, rotating it to path.1 ... path.K whenever the
// next bytes would take it over N (rotating_log.h, log_copier.h). The shim lives as long as the
// container, so rotation goes on while berth-runtime restarts. With a terminal the pty relay
// writes into such a pipe in the same way. Limit: containerd's runc shim (io.containerd.runc.v2)
// parses the URI with the query dropped, so it writes one growing file at `path`; `berthctl
// logs` reads both.

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"
#include "shim/log_copier.h"
#include "shim/rotating_log.h"

namespace berth::shim {

struct StdioSpec {
  std::string in;
  std::string out;
  std::string err;
  bool terminal = false;
};

enum class StdioKind { kNone, kFifo, kFile };

// Classifies one stdio string; INVALID_ARGUMENT for relative paths, UNIMPLEMENTED for binary://
// or other schemes. For kFile `path` gets the file's path (without the rotation query).
Result<StdioKind> ClassifyStdio(const std::string& uri, std::string* path);

// The rotation a file:// URI asks for: max_size 0 when it has no query. INVALID_ARGUMENT for
// unknown keys, values that are not numbers, or max-size 0.
Result<LogRotation> ParseLogRotation(const std::string& uri);

// Opens an output stream: a FIFO read-write, a file for appending (parents created), none: an
// invalid fd. Every fd is O_CLOEXEC; `nonblocking` sets O_NONBLOCK (for the pty relay).
Result<UniqueFd> OpenOutput(const std::string& uri, bool nonblocking);

// An output for a process: for a file:// URI with rotation, the write end of a pipe whose
// LogCopier (running on `loop`) is appended to `copiers`; else what OpenOutput opens.
Result<UniqueFd> OpenRotatedOutput(const std::string& uri, uv_loop_t* loop,
                                   std::vector<std::unique_ptr<LogCopier>>* copiers,
                                   bool nonblocking);

struct ProcessStdio {
  UniqueFd in;  // for the process (read end)
  UniqueFd out;
  UniqueFd err;
  UniqueFd keeper;  // stdin FIFO held open by the shim until CloseIO / exit
  // Copiers of rotated logs (out and err share one when they name the same file). They must
  // live as long as the process can write: destroying one copies what is left and stops.
  std::vector<std::unique_ptr<LogCopier>> logs;
};

// Opens the descriptors of a process without a terminal. stdout and stderr naming the same file
// share one open file (or one pipe when rotated). A rotated file:// needs `loop` (the copier
// runs on it); without one it is INVALID_ARGUMENT.
Result<ProcessStdio> OpenProcessStdio(const StdioSpec& spec, uv_loop_t* loop = nullptr);

}  // namespace berth::shim
