#pragma once
// Progress of an image transfer (pull, push): one entry per blob with its state and bytes, shared
// between the worker threads that update it and a ProgressPrinter that shows it.
//
// ProgressPrinter draws, on a terminal, one line per blob (kind, digest, state, a bar, bytes and
// rate) redrawn in place with ANSI escapes ten times a second, like `ctr pull`; otherwise it
// prints one plain line per state change; quiet prints nothing.
//
// Thread-safety: Progress is thread-safe; a ProgressPrinter is started and stopped by one thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/digest.h"

namespace berth::client {

enum class BlobState { kWaiting, kExists, kDownloading, kDownloaded, kUnpacking, kDone, kFailed };
const char* BlobStateName(BlobState state);

struct BlobProgress {
  std::string kind{};  // "index", "manifest", "config", "layer", "blob"
  Digest digest{};
  uint64_t size = 0;
  uint64_t offset = 0;   // bytes present
  uint64_t resumed = 0;  // bytes that were already there when the transfer started
  BlobState state = BlobState::kWaiting;
  std::chrono::steady_clock::time_point started{};  // when the transfer started
};

class Progress {
 public:
  // Returns the entry's id.
  size_t Add(std::string kind, const Digest& digest, uint64_t size);
  void SetOffset(size_t id, uint64_t offset);
  void SetState(size_t id, BlobState state);
  // Starts the clock of a transfer that resumes at `offset`.
  void Start(size_t id, uint64_t offset);
  std::vector<BlobProgress> Entries() const;
  std::chrono::steady_clock::time_point began() const { return began_; }

 private:
  mutable std::mutex mu_;
  std::vector<BlobProgress> entries_;
  std::chrono::steady_clock::time_point began_ = std::chrono::steady_clock::now();
};

class ProgressPrinter {
 public:
  enum class Mode { kTerminal, kPlain, kQuiet };
  ProgressPrinter(const Progress& progress, FILE* out, Mode mode);
  ~ProgressPrinter();  // Stop()
  // Terminal when `out` is a TTY, else plain (or quiet).
  static Mode ModeFor(FILE* out, bool quiet);

  void Start();
  // Draws the final state and stops the thread.
  void Stop();

 private:
  void Loop();
  void Draw(bool final);
  void DrawTerminal(const std::vector<BlobProgress>& entries, bool final);
  void DrawPlain(const std::vector<BlobProgress>& entries);

  const Progress& progress_;
  FILE* out_;
  Mode mode_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  size_t drawn_lines_ = 0;
  std::vector<BlobState> printed_;  // plain mode: the last state printed per entry
};

// "12.3 MiB"
std::string HumanBytes(uint64_t bytes);

}  // namespace berth::client
