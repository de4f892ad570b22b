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

#include <string>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::shim {

struct StdioSpec {
  std::string in;
  std::string out;
  std::string err;
  bool terminal = false;
};

enum class StdioKind { kNone, kFifo, kFile };

// Classifies one stdio string; INVALID_ARGUMENT for relative paths, UNIMPLEMENTED for binary://
// or other schemes. For kFile `path` gets the file's path.
Result<StdioKind> ClassifyStdio(const std::string& uri, std::string* path);

// Opens an output stream: a FIFO read-write, a file for appending (parents created), none: an
// invalid fd. Every fd is O_CLOEXEC; `nonblocking` sets O_NONBLOCK (for the pty relay).
Result<UniqueFd> OpenOutput(const std::string& uri, bool nonblocking);

struct ProcessStdio {
  UniqueFd in;  // for the process (read end)
  UniqueFd out;
  UniqueFd err;
  UniqueFd keeper;  // stdin FIFO held open by the shim until CloseIO / exit
};

// Opens the descriptors of a process without a terminal. stdout and stderr naming the same file
// share one open file.
Result<ProcessStdio> OpenProcessStdio(const StdioSpec& spec);

}  // namespace berth::shim
