#include "shim/command.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "common/fs.h"
#include "shim/spawn.h"

namespace berth::shim {
namespace {

constexpr size_t kMaxStdin = 64 * 1024;

// One running command: waits for both the exit and the end of its output.
struct Running {
  uv_poll_t* poll = nullptr;
  UniqueFd out;
  size_t max_output = 0;
  CommandResult result;
  bool exited = false;
  CommandDone done;

  // Reads what is there; true at EOF or on an error that ends the stream.
  bool Drain() {
    char buf[4096];
    while (true) {
      ssize_t n = ::read(out.get(), buf, sizeof(buf));
      if (n > 0) {
        size_t room = max_output - std::min(max_output, result.output.size());
        result.output.append(buf, std::min(room, static_cast<size_t>(n)));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return !(n < 0 && errno == EAGAIN);
    }
  }
};

void Finish(Running* r) {
  if (r->poll != nullptr) {
    uv_poll_stop(r->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(r->poll),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    r->poll = nullptr;
  }
  std::unique_ptr<Running> owned(r);
  owned->out.reset();
  auto done = std::move(owned->done);
  done(std::move(owned->result));
}

void OnOutput(uv_poll_t* handle, int status, int events) {
  auto* r = static_cast<Running*>(handle->data);
  if (!r->Drain()) return;
  uv_poll_stop(handle);
  r->out.reset();
  if (r->exited) Finish(r);
}

Result<UniqueFd> StdinPipe(const std::string& data) {
  if (data.size() > kMaxStdin) {
    return Error(Code::kInvalidArgument, "command input of {} bytes exceeds {}", data.size(),
                 kMaxStdin);
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  // Fits the pipe buffer (64 KiB by default), so this cannot block.
  BERTH_RETURN_IF_ERROR(WriteAll(write_end.get(), data, "command stdin pipe"));
  return read_end;
}

}  // namespace

bool CommandResult::success() const {
  return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

std::string CommandResult::Describe() const {
  if (WIFSIGNALED(wait_status)) return fmt::format("signal {}", WTERMSIG(wait_status));
  return fmt::format("exit status {}", WEXITSTATUS(wait_status));
}

void RunCommand(uv_loop_t* loop, Reaper& reaper, CommandOptions options, CommandDone done) {
  UniqueFd stdin_pipe, out_read, out_write;
  if (!options.stdin_data.empty()) {
    auto pipe = StdinPipe(options.stdin_data);
    if (!pipe.ok()) return done(pipe.status());
    stdin_pipe = std::move(pipe).value();
    options.spawn.stdin_fd = stdin_pipe.get();
  }
  if (options.capture) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return done(ErrnoStatus(errno, "pipe"));
    out_read.reset(fds[0]);
    out_write.reset(fds[1]);
    // Only our end is non-blocking: the child must wait when the pipe is full, not fail.
    if (::fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) return done(ErrnoStatus(errno, "fcntl"));
    options.spawn.stdout_fd = out_write.get();
    options.spawn.stderr_fd = out_write.get();
  }
  Reaper::Clock::time_point spawned_at = Reaper::Clock::now();
  auto spawned = SpawnDetached(options.spawn);
  if (!spawned.ok()) return done(spawned.status());
  pid_t pid = *spawned;
  stdin_pipe.reset();
  out_write.reset();

  auto* r = new Running;
  r->done = std::move(done);
  r->max_output = options.max_output;
  if (out_read) {
    r->out = std::move(out_read);
    r->poll = new uv_poll_t;
    uv_poll_init(loop, r->poll, r->out.get());
    r->poll->data = r;
    uv_poll_start(r->poll, UV_READABLE | UV_DISCONNECT, &OnOutput);
  }
  auto on_exit = [r](int status) {
    r->exited = true;
    r->result.wait_status = status;
    // Whatever is left in the pipe; an output still held open by a grandchild is not waited for.
    if (r->out) r->Drain();
    Finish(r);
  };
  if (auto status = reaper.Watch(pid, on_exit, spawned_at)) on_exit(*status);
}

}  // namespace berth::shim
