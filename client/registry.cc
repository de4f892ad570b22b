#include "client/registry.h"

#include <nlohmann/json.hpp>

#include "client/media_types.h"
#include "client/registry_internal.h"

namespace berth::client {

bool IsRedirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string MediaTypeOf(std::string_view content_type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return std::string(t);
}

Status RegistryError(const HttpResponse& response, std::string_view what) {
  std::string detail;
  auto doc = nlohmann::json::parse(response.body, nullptr, false);
  if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array()) {
    for (const auto& e : doc["errors"]) {
      if (!e.is_object()) continue;
      std::string code = e.value("code", std::string());
      std::string message = e.value("message", std::string());
      if (!detail.empty()) detail += "; ";
      detail += code.empty() ? message : code + ": " + message;
    }
  }
  if (detail.empty()) detail = fmt::format("HTTP {}", response.status);
  Code code = Code::kUnknown;
  switch (response.status) {
    case 400:
      code = Code::kInvalidArgument;
      break;
    case 401:
      code = Code::kUnauthenticated;
      break;
    case 403:
      code = Code::kPermissionDenied;
      break;
    case 404:
      code = Code::kNotFound;
      break;
    case 416:
      code = Code::kOutOfRange;
      break;
    case 429:
      code = Code::kResourceExhausted;
      break;
    default:
      if (response.status >= 500) code = Code::kUnavailable;
  }
  return Status(code, fmt::format("{}: {}", what, detail));
}

Registry::~Registry() = default;

Result<std::unique_ptr<Registry>> Registry::Create(const Reference& ref,
                                                   const RegistryOptions& options) {
  std::unique_ptr<Registry> r(new Registry());
  r->ref_ = ref;
  r->cancel_ = options.cancel;
  r->share_ = std::make_unique<HttpShare>();
  BERTH_ASSIGN_OR_RETURN(r->hosts_, ConfigureHosts(ref.domain, options.hosts));
  for (const RegistryHost& config : r->hosts_) {
    auto host = std::make_unique<Host>();
    host->config = &config;
    BERTH_ASSIGN_OR_RETURN(host->origin, OriginOf(config.BaseUrl()));
    std::optional<Credentials> creds;
    if (options.credentials != nullptr) creds = options.credentials->Lookup(config.host);
    if (!config.mirror && options.user) creds = options.user;
    host->auth = std::make_unique<Authorizer>(config.BaseUrl(), std::move(creds), &config.tls);
    host->foreign_tls = config.tls;
    host->foreign_tls.client_cert.clear();
    host->foreign_tls.client_key.clear();
    r->host_state_.push_back(std::move(host));
  }
  return r;
}

std::unique_ptr<Registry::Session> Registry::Acquire() {
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      auto s = std::move(pool_.back());
      pool_.pop_back();
      return s;
    }
  }
  auto s = std::make_unique<Session>(share_.get());
  s->http.set_cancel_flag(cancel_);
  return s;
}

void Registry::Release(std::unique_ptr<Session> session) {
  std::lock_guard lock(pool_mu_);
  pool_.push_back(std::move(session));
}

std::string Registry::PullScope() const { return "repository:" + ref_.path + ":pull"; }
std::string Registry::PushScope() const { return "repository:" + ref_.path + ":pull,push"; }

std::string Registry::BlobUrl(const Host& host, const Digest& digest) const {
  return host.config->ApiUrl() + "/" + ref_.path + "/blobs/" + digest.ToString();
}

// Sends `request` to `host`, following redirects hop by hop and answering 401 challenges.
// Authorization, the configured headers and the client certificate go only to the host's origin.
Result<HttpResponse> Registry::Send(Host& host, HttpRequest request, std::string_view scope,
                                    const BodySink* sink) {
  std::unique_ptr<Session> session = Acquire();
  struct Return {
    Registry* r;
    std::unique_ptr<Session>& s;
    ~Return() { r->Release(std::move(s)); }
  } give_back{this, session};
  const Headers base_headers = request.headers;
  const std::string first_url = request.url;
  for (int auth_round = 0;; ++auth_round) {
    request.url = first_url;
    HttpResponse response;
    bool same_origin = true;
    std::string sent_auth;  // the Authorization of the last hop
    for (int hop = 0;; ++hop) {
      auto origin = OriginOf(request.url);
      if (!origin.ok()) return origin.status();
      same_origin = *origin == host.origin;
      request.headers = base_headers;
      request.tls = same_origin ? &host.config->tls : &host.foreign_tls;
      sent_auth.clear();
      if (same_origin) {
        for (auto& h : host.config->headers) request.headers.push_back(h);
        if (auto auth = host.auth->HeaderFor(request.url, scope)) {
          sent_auth = *auth;
          request.headers.emplace_back("Authorization", *auth);
        }
      }
      BERTH_ASSIGN_OR_RETURN(response, session->http.Do(request, sink));
      auto location = response.Header("location");
      bool follow = IsRedirect(response.status) && location &&
                    (request.method == "GET" || request.method == "HEAD");
      if (!follow) break;
      if (hop >= 10) return Error(Code::kUnavailable, "too many redirects from {}", first_url);
      BERTH_ASSIGN_OR_RETURN(request.url, ResolveUrl(request.url, *location));
    }
    if (response.status != 401 || !same_origin || auth_round >= 2) return response;
    BERTH_RETURN_IF_ERROR(host.auth->HandleUnauthorized(session->http, response, scope, sent_auth));
    if (request.source != nullptr && request.source->rewind) {
      BERTH_RETURN_IF_ERROR(request.source->rewind());
    }
  }
}

