#pragma once
// Registry internals shared by registry*.cc.

#include <memory>

#include "client/registry.h"

namespace berth::client {

struct Registry::Session {
  explicit Session(HttpShare* share) : http(share) {}
  HttpSession http;
};

struct Registry::Host {
  const RegistryHost* config = nullptr;
  std::unique_ptr<Authorizer> auth;
  Origin origin;
  TlsOptions foreign_tls;  // for hops to other origins: CAs only, no client certificate
};

bool IsRedirect(long status);
// "application/vnd.oci.image.manifest.v1+json; charset=utf-8" -> the type alone.
std::string MediaTypeOf(std::string_view content_type);

}  // namespace berth::client
