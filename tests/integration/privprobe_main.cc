// berth-privprobe: stands in for a Berth service in the least-privilege tests. berthd spawns it
// exactly as it spawns the real service of the same name (same privileges, same command line);
// at start it tries what the service might try and records each outcome, then serves like any
// service (health, plugins) so berthd sees it running.
//
// It finds its service name from --socket (<state>/<name>.sock) and writes
// <root>/<name>/probe.json: {"action": "ok" | "<errno name>", ...} plus the CapEff/CapBnd/
// NoNewPrivs lines of /proc/self/status. Actions:
//   mount         unshare a mount namespace and mount a tmpfs (in a child, nothing leaks)
//   write_own     create a file in <root>/<name>
//   write_other   create a file in <root>/<peer> (peer: metadata for content, else content)
//   write_outside create a file in $BERTH_PROBE_OUTSIDE (a directory the test made)
//   chown_own     chown that own file to uid 4242
//   chroot        chroot(".")
//   bind_low_port bind 127.0.0.1:$BERTH_PROBE_LOW_PORT (a free port below 1024)
//   read_etc      read /etc/passwd (reads stay allowed)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "services/host/service_host.h"

namespace {

std::string Outcome(int rc) { return rc == 0 ? "ok" : strerrorname_np(errno); }

std::string Create(const std::string& path) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_TRUNC, 0600);
  if (fd < 0) return Outcome(-1);
  ::close(fd);
  return "ok";
}

// In a child, so that neither the namespace nor the mount outlives the check.
std::string TryMount(const std::string& dir) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) != 0) ::_exit(errno);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(errno);
    ::_exit(::mount("probe", dir.c_str(), "tmpfs", 0, nullptr) == 0 ? 0 : errno);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  int err = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
  return err == 0 ? "ok" : strerrorname_np(err);
}

std::string BindLowPort() {
  const char* port = ::getenv("BERTH_PROBE_LOW_PORT");
  if (port == nullptr) return "unset";
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(port)));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out = Outcome(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)));
  ::close(fd);
  return out;
}

nlohmann::json Probe(const std::string& name, const std::string& root) {
  nlohmann::json report;
  std::string own = root + "/" + name;
  std::string peer = root + "/" + (name == "content" ? "metadata" : "content");
  (void)berth::MakeDirs(own, 0700);
  report["mount"] = TryMount(own);
  report["write_own"] = Create(own + "/probe-own");
  report["write_other"] = Create(peer + "/probe-" + name);
  const char* outside = ::getenv("BERTH_PROBE_OUTSIDE");
  report["write_outside"] = outside ? Create(std::string(outside) + "/" + name) : "unset";
  report["chown_own"] = Outcome(::chown((own + "/probe-own").c_str(), 4242, 4242));
  report["chroot"] = Outcome(::chroot("."));
  report["bind_low_port"] = BindLowPort();
  std::ifstream passwd("/etc/passwd");
  report["read_etc"] = passwd.good() ? "ok" : Outcome(-1);
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    for (const char* key : {"CapEff:", "CapBnd:", "CapPrm:", "NoNewPrivs:"}) {
      if (line.rfind(key, 0) == 0) {
        std::string value = line.substr(std::strlen(key));
        value.erase(0, value.find_first_not_of(" \t"));
        report[std::string(key, std::strlen(key) - 1)] = value;
      }
    }
  }
  return report;
}

std::string NameFromSocket(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) != "--socket") continue;
    std::string base = argv[i + 1];
    base = base.substr(base.find_last_of('/') + 1);
    return base.substr(0, base.find('.'));
  }
  return "probe";
}

}  // namespace

int main(int argc, char** argv) {
  std::string name = NameFromSocket(argc, argv);
  // berthd passes each service its own flags too (e.g. --ingest-expiry): accept them.
  auto options = berth::service::ParseServiceCommandLine(name, argc, argv,
                                                         [](CLI::App& app) { app.allow_extras(); });
  nlohmann::json report = Probe(name, options.root);
  std::ofstream(options.root + "/" + name + "/probe.json") << report.dump(2) << "\n";
  berth::service::ServiceHost host(options);
  host.AddPlugin("berth.testing.v1", "privprobe");
  return host.Run();
}