Result<ResolvedManifest> Registry::Resolve(const Reference& ref) {
  Status last = Error(Code::kNotFound, "no registry host may resolve {}", ref.String());
  for (auto& host : host_state_) {
    if (!(host->config->capabilities & kCapResolve)) continue;
    HttpRequest req;
    req.url = host->config->ApiUrl() + "/" + ref.path + "/manifests/" + ref.Object();
    req.headers.emplace_back("Accept", std::string(media::kManifestAccept));
    req.max_body = kMaxDocumentSize;
    auto resp = Send(*host, req, PullScope(), nullptr);
    if (!resp.ok()) {
      last = resp.status();
      if (last.code() == Code::kUnavailable) continue;
      return last;
    }
    if (resp->status != 200) {
      last =
          RegistryError(*resp, fmt::format("resolve {} on {}", ref.String(), host->config->host));
      if (last.code() == Code::kNotFound || last.code() == Code::kUnavailable) continue;
      return last;
    }
    ResolvedManifest out;
    out.bytes = std::move(resp->body);
    std::string algorithm = ref.digest.empty() ? std::string(kSha256) : ref.digest.algorithm;
    BERTH_ASSIGN_OR_RETURN(out.descriptor.digest, DigestBytes(out.bytes, algorithm));
    out.descriptor.size = static_cast<int64_t>(out.bytes.size());
    if (!ref.digest.empty() && out.descriptor.digest != ref.digest) {
      return Error(Code::kDataLoss, "registry {} sent manifest {} for {}", host->config->host,
                   out.descriptor.digest, ref.String());
    }
    if (auto header = resp->Header("docker-content-digest"); header && ref.digest.empty()) {
      auto claimed = ParseDigest(*header);
      if (claimed.ok() && claimed->algorithm == algorithm && *claimed != out.descriptor.digest) {
        return Error(Code::kDataLoss, "registry {} sent manifest {} but claims {}",
                     host->config->host, out.descriptor.digest, *claimed);
      }
    }
    std::string type = MediaTypeOf(resp->Header("content-type").value_or(""));
    BERTH_ASSIGN_OR_RETURN(Document doc, ParseDocument(type, out.bytes));
    out.descriptor.media_type = doc.media_type;
    return out;
  }
  return last;
}

Result<std::string> Registry::FetchDocumentFrom(Host& host, const Descriptor& d) {
  if (d.size > static_cast<int64_t>(kMaxDocumentSize)) {
    return Error(Code::kResourceExhausted, "document {} is {} bytes, more than Berth reads ({})",
                 d.digest, d.size, kMaxDocumentSize);
  }
  bool manifest = media::IsManifest(d.media_type) || media::IsIndex(d.media_type);
  HttpRequest req;
  req.url = manifest ? host.config->ApiUrl() + "/" + ref_.path + "/manifests/" + d.digest.ToString()
                     : BlobUrl(host, d.digest);
  if (manifest) req.headers.emplace_back("Accept", std::string(media::kManifestAccept));
  req.max_body = static_cast<uint64_t>(d.size) + 1;  // one more: a longer body is DATA_LOSS
  auto sent = Send(host, req, PullScope(), nullptr);
  if (!sent.ok() && sent.status().code() == Code::kResourceExhausted) {
    return Error(Code::kDataLoss, "registry {} sent more than the {} bytes of {}",
                 host.config->host, d.size, d.digest);
  }
  BERTH_ASSIGN_OR_RETURN(HttpResponse resp, std::move(sent));
  if (resp.status != 200) {
    return RegistryError(resp, fmt::format("fetch {} from {}", d.digest, host.config->host));
  }
  BERTH_RETURN_IF_ERROR(VerifyBytes(d, resp.body));
  return std::move(resp.body);
}

Result<std::string> Registry::FetchDocument(const Descriptor& d) {
  Status last = Error(Code::kNotFound, "no registry host may serve {}", d.digest);
  for (auto& host : host_state_) {
    if (!(host->config->capabilities & kCapPull)) continue;
    auto bytes = FetchDocumentFrom(*host, d);
    if (bytes.ok()) return bytes;
    last = bytes.status();
    if (last.code() != Code::kNotFound && last.code() != Code::kUnavailable) return last;
  }
  return last;
}

}  // namespace berth::client
