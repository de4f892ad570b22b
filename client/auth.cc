#include "client/auth.h"

#include <openssl/evp.h>

#include <cctype>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/strings.h"

namespace berth::client {
namespace {

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~/:").find(c) != std::string_view::npos;
}

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  void SkipSpace() {
    while (!done() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  void SkipSeparators() {
    while (!done() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == ',')) ++i_;
  }
  std::string Token() {
    size_t start = i_;
    while (!done() && IsTokenChar(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }
  std::string Quoted() {  // at '"'
    std::string out;
    ++i_;
    while (!done() && s_[i_] != '"') {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
      out += s_[i_++];
    }
    if (!done()) ++i_;
    return out;
  }
  size_t pos() const { return i_; }
  void set_pos(size_t p) { i_ = p; }
  void Advance() { ++i_; }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

void ParseOne(std::string_view header, std::vector<Challenge>& out) {
  Cursor c(header);
  while (true) {
    c.SkipSeparators();
    std::string scheme = c.Token();
    if (scheme.empty()) return;
    Challenge ch{AsciiLower(scheme), {}};
    while (true) {
      c.SkipSeparators();
      size_t start = c.pos();
      std::string key = c.Token();
      c.SkipSpace();
      if (key.empty() || c.peek() != '=') {  // the next challenge's scheme (or the end)
        c.set_pos(start);
        break;
      }
      c.Advance();
      c.SkipSpace();
      ch.params[AsciiLower(key)] = c.peek() == '"' ? c.Quoted() : c.Token();
    }
    out.push_back(std::move(ch));
    if (c.done()) return;
  }
}

Result<std::string> Base64Decode(std::string_view in) {
  if (in.size() % 4 != 0) return Status(Code::kInvalidArgument, "bad base64 length");
  std::string out(3 * in.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return Status(Code::kInvalidArgument, "bad base64");
  size_t pad = in.ends_with("==") ? 2 : in.ends_with("=") ? 1 : 0;
  out.resize(n - pad);
  return out;
}

// "https://index.docker.io/v1/" -> "index.docker.io"; "host:5000" stays.
std::string HostOfKey(std::string_view key) {
  if (size_t p = key.find("://"); p != std::string_view::npos) key.remove_prefix(p + 3);
  key = key.substr(0, key.find('/'));
  std::string host = AsciiLower(key);
  if (host == "index.docker.io" || host == "registry-1.docker.io") host = "docker.io";
  return host;
}

}  // namespace

std::string Base64Encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(n);
  return out;
}

std::vector<Challenge> ParseChallenges(const std::vector<std::string>& values) {
  std::vector<Challenge> out;
  for (const std::string& v : values) ParseOne(v, out);
  return out;
}

std::string CredentialStore::DefaultPath() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir != nullptr && *dir != '\0') {
    return std::string(dir) + "/config.json";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/root") + "/.docker/config.json";
}

Result<CredentialStore> CredentialStore::Load(const std::string& path) {
  CredentialStore store;
  auto text = ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return store;
    return text.status();
  }
  auto fail = [&](std::string_view why) {
    return Error(Code::kInvalidArgument, "credentials file {}: {}", path, why);
  };
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return fail("not a JSON object");
  auto auths = doc.find("auths");
  if (auths == doc.end()) return store;
  if (!auths->is_object()) return fail("\"auths\" must be an object");
  for (auto& [key, entry] : auths->items()) {
    if (!entry.is_object()) return fail("each auths entry must be an object");
    Credentials c;
    auto str = [&](const char* k) {
      auto it = entry.find(k);
      return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (std::string auth = str("auth"); !auth.empty()) {
      auto decoded = Base64Decode(auth);
      size_t colon = decoded.ok() ? decoded->find(':') : std::string::npos;
      if (colon == std::string::npos) return fail("entry \"" + key + "\" has a bad \"auth\"");
      c.username = decoded->substr(0, colon);
      c.password = decoded->substr(colon + 1);
    } else {
      c.username = str("username");
      c.password = str("password");
    }
    c.identity_token = str("identitytoken");
    if (!c.empty()) store.Set(HostOfKey(key), std::move(c));
  }
  return store;
}

void CredentialStore::Set(const std::string& host, Credentials credentials) {
  by_host_[HostOfKey(host)] = std::move(credentials);
}

std::optional<Credentials> CredentialStore::Lookup(std::string_view host) const {
  auto it = by_host_.find(HostOfKey(host));
  if (it == by_host_.end()) return std::nullopt;
  return it->second;
}

Result<Credentials> ParseUserFlag(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status(Code::kInvalidArgument, "--user must be USER:PASSWORD");
  }
  return Credentials{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1)), ""};
}

Authorizer::Authorizer(std::string registry_url, std::optional<Credentials> credentials,
                       const TlsOptions* tls)
    : registry_url_(std::move(registry_url)), credentials_(std::move(credentials)), tls_(tls) {
  auto origin = OriginOf(registry_url_);
  if (origin.ok()) origin_ = *origin;
}

std::optional<std::string> Authorizer::HeaderFor(std::string_view url, std::string_view scope) {
  auto origin = OriginOf(url);
  if (!origin.ok() || *origin != origin_ || origin_.host.empty()) return std::nullopt;
  std::lock_guard lock(mu_);
  if (scheme_ == "basic" && credentials_) return BasicHeader();
  if (scheme_ == "bearer") {
    auto it = tokens_.find(std::string(scope));
    if (it != tokens_.end() && it->second.expires > std::chrono::steady_clock::now()) {
      return "Bearer " + it->second.value;
    }
  }
  return std::nullopt;
}

}  // namespace berth::client
