#pragma once
// Registry authentication: WWW-Authenticate challenges, docker-style credentials, and the
// Authorizer that turns them into Authorization headers (basic, or bearer tokens fetched from
// the challenge's realm with the repository scope).
//
// Credential scoping: an Authorizer belongs to one registry host (scheme + host + port). Its
// headers are given only for requests to that origin; callers ask with the request URL and get
// nothing for any other origin (redirects elsewhere, foreign layer URLs). A token realm on plain
// http is refused when the registry itself is https (no downgrade of credentials).
//
// Thread-safety: CredentialStore is immutable after loading; Authorizer is thread-safe (a mutex
// guards its token cache; token fetches happen outside it on the caller's session).

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/http.h"
#include "common/status.h"

namespace berth::client {

struct Challenge {
  std::string scheme;                         // lower-case: "basic", "bearer"
  std::map<std::string, std::string> params;  // keys lower-case: realm, service, scope, error
};

// Parses every challenge of WWW-Authenticate header values (RFC 7235: several challenges may
// share one header, separated by commas). Malformed input yields the challenges parsed so far.
std::vector<Challenge> ParseChallenges(const std::vector<std::string>& header_values);

struct Credentials {
  std::string username;
  std::string password;        // or a personal access token
  std::string identity_token;  // docker's "identitytoken" (OAuth refresh token)
  bool empty() const { return username.empty() && password.empty() && identity_token.empty(); }
};

// Credentials by registry host, from a docker-style config.json ("auths": {"host": {"auth":
// base64(user:pass)} | {"username", "password"} | {"identitytoken"}}). Keys may be URLs
// ("https://index.docker.io/v1/" means docker.io); they are reduced to host[:port].
class CredentialStore {
 public:
  CredentialStore() = default;
  // Loads `path`; a missing file is an empty store. INVALID_ARGUMENT for a malformed file.
  static Result<CredentialStore> Load(const std::string& path);
  // $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
  static std::string DefaultPath();

  // Adds or replaces the credentials of `host` (e.g. from --user).
  void Set(const std::string& host, Credentials credentials);
  // Credentials for a registry host ("docker.io" and "registry-1.docker.io" are one).
  std::optional<Credentials> Lookup(std::string_view host) const;

 private:
  std::map<std::string, Credentials> by_host_;
};

// Standard base64 (with padding), for Basic credentials.
std::string Base64Encode(std::string_view bytes);

// "user:password" (the password may contain ':'); INVALID_ARGUMENT without a colon.
Result<Credentials> ParseUserFlag(std::string_view text);

class Authorizer {
 public:
  // `registry_url`: the registry's base URL ("https://host:port"), fixing the origin the
  // credentials belong to.
  Authorizer(std::string registry_url, std::optional<Credentials> credentials,
             const TlsOptions* tls);

  // The Authorization header value for a request to `url` needing `scope` (e.g.
  // "repository:library/busybox:pull"), or nullopt: never for another origin.
  std::optional<std::string> HeaderFor(std::string_view url, std::string_view scope);

  // Handles a 401 answer to a request for `scope` that carried the Authorization header `sent`
  // ("" when it carried none): parses the challenges and prepares what HeaderFor returns next
  // (fetching a bearer token with `session`). Returns OK when a retry may succeed;
  // UNAUTHENTICATED when it cannot ("... requires credentials" when there are none, "...
  // rejected the credentials" when the request already carried them), PERMISSION_DENIED when a
  // fresh token for the scope was refused. Only a refusal of what was actually sent counts:
  // concurrent requests sent before another thread learnt the scheme or fetched a token just
  // retry with it.
  Status HandleUnauthorized(HttpSession& session, const HttpResponse& response,
                            std::string_view scope, std::string_view sent = {});

  const std::string& host() const { return origin_.host; }

 private:
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  Result<Token> FetchToken(HttpSession& session, const Challenge& challenge,
                           std::string_view scope);
  Status HandleBearer(HttpSession& session, const Challenge& challenge, std::string_view scope,
                      std::string_view sent);
  Status HandleBasic(std::string_view sent);
  std::string BasicHeader() const;
  std::string Who() const;

  std::string registry_url_;
  Origin origin_;
  std::optional<Credentials> credentials_;
  const TlsOptions* tls_;

  std::mutex mu_;
  std::string scheme_;                   // "" (anonymous), "basic", "bearer"
  Challenge bearer_;                     // the last bearer challenge (realm, service)
  std::map<std::string, Token> tokens_;  // by scope
};

}  // namespace berth::client
