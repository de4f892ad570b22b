// Authorizer: answering 401 challenges (basic credentials, bearer tokens from the realm).
#include <algorithm>

#include <nlohmann/json.hpp>

#include "client/auth.h"

namespace berth::client {
namespace {

// Splits "a b" scopes (several repositories for a cross-repository mount).
std::vector<std::string> SplitScopes(std::string_view scope) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < scope.size()) {
    size_t space = scope.find(' ', start);
    if (space == std::string_view::npos) space = scope.size();
    if (space > start) out.emplace_back(scope.substr(start, space - start));
    start = space + 1;
  }
  return out;
}

const Challenge* Find(const std::vector<Challenge>& challenges, std::string_view scheme) {
  for (const Challenge& c : challenges) {
    if (c.scheme == scheme) return &c;
  }
  return nullptr;
}

}  // namespace

Result<Authorizer::Token> Authorizer::FetchToken(HttpSession& session, const Challenge& challenge,
                                                 std::string_view scope) {
  auto realm_it = challenge.params.find("realm");
  if (realm_it == challenge.params.end() || realm_it->second.empty()) {
    return Error(Code::kUnauthenticated, "registry {} sent a bearer challenge without realm",
                 origin_.host);
  }
  BERTH_ASSIGN_OR_RETURN(Origin realm, OriginOf(realm_it->second));
  if (realm.scheme == "http" && origin_.scheme == "https") {
    return Error(Code::kUnauthenticated,
                 "registry {} asks for credentials at a plain-http realm {}: refused", origin_.host,
                 realm_it->second);
  }
  // The query: service and every scope (ours first, then the challenge's own).
  std::string query;
  auto add = [&](const char* key, std::string_view value) {
    query += query.empty() ? "" : "&";
    query += key;
    query += '=';
    query += UrlEncode(value);
  };
  if (auto s = challenge.params.find("service"); s != challenge.params.end()) {
    add("service", s->second);
  }
  std::vector<std::string> scopes = SplitScopes(scope);
  if (auto s = challenge.params.find("scope"); s != challenge.params.end()) {
    for (std::string& extra : SplitScopes(s->second)) {
      if (std::find(scopes.begin(), scopes.end(), extra) == scopes.end()) scopes.push_back(extra);
    }
  }
  for (const std::string& s : scopes) add("scope", s);
  HttpRequest request;
  request.tls = tls_;
  request.max_body = 1 << 20;
  std::string form;
  if (credentials_ && !credentials_->identity_token.empty()) {
    // docker's "identitytoken": an OAuth2 refresh token, exchanged with a POST to the realm.
    add("grant_type", "refresh_token");
    add("client_id", "berth");
    add("refresh_token", credentials_->identity_token);
    form = std::move(query);
    request.method = "POST";
    request.url = realm_it->second;
    request.body = form;
    request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  } else {
    char sep = realm_it->second.find('?') == std::string::npos ? '?' : '&';
    request.url = realm_it->second + (query.empty() ? "" : sep + query);
    if (credentials_) request.headers.emplace_back("Authorization", BasicHeader());
  }
  BERTH_ASSIGN_OR_RETURN(HttpResponse response, session.Do(request));
  if (response.status == 401 || response.status == 403) {
    return Error(Code::kUnauthenticated, "token server {} refused the credentials{} (HTTP {}){}",
                 realm.host, Who(), response.status,
                 credentials_
                     ? ": wrong username or password?"
                     : ": pass --user USER:PASSWORD or add them to the docker config.json");
  }
  if (response.status != 200) {
    return Error(Code::kUnavailable, "token server {} answered HTTP {}", realm.host,
                 response.status);
  }
  auto doc = nlohmann::json::parse(response.body, nullptr, false);
  Token token;
  if (doc.is_object()) {
    for (const char* key : {"token", "access_token"}) {
      if (auto it = doc.find(key); it != doc.end() && it->is_string()) {
        token.value = it->get<std::string>();
        break;
      }
    }
  }
  if (token.value.empty()) {
    return Error(Code::kUnavailable, "token server {} answered without a token", realm.host);
  }
  int64_t seconds = 60;
  if (auto it = doc.find("expires_in"); it != doc.end() && it->is_number_integer()) {
    seconds = std::max<int64_t>(it->get<int64_t>(), 10);
  }
  token.expires = std::chrono::steady_clock::now() + std::chrono::seconds(seconds - 5);
  return token;
}

std::string Authorizer::BasicHeader() const {
  return "Basic " + Base64Encode(credentials_->username + ":" + credentials_->password);
}

std::string Authorizer::Who() const {
  return credentials_ ? " of user \"" + credentials_->username + "\"" : "";
}

Status Authorizer::HandleBearer(HttpSession& session, const Challenge& challenge,
                                std::string_view scope, std::string_view sent) {
  {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(std::string(scope));
    bool fresh = it != tokens_.end() && it->second.expires > std::chrono::steady_clock::now();
    if (fresh && sent == "Bearer " + it->second.value) {
      // The token the realm gave for this scope was refused: the credentials lack the rights.
      tokens_.erase(it);
      if (!credentials_) {
        return Error(Code::kUnauthenticated,
                     "registry {} requires credentials for {}: pass --user USER:PASSWORD or add "
                     "them to the docker config.json",
                     origin_.host, scope);
      }
      return Error(Code::kPermissionDenied, "registry {} denied {} to the credentials{}",
                   origin_.host, scope, Who());
    }
    if (fresh) {  // another request fetched it meanwhile
      scheme_ = "bearer";
      return Status::Ok();
    }
  }
  BERTH_ASSIGN_OR_RETURN(Token token, FetchToken(session, challenge, scope));
  std::lock_guard lock(mu_);
  scheme_ = "bearer";
  tokens_[std::string(scope)] = std::move(token);
  return Status::Ok();
}

Status Authorizer::HandleBasic(std::string_view sent) {
  std::lock_guard lock(mu_);
  if (!credentials_) {
    return Error(Code::kUnauthenticated,
                 "registry {} requires credentials: pass --user USER:PASSWORD or add them to "
                 "the docker config.json",
                 origin_.host);
  }
  if (sent == BasicHeader()) {
    return Error(Code::kUnauthenticated,
                 "registry {} rejected the credentials{}: wrong username or password?",
                 origin_.host, Who());
  }
  scheme_ = "basic";  // the request went without them (or before we knew): retry with them
  return Status::Ok();
}

Status Authorizer::HandleUnauthorized(HttpSession& session, const HttpResponse& response,
                                      std::string_view scope, std::string_view sent) {
  std::vector<Challenge> challenges = ParseChallenges(response.AllHeaders("www-authenticate"));
  if (const Challenge* bearer = Find(challenges, "bearer")) {
    return HandleBearer(session, *bearer, scope, sent);
  }
  if (Find(challenges, "basic") != nullptr) return HandleBasic(sent);
  return Error(Code::kUnauthenticated, "registry {} answered 401 without a usable challenge",
               origin_.host);
}

}  // namespace berth::client
