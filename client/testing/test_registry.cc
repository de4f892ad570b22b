#include "client/testing/test_registry.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "client/auth.h"
#include "client/http.h"
#include "common/fs.h"

#ifndef BERTH_SOURCE_DIR_DEFAULT
#define BERTH_SOURCE_DIR_DEFAULT "."
#endif

namespace berth::client::testing {
namespace {

Result<int> FreePort() {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return ErrnoStatus(errno, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return ErrnoStatus(errno, "bind");
  }
  socklen_t len = sizeof addr;
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  return static_cast<int>(ntohs(addr.sin_port));
}

Result<std::string> Bcrypt(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof salt) == nullptr) {
    return ErrnoStatus(errno, "crypt_gensalt");
  }
  auto data = std::make_unique<crypt_data>();
  const char* hash = crypt_r(password.c_str(), salt, data.get());
  if (hash == nullptr || hash[0] == '*') return Status(Code::kInternal, "bcrypt failed");
  return std::string(hash);
}

// Waits until `url` answers any HTTP status (the registry is serving), or the process died.
Status WaitServing(const std::string& url, const TlsOptions& tls, ChildProcess& process) {
  HttpSession session;
  for (int i = 0; i < 200; ++i) {
    HttpRequest req;
    req.url = url;
    req.tls = &tls;
    if (session.Do(req).ok()) return Status::Ok();
    auto exited = process.TryWait();
    if (exited.ok() && exited->has_value()) {
      return Error(Code::kUnavailable, "server exited: {}", (*exited)->ToString());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Error(Code::kDeadlineExceeded, "{} did not answer within 10 s", url);
}

}  // namespace

std::string SourceDir() {
  const char* dir = std::getenv("BERTH_SOURCE_DIR");
  return dir != nullptr && *dir != '\0' ? dir : BERTH_SOURCE_DIR_DEFAULT;
}

Result<TlsFiles> MakeTlsFiles(const std::string& dir) {
  TlsFiles f{dir + "/ca.crt", dir + "/server.crt", dir + "/server.key", dir + "/client.crt",
             dir + "/client.key"};
  std::string ca_key = dir + "/ca.key", csr = dir + "/server.csr", ext = dir + "/ext.cnf";
  BERTH_RETURN_IF_ERROR(WriteFileAtomic(
      ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"));
  auto run = [](std::vector<std::string> argv) { return RunCapture(argv).status(); };
  BERTH_RETURN_IF_ERROR(run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca_key, "-out",
                             f.ca_cert, "-days", "2", "-subj", "/CN=berth-test-ca"}));
  BERTH_RETURN_IF_ERROR(
      run({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", f.server_key, "-out", csr, "-subj", "/CN=127.0.0.1"}));
  BERTH_RETURN_IF_ERROR(
      run({"openssl", "x509", "-req", "-in", csr, "-CA", f.ca_cert, "-CAkey", ca_key,
           "-CAcreateserial", "-out", f.server_cert, "-days", "2", "-extfile", ext}));
  std::string client_csr = dir + "/client.csr";
  BERTH_RETURN_IF_ERROR(
      run({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", f.client_key, "-out", client_csr, "-subj", "/CN=berth-test-client"}));
  BERTH_RETURN_IF_ERROR(
      run({"openssl", "x509", "-req", "-in", client_csr, "-CA", f.ca_cert, "-CAkey", ca_key,
           "-CAcreateserial", "-out", f.client_cert, "-days", "2"}));
  return f;
}

Result<std::unique_ptr<TestRegistry>> TestRegistry::Start(const TestRegistryOptions& options) {
  BERTH_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("b-reg"));
  std::unique_ptr<TestRegistry> r(new TestRegistry(std::move(dir)));
  r->options_ = options;
  if (options.tls) {
    BERTH_ASSIGN_OR_RETURN(r->tls_, MakeTlsFiles(r->dir_.path()));
  }
  if (!options.user.empty()) {
    BERTH_ASSIGN_OR_RETURN(std::string hash, Bcrypt(options.password));
    BERTH_RETURN_IF_ERROR(
        WriteFileAtomic(r->dir_.Join("htpasswd"), options.user + ":" + hash + "\n"));
  }
  Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    last = r->Launch(options);
    if (last.ok()) return r;
  }
  return last;
}

Status TestRegistry::Launch(const TestRegistryOptions& options) {
  BERTH_ASSIGN_OR_RETURN(int port, FreePort());
  host_ = fmt::format("127.0.0.1:{}", port);
  std::string config = fmt::format(
      "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
      "storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n"
      "http:\n  addr: {}\n  secret: berth-test-only\n",
      dir_.Join("data"), host_);
  if (options.tls) {
    config += fmt::format("  tls:\n    certificate: {}\n    key: {}\n", tls_.server_cert,
                          tls_.server_key);
    if (options.client_certs) config += fmt::format("    clientcas:\n      - {}\n", tls_.ca_cert);
  }
  if (!options.user.empty()) {
    config += fmt::format("auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                          dir_.Join("htpasswd"));
  }
  BERTH_RETURN_IF_ERROR(WriteFileAtomic(dir_.Join("config.yml"), config));
  UniqueFd log(
      ::open(dir_.Join("registry.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log) return ErrnoStatus(errno, "open registry.log");
  SpawnOptions spawn;
  spawn.argv = {"docker-registry", "serve", dir_.Join("config.yml")};
  spawn.stdin_fd = SpawnOptions::kDevNull;
  spawn.stdout_fd = log.get();
  spawn.stderr_fd = log.get();
  spawn.new_process_group = true;
  BERTH_ASSIGN_OR_RETURN(process_, ChildProcess::Spawn(spawn));
  std::string url = (options.tls ? "https://" : "http://") + host_ + "/v2/";
  TlsOptions tls{
      .client_cert = tls_.client_cert, .client_key = tls_.client_key, .skip_verify = true};
  Status s = WaitServing(url, tls, process_);
  if (!s.ok()) {
    process_ = ChildProcess();  // kills and reaps
    auto text = ReadFile(dir_.Join("registry.log"));
    return s.Annotate("docker-registry: " + (text.ok() ? text->substr(0, 2000) : ""));
  }
  return Status::Ok();
}

TestRegistry::~TestRegistry() = default;

Result<std::string> TestRegistry::WriteDockerConfig(const std::string& dir) const {
  std::string path = dir + "/config.json";
  std::string auth = Base64Encode(options_.user + ":" + options_.password);
  BERTH_RETURN_IF_ERROR(WriteFileAtomic(
      path, fmt::format(R"({{"auths": {{"{}": {{"auth": "{}"}}}}}})", host_, auth)));
  return path;
}

Status PushFixtureImages(const std::string& host) {
  std::string script = SourceDir() + "/tests/fixtures/images.sh";
  return RunCapture({"bash", script, "build-push", host}, {}, std::chrono::minutes(5)).status();
}

Result<std::unique_ptr<MisbehavingRegistry>> MisbehavingRegistry::Start(const std::string& blob,
                                                                        const TlsFiles* tls) {
  BERTH_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("b-bad"));
  std::unique_ptr<MisbehavingRegistry> m(new MisbehavingRegistry(std::move(dir)));
  BERTH_RETURN_IF_ERROR(WriteFileAtomic(m->dir_.Join("blob"), blob));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe2");
  UniqueFd read_end(fds[0]);
  m->stdin_.reset(fds[1]);
  SpawnOptions spawn;
  spawn.argv = {"python3", SourceDir() + "/client/testing/misbehaving_registry.py",
                m->dir_.Join("ports"), m->dir_.Join("blob")};
  if (tls != nullptr) {
    spawn.argv.push_back(tls->server_cert);
    spawn.argv.push_back(tls->server_key);
  }
  spawn.stdin_fd = read_end.get();
  spawn.new_process_group = true;
  BERTH_ASSIGN_OR_RETURN(m->process_, ChildProcess::Spawn(spawn));
  for (int i = 0; i < 200; ++i) {
    auto ports = ReadFile(m->dir_.Join("ports"));
    if (ports.ok() &&
        std::sscanf(ports->c_str(), "%d %d %d", &m->port_a_, &m->port_b_, &m->port_c_) == 3) {
      return m;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status(Code::kDeadlineExceeded, "misbehaving_registry.py did not start");
}

MisbehavingRegistry::~MisbehavingRegistry() {
  stdin_.reset();  // the script exits on EOF; the ChildProcess kills it otherwise
}

Result<HttpResponse> MisbehavingRegistry::Call(const std::string& method,
                                               const std::string& path) const {
  HttpSession session;
  HttpRequest req;
  req.method = method;
  req.url = fmt::format("http://127.0.0.1:{}{}", port_a_, path);
  BERTH_ASSIGN_OR_RETURN(HttpResponse resp, session.Do(req));
  if (resp.status != 200)
    return Error(Code::kInternal, "{} {}: HTTP {}", method, path, resp.status);
  return resp;
}

Result<std::string> MisbehavingRegistry::Log() const {
  BERTH_ASSIGN_OR_RETURN(HttpResponse resp, Call("GET", "/_log"));
  return resp.body;
}

Status MisbehavingRegistry::ClearLog() const { return Call("DELETE", "/_log").status(); }

Status MisbehavingRegistry::Release() const { return Call("POST", "/_release").status(); }

Result<int> MisbehavingRegistry::MaxInflight() const {
  BERTH_ASSIGN_OR_RETURN(HttpResponse resp, Call("GET", "/_stats"));
  int n = -1;
  if (std::sscanf(resp.body.c_str(), "{\"max_inflight\": %d}", &n) != 1) {
    return Error(Code::kInternal, "bad /_stats answer {}", resp.body);
  }
  return n;
}

}  // namespace berth::client::testing
