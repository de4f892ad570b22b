#pragma once
// Test fixtures for the registry client: a real docker-registry (Debian's distribution 2.8) on
// 127.0.0.1 with optional TLS and htpasswd auth, the fixture images pushed into it, TLS files
// made with the openssl CLI, and the misbehaving registry (misbehaving_registry.py).
//
// Every fixture owns its processes and temp dirs: destroying it kills and reaps the process and
// removes the files, so a failed test leaves nothing behind.

#include <memory>
#include <string>
#include <vector>

#include "client/registry.h"
#include "common/process.h"
#include "common/status.h"
#include "common/temp_dir.h"

namespace berth::client::testing {

// A fetch target that keeps the bytes in memory and counts restarts.
struct StringTarget : FetchTarget {
  std::string data;
  int restarts = 0;
  Status Write(std::string_view chunk) override {
    data.append(chunk);
    return Status::Ok();
  }
  Status Restart() override {
    ++restarts;
    data.clear();
    return Status::Ok();
  }
};

// $BERTH_SOURCE_DIR (set by CTest), else the source dir compiled in.
std::string SourceDir();

struct TlsFiles {
  std::string ca_cert, server_cert, server_key;
  std::string client_cert, client_key;  // a client certificate signed by the same CA
};
// A CA, a server certificate for 127.0.0.1/localhost and a client certificate signed by it, in
// `dir`.
Result<TlsFiles> MakeTlsFiles(const std::string& dir);

struct TestRegistryOptions {
  bool tls = false;
  std::string user{}, password{};  // non-empty: htpasswd (bcrypt) auth with this one user
  bool client_certs = false;       // with tls: clients must show a certificate of the CA
};

class TestRegistry {
 public:
  static Result<std::unique_ptr<TestRegistry>> Start(const TestRegistryOptions& options = {});
  ~TestRegistry();

  // "127.0.0.1:PORT"
  const std::string& host() const { return host_; }
  const TlsFiles& tls() const { return tls_; }
  const std::string& dir() const { return dir_.path(); }
  // A docker-style config.json holding the test user's credentials for this registry.
  Result<std::string> WriteDockerConfig(const std::string& dir) const;

 private:
  TestRegistry(TempDir dir) : dir_(std::move(dir)) {}
  Status Launch(const TestRegistryOptions& options);

  TempDir dir_;
  std::string host_;
  TlsFiles tls_;
  TestRegistryOptions options_;
  ChildProcess process_;
};

// Runs tests/fixtures/images.sh build-push HOST (plain-HTTP registry): berth/busybox:latest
// (OCI), berth/busybox:v2s2 (Docker), berth/layered:latest (OCI, 3 layers).
Status PushFixtureImages(const std::string& host);

class MisbehavingRegistry {
 public:
  // Serves `blob` (see misbehaving_registry.py for the routes); with `tls`, also the registry's
  // routes over https (tls_port()) with that server certificate.
  static Result<std::unique_ptr<MisbehavingRegistry>> Start(const std::string& blob,
                                                            const TlsFiles* tls = nullptr);
  ~MisbehavingRegistry();

  int port() const { return port_a_; }        // the registry
  int other_port() const { return port_b_; }  // "another host"
  int tls_port() const { return port_c_; }    // the registry over https (0 without TLS)
  // The requests received so far (JSON array of {port, method, path, authorization, accept,
  // range}).
  Result<std::string> Log() const;
  // Forgets the requests logged and the MaxInflight count.
  Status ClearLog() const;
  // Lets the held-back blob of the "gated" image go.
  Status Release() const;
  // The most blobs of the "slow" image that were being served at once.
  Result<int> MaxInflight() const;

 private:
  MisbehavingRegistry(TempDir dir) : dir_(std::move(dir)) {}
  Result<HttpResponse> Call(const std::string& method, const std::string& path) const;
  TempDir dir_;
  int port_a_ = 0, port_b_ = 0, port_c_ = 0;
  UniqueFd stdin_;
  ChildProcess process_;
};

}  // namespace berth::client::testing
