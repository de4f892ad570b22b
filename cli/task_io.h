#pragma once
// What berthctl's run, task start/exec/attach share to connect a container process to the
// terminal: stdio FIFOs the shim opens, copy threads, raw terminal mode, and signal forwarding.
//
// FIFOs live in a private directory <state>/fifo/<random> (0700) removed on destruction. They
// are opened before the task is created, so the shim always finds its peer: stdin for writing
// (O_RDWR, never blocks), stdout/stderr for reading (O_NONBLOCK; polled, so "no writer yet" is
// not mistaken for the end of the output).

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <termios.h>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::cli {

class StdioFifos {
 public:
  // `with_stdin`: a stdin FIFO fed from our fd 0. `with_stderr`: a separate stderr FIFO (not
  // with a terminal, whose output all comes on stdout).
  static Result<std::unique_ptr<StdioFifos>> Create(const std::string& state, bool with_stdin,
                                                    bool with_stderr);
  ~StdioFifos();

  const std::string& stdin_path() const { return stdin_path_; }
  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }

  // Starts copying: fd 0 -> stdin FIFO (on EOF of fd 0, `on_stdin_eof` runs, e.g. CloseIO),
  // stdout FIFO -> fd 1, stderr FIFO -> fd 2.
  void Start(std::function<void()> on_stdin_eof = {});
  // Waits until the shim closed stdout and stderr (the process and its children are done
  // writing), at most `timeout`.
  void WaitOutput(std::chrono::milliseconds timeout);

 private:
  StdioFifos() = default;
  std::string dir_, stdin_path_, stdout_path_, stderr_path_;
  UniqueFd stdin_fd_, stdout_fd_, stderr_fd_;
  std::vector<std::thread> output_threads_;
  std::atomic<int> outputs_open_{0};
  std::atomic<bool> stop_{false};
};

// Puts a terminal fd in raw mode; restores the previous mode when destroyed.
class RawTerminal {
 public:
  explicit RawTerminal(int fd);
  ~RawTerminal();
  bool active() const { return saved_.has_value(); }

 private:
  int fd_;
  std::optional<termios> saved_;
};

// The size of the terminal on `fd` (width, height), nullopt when it is not a terminal.
std::optional<std::pair<uint32_t, uint32_t>> TerminalSize(int fd);

// A thread that receives SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGWINCH (blocked in every thread
// of the process from construction on) and calls `on_signal(signo)`. Construct it before any
// other thread is started.
class SignalForwarder {
 public:
  explicit SignalForwarder(std::function<void(int)> on_signal);
  ~SignalForwarder();

 private:
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

}  // namespace berth::cli
