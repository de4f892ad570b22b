// berth-shim stdio over ttrpc with real runc: FIFOs handed to the container, file:// logs,
// stdin and CloseIO, and terminals (pty master from the console socket, resize).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/fs.h"
#include "tests/shim/shim_harness.h"

namespace berth::shim::testing {
namespace {

namespace task = containerd::task::v2;
namespace types = containerd::v1::types;

UniqueFd MakeFifo(const std::string& path, int flags) {
  EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0) << path;
  return UniqueFd(::open(path.c_str(), flags | O_CLOEXEC));
}

// Reads `fd` until EOF (or the timeout); returns what came.
std::string ReadToEof(int fd, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[65536];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      return out;
    } else if (errno != EAGAIN && errno != EINTR) {
      break;
    }
  }
  return out + "<no EOF>";
}

task::WaitResponse WaitExit(DirectShim& shim, const std::string& exec_id = "") {
  task::WaitRequest wait;
  wait.set_id(shim.id());
  wait.set_exec_id(exec_id);
  auto waited = shim.task().Wait(wait, shim.opts());
  EXPECT_TRUE(waited.ok()) << waited.status().ToString();
  return waited.ok() ? *waited : task::WaitResponse();
}

TEST(ShimIo, FileUriAppendsOutput) {
  auto shim = DirectShim::Start({"sh", "-c", "echo out; echo err >&2"});
  ASSERT_TRUE(shim);
  std::string log = shim->dir() + "/logs/c.log";
  ASSERT_TRUE(MakeDirs(shim->dir() + "/logs", 0755).ok());
  ASSERT_TRUE(WriteFileAtomic(log, "old\n").ok());  // an earlier run's output stays
  ASSERT_GT(shim->CreateAndStart("file://" + log), 0);
  EXPECT_EQ(WaitExit(*shim).exit_status(), 0u);
  std::string text = ReadText(log);
  EXPECT_EQ(text.substr(0, 4), "old\n") << text;
  EXPECT_NE(text.find("out\n", 4), std::string::npos) << text;
  EXPECT_NE(text.find("err\n", 4), std::string::npos) << text;
  EXPECT_EQ(text.size(), 12u) << text;
}

// Nobody reads stdout for a while: the container waits, nothing is dropped, and the reader
// sees EOF once the process is gone (the shim holds no writer).
TEST(ShimIo, FifoOutputIsNeverLostAndEndsWithEof) {
  auto shim = DirectShim::Start({"sh", "-c", "head -c 1000000 /dev/zero; echo done"});
  ASSERT_TRUE(shim);
  std::string fifo = shim->dir() + "/stdout";
  UniqueFd reader = MakeFifo(fifo, O_RDONLY | O_NONBLOCK);
  ASSERT_TRUE(reader);
  ASSERT_GT(shim->CreateAndStart(fifo), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  task::StateRequest state;
  state.set_id(shim->id());
  EXPECT_EQ(shim->task().State(state, shim->opts())->status(), types::RUNNING);  // blocked
  std::string out = ReadToEof(reader.get());
  EXPECT_EQ(out.size(), 1000000u + 5);
  EXPECT_EQ(out.substr(out.size() - 5), "done\n");
  EXPECT_EQ(WaitExit(*shim).exit_status(), 0u);
}

// stdin: no EOF before the client wrote and closed; CloseIO then ends it.
TEST(ShimIo, StdinFifoAndCloseIO) {
  auto shim = DirectShim::Start({"sh", "-c", "cat; echo eof"});
  ASSERT_TRUE(shim);
  std::string in_fifo = shim->dir() + "/stdin";
  ASSERT_EQ(::mkfifo(in_fifo.c_str(), 0600), 0);
  std::string log = shim->dir() + "/out.log";
  ASSERT_GT(shim->CreateAndStart("file://" + log, in_fifo), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  task::StateRequest state;
  state.set_id(shim->id());
  EXPECT_EQ(shim->task().State(state, shim->opts())->status(), types::RUNNING);
  {
    UniqueFd writer(::open(in_fifo.c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(writer);
    ASSERT_TRUE(WriteAll(writer.get(), "hello\n", "stdin").ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(shim->task().State(state, shim->opts())->status(), types::RUNNING);  // keeper holds
  task::CloseIORequest close;
  close.set_id(shim->id());
  close.set_stdin(true);
  ASSERT_TRUE(shim->task().CloseIO(close, shim->opts()).ok());
  EXPECT_EQ(WaitExit(*shim).exit_status(), 0u);
  EXPECT_EQ(ReadText(log), "hello\neof\n");
}

TEST(ShimIo, TerminalRelaysBothWaysAndResizes) {
  auto shim = DirectShim::Start({"sh", "-c", "tty; stty size; read line; echo got:$line"}, true);
  ASSERT_TRUE(shim);
  std::string out_fifo = shim->dir() + "/out", in_fifo = shim->dir() + "/in";
  UniqueFd reader = MakeFifo(out_fifo, O_RDONLY | O_NONBLOCK);
  ASSERT_EQ(::mkfifo(in_fifo.c_str(), 0600), 0);
  auto request = shim->CreateRequest();
  request.set_terminal(true);
  request.set_stdout(out_fifo);
  request.set_stdin(in_fifo);
  ASSERT_TRUE(shim->task().Create(request, shim->opts()).ok());
  task::ResizePtyRequest resize;
  resize.set_id(shim->id());
  resize.set_width(77);
  resize.set_height(33);
  ASSERT_TRUE(shim->task().ResizePty(resize, shim->opts()).ok());
  task::StartRequest start;
  start.set_id(shim->id());
  ASSERT_TRUE(shim->task().Start(start, shim->opts()).ok());
  UniqueFd writer(::open(in_fifo.c_str(), O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(WriteAll(writer.get(), "abc\n", "stdin").ok());
  std::string out = ReadToEof(reader.get());
  EXPECT_NE(out.find("/dev/pts/0"), std::string::npos) << out;
  EXPECT_NE(out.find("33 77"), std::string::npos) << out;
  EXPECT_NE(out.find("got:abc"), std::string::npos) << out;
  EXPECT_EQ(WaitExit(*shim).exit_status(), 0u);
}

TEST(ShimIo, ExecWithTerminal) {
  auto shim = DirectShim::Start({"sleep", "1000"});
  ASSERT_TRUE(shim);
  ASSERT_GT(shim->CreateAndStart(), 0);
  std::string out_fifo = shim->dir() + "/exec-out";
  UniqueFd reader = MakeFifo(out_fifo, O_RDONLY | O_NONBLOCK);
  auto exec = shim->ExecRequest("tty", {"sh", "-c", "tty; exit 6"});
  auto spec = nlohmann::json::parse(exec.spec().value());
  spec["terminal"] = true;
  exec.mutable_spec()->set_value(spec.dump());
  exec.set_terminal(true);
  exec.set_stdout(out_fifo);
  ASSERT_TRUE(shim->task().Exec(exec, shim->opts()).ok());
  task::StartRequest start;
  start.set_id(shim->id());
  start.set_exec_id("tty");
  auto started = shim->task().Start(start, shim->opts());
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_NE(ReadToEof(reader.get()).find("/dev/pts/"), std::string::npos);
  EXPECT_EQ(WaitExit(*shim, "tty").exit_status(), 6u);
}

}  // namespace
}  // namespace berth::shim::testing
