#pragma once
// Registry hosts: where to send the requests for a registry domain, with which TLS settings,
// in containerd's hosts.toml format.
//
//   <hosts_dir>/<domain>/hosts.toml   (domain as in references: "docker.io", "127.0.0.1:5000";
//                                      <hosts_dir>/_default/hosts.toml applies to the others)
//     server = "https://registry.example.com"   # the upstream; default https://<domain>
//                                               # (docker.io: https://registry-1.docker.io);
//                                               # an http:// URL means plain HTTP
//     ca = "/path/ca.pem"                       # or a list; relative paths: to the hosts dir
//     client = [["client.cert", "client.key"]]  # or "both.pem", or ["cert", "key"]
//     skip_verify = false
//     capabilities = ["pull", "resolve", "push"]
//     [header]
//       x-custom = "value"
//     [host."https://mirror.example.com"]       # mirrors, tried first, in file order
//       capabilities = ["pull", "resolve"]      # default for a host entry: pull, resolve
//       ca = ..., client = ..., skip_verify = ..., override_path = false, [host."...".header]
//
// Without hosts.toml, the directory is read the docker way: *.crt are CAs, each X.cert with
// X.key is a client certificate.
//
// The mirror paths: "/v2" is appended to a host URL's path unless it ends with "/v2" or
// override_path is set (containerd's rule).
//
// Thread-safety: pure functions over the file system.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "client/http.h"
#include "common/status.h"

namespace berth::client {

enum Capability : uint32_t {
  kCapPull = 1,
  kCapResolve = 2,
  kCapPush = 4,
};

struct RegistryHost {
  std::string scheme = "https";
  std::string host{};        // host[:port] as in URLs
  std::string path = "/v2";  // API root path, no trailing slash
  uint32_t capabilities = kCapPull | kCapResolve | kCapPush;
  TlsOptions tls{};
  Headers headers{};
  bool mirror = false;

  // scheme://host
  std::string BaseUrl() const { return scheme + "://" + host; }
  // scheme://host/path
  std::string ApiUrl() const { return BaseUrl() + path; }
};

struct HostsOptions {
  std::string hosts_dir{};   // "" = no configuration files
  bool plain_http = false;   // the upstream server (not configured mirrors) speaks plain HTTP
  bool skip_verify = false;  // the upstream's certificate is not verified
};

inline constexpr std::string_view kDefaultHostsDir = "/etc/berth/certs.d";

// The hosts for `domain`, mirrors first, the upstream server last. INVALID_ARGUMENT for a
// malformed hosts.toml (the message names the file and the problem).
Result<std::vector<RegistryHost>> ConfigureHosts(std::string_view domain,
                                                 const HostsOptions& options);

}  // namespace berth::client
