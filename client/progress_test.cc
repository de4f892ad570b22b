#include "client/progress.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <pty.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>

namespace berth::client {
namespace {

std::string Drain(FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

TEST(ProgressTest, PlainModePrintsOneLinePerStateChange) {
  Progress progress;
  Digest d = DigestBytes("layer").value();
  size_t id = progress.Add("layer", d, 2 << 20);
  FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  {
    ProgressPrinter printer(progress, out, ProgressPrinter::Mode::kPlain);
    printer.Start();
    progress.Start(id, 1 << 20);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    progress.SetOffset(id, (1 << 20) + 5);  // no state change: no line
    progress.SetState(id, BlobState::kDownloaded);
    printer.Stop();
  }
  std::string text = Drain(out);
  std::fclose(out);
  EXPECT_NE(text.find("layer " + d.ToString() + " (2.0 MiB): downloading (resuming at 1.0 MiB)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(": downloaded"), std::string::npos) << text;
  EXPECT_EQ(text.find("\x1b["), std::string::npos);  // no escapes off a terminal
  size_t lines = std::count(text.begin(), text.end(), '\n');
  EXPECT_EQ(lines, 2u) << text;
}

TEST(ProgressTest, TerminalModeRedrawsInPlace) {
  Progress progress;
  size_t id = progress.Add("layer", DigestBytes("x").value(), 100);
  FILE* out = std::tmpfile();
  {
    ProgressPrinter printer(progress, out, ProgressPrinter::Mode::kTerminal);
    printer.Start();
    progress.Start(id, 0);
    progress.SetOffset(id, 50);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    progress.SetState(id, BlobState::kDone);
  }
  std::string text = Drain(out);
  std::fclose(out);
  EXPECT_NE(text.find("\x1b[2A"), std::string::npos);  // back over the blob and total lines
  EXPECT_NE(text.find("|++++++++++++++++++++--------------------|"), std::string::npos) << text;
  EXPECT_NE(text.find("done"), std::string::npos);
  EXPECT_NE(text.find("elapsed:"), std::string::npos);
  // Per blob: kind, digest, state, bytes so far of the size, and the rate while downloading.
  EXPECT_NE(text.find("layer    sha256:"), std::string::npos) << text;
  EXPECT_NE(text.find("downloading"), std::string::npos) << text;
  EXPECT_NE(text.find("50 B/100 B"), std::string::npos) << text;
  EXPECT_NE(text.find(" B/s"), std::string::npos) << text;
}

TEST(ProgressTest, TerminalOnlyOnATty) {
  int master = -1, slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  ::fcntl(master, F_SETFD, FD_CLOEXEC);  // openpty has no flag for it
  ::fcntl(slave, F_SETFD, FD_CLOEXEC);
  FILE* tty = ::fdopen(slave, "w");
  ASSERT_NE(tty, nullptr);
  EXPECT_EQ(ProgressPrinter::ModeFor(tty, false), ProgressPrinter::Mode::kTerminal);
  EXPECT_EQ(ProgressPrinter::ModeFor(tty, true), ProgressPrinter::Mode::kQuiet);
  std::fclose(tty);
  ::close(master);
  FILE* file = std::tmpfile();
  EXPECT_EQ(ProgressPrinter::ModeFor(file, false), ProgressPrinter::Mode::kPlain);
  std::fclose(file);
}

TEST(ProgressTest, QuietPrintsNothingAndHumanBytes) {
  Progress progress;
  progress.Add("layer", DigestBytes("x").value(), 100);
  FILE* out = std::tmpfile();
  {
    ProgressPrinter printer(progress, out, ProgressPrinter::Mode::kQuiet);
    printer.Start();
  }
  EXPECT_EQ(Drain(out), "");
  std::fclose(out);
  EXPECT_EQ(HumanBytes(512), "512 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(uint64_t{3} << 30), "3.0 GiB");
}

}  // namespace
}  // namespace berth::client
