#include "client/progress.h"

#include <unistd.h>

#include <fmt/format.h>

namespace berth::client {

const char* BlobStateName(BlobState state) {
  switch (state) {
    case BlobState::kWaiting:
      return "waiting";
    case BlobState::kExists:
      return "exists";
    case BlobState::kDownloading:
      return "downloading";
    case BlobState::kDownloaded:
      return "downloaded";
    case BlobState::kUnpacking:
      return "unpacking";
    case BlobState::kDone:
      return "done";
    case BlobState::kFailed:
      return "failed";
  }
  return "?";
}

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, kUnits[unit]);
}

size_t Progress::Add(std::string kind, const Digest& digest, uint64_t size) {
  std::lock_guard lock(mu_);
  entries_.push_back(BlobProgress{.kind = std::move(kind), .digest = digest, .size = size});
  return entries_.size() - 1;
}

void Progress::SetOffset(size_t id, uint64_t offset) {
  std::lock_guard lock(mu_);
  entries_[id].offset = offset;
}

void Progress::SetState(size_t id, BlobState state) {
  std::lock_guard lock(mu_);
  entries_[id].state = state;
  if (state == BlobState::kExists || state == BlobState::kDownloaded || state == BlobState::kDone) {
    entries_[id].offset = entries_[id].size;
  }
}

void Progress::Start(size_t id, uint64_t offset) {
  std::lock_guard lock(mu_);
  entries_[id].offset = entries_[id].resumed = offset;
  entries_[id].started = std::chrono::steady_clock::now();
  entries_[id].state = BlobState::kDownloading;
}

std::vector<BlobProgress> Progress::Entries() const {
  std::lock_guard lock(mu_);
  return entries_;
}

ProgressPrinter::ProgressPrinter(const Progress& progress, FILE* out, Mode mode)
    : progress_(progress), out_(out), mode_(mode) {}

ProgressPrinter::~ProgressPrinter() { Stop(); }

ProgressPrinter::Mode ProgressPrinter::ModeFor(FILE* out, bool quiet) {
  if (quiet) return Mode::kQuiet;
  return ::isatty(fileno(out)) ? Mode::kTerminal : Mode::kPlain;
}

void ProgressPrinter::Start() {
  if (mode_ == Mode::kQuiet || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void ProgressPrinter::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  Draw(true);
}

void ProgressPrinter::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    Draw(false);
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; });
  }
}

void ProgressPrinter::Draw(bool final) {
  std::vector<BlobProgress> entries = progress_.Entries();
  if (mode_ == Mode::kTerminal) DrawTerminal(entries, final);
  if (mode_ == Mode::kPlain) DrawPlain(entries);
  std::fflush(out_);
}

void ProgressPrinter::DrawTerminal(const std::vector<BlobProgress>& entries, bool final) {
  auto now = std::chrono::steady_clock::now();
  std::string frame;
  if (drawn_lines_ > 0) frame += fmt::format("\x1b[{}A", drawn_lines_);  // back to the top
  uint64_t total = 0;
  for (const BlobProgress& e : entries) {
    total += e.offset;
    std::string bar;
    if (e.state == BlobState::kDownloading && e.size > 0) {
      int filled = static_cast<int>(40.0 * e.offset / e.size);
      bar = "|" + std::string(filled, '+') + std::string(40 - filled, '-') + "|";
      double secs = std::chrono::duration<double>(now - e.started).count();
      if (secs > 0.2) bar += fmt::format(" {}/s", HumanBytes((e.offset - e.resumed) / secs));
    }
    frame += fmt::format("\x1b[2K{:<8} {}: {:<11} {:>10}/{:<10} {}\n", e.kind,
                         e.digest.ToString().substr(0, 19), BlobStateName(e.state),
                         HumanBytes(e.offset), HumanBytes(e.size), bar);
  }
  double elapsed = std::chrono::duration<double>(now - progress_.began()).count();
  frame += fmt::format("\x1b[2Kelapsed: {:.1f} s  total: {}{}\n", elapsed, HumanBytes(total),
                       final ? "" : "  ");
  drawn_lines_ = entries.size() + 1;
  std::fputs(frame.c_str(), out_);
}

void ProgressPrinter::DrawPlain(const std::vector<BlobProgress>& entries) {
  printed_.resize(entries.size(), static_cast<BlobState>(-1));
  for (size_t i = 0; i < entries.size(); ++i) {
    const BlobProgress& e = entries[i];
    if (e.state == printed_[i] || e.state == BlobState::kWaiting) continue;
    printed_[i] = e.state;
    std::string extra;
    if (e.state == BlobState::kDownloading && e.resumed > 0) {
      extra = fmt::format(" (resuming at {})", HumanBytes(e.resumed));
    }
    std::fputs(fmt::format("{} {} ({}): {}{}\n", e.kind, e.digest.ToString(), HumanBytes(e.size),
                           BlobStateName(e.state), extra)
                   .c_str(),
               out_);
  }
}

}  // namespace berth::client
