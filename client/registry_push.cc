// Registry push: blob uploads (monolithic, chunked, cross-repository mount) and manifests.
#include "client/registry.h"
#include "client/registry_internal.h"

namespace berth::client {
namespace {

// A BodySource over bytes [start, start + size) of a blob read with `read`.
struct RangeSource {
  RangeSource(const ReadAtFn& read, uint64_t start, uint64_t size)
      : read_(read), start_(start), size_(size) {
    source.size = static_cast<int64_t>(size);
    source.read = [this](char* buffer, size_t n) -> Result<size_t> {
      n = std::min<uint64_t>(n, size_ - done_);
      if (n == 0) return size_t{0};
      BERTH_ASSIGN_OR_RETURN(size_t got, read_(start_ + done_, buffer, n));
      if (got == 0) return Status(Code::kDataLoss, "blob shorter than its descriptor says");
      done_ += got;
      return got;
    };
    source.rewind = [this] {
      done_ = 0;
      return Status::Ok();
    };
  }
  const ReadAtFn& read_;
  uint64_t start_, size_, done_ = 0;
  BodySource source;
};

std::string WithQuery(const std::string& url, std::string_view query) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + std::string(query);
}

}  // namespace

Result<bool> Registry::BlobExists(const Descriptor& d) {
  for (auto& host : host_state_) {
    if (!(host->config->capabilities & kCapPush)) continue;
    HttpRequest req;
    req.method = "HEAD";
    req.url = BlobUrl(*host, d.digest);
    BERTH_ASSIGN_OR_RETURN(HttpResponse resp, Send(*host, req, PushScope(), nullptr));
    if (resp.status == 200) return true;
    if (resp.status == 404) return false;
    return RegistryError(resp, fmt::format("check blob {} on {}", d.digest, host->config->host));
  }
  return Error(Code::kFailedPrecondition, "no host of {} may be pushed to", ref_.domain);
}

Result<std::string> Registry::StartUpload(Host& host, const Descriptor& d,
                                          const PushBlobOptions& options, bool* mounted) {
  std::string uploads = host.config->ApiUrl() + "/" + ref_.path + "/blobs/uploads/";
  for (const std::string& from : options.mount_from) {
    if (from == ref_.path) continue;
    HttpRequest req;
    req.method = "POST";
    req.url = uploads + "?mount=" + UrlEncode(d.digest.ToString()) + "&from=" + UrlEncode(from);
    std::string scope = PushScope() + " repository:" + from + ":pull";
    auto resp = Send(host, req, scope, nullptr);
    if (!resp.ok()) continue;  // try a plain upload
    if (resp->status == 201) {
      *mounted = true;
      return std::string();
    }
    if (resp->status == 202 && resp->Header("location")) {
      return ResolveUrl(req.url, *resp->Header("location"));
    }
  }
  HttpRequest req;
  req.method = "POST";
  req.url = uploads;
  BERTH_ASSIGN_OR_RETURN(HttpResponse resp, Send(host, req, PushScope(), nullptr));
  if (resp.status != 202 || !resp.Header("location")) {
    return RegistryError(resp,
                         fmt::format("start upload of {} to {}", d.digest, host.config->host));
  }
  return ResolveUrl(req.url, *resp.Header("location"));
}

Status Registry::Upload(Host& host, std::string location, const Descriptor& d, const ReadAtFn& read,
                        uint64_t chunk_size) {
  const uint64_t size = static_cast<uint64_t>(d.size);
  uint64_t offset = 0;
  if (chunk_size > 0) {
    for (; offset < size; offset += std::min(chunk_size, size - offset)) {
      uint64_t n = std::min(chunk_size, size - offset);
      RangeSource body(read, offset, n);
      HttpRequest req;
      req.method = "PATCH";
      req.url = location;
      req.source = &body.source;
      req.headers = {{"Content-Type", "application/octet-stream"},
                     {"Content-Range", fmt::format("{}-{}", offset, offset + n - 1)}};
      BERTH_ASSIGN_OR_RETURN(HttpResponse resp, Send(host, req, PushScope(), nullptr));
      if (resp.status != 202 || !resp.Header("location")) {
        return RegistryError(resp, fmt::format("upload chunk of {} at {}", d.digest, offset));
      }
      BERTH_ASSIGN_OR_RETURN(location, ResolveUrl(location, *resp.Header("location")));
    }
  }
  RangeSource body(read, offset, size - offset);
  HttpRequest req;
  req.method = "PUT";
  req.url = WithQuery(location, "digest=" + UrlEncode(d.digest.ToString()));
  req.source = &body.source;
  req.headers = {{"Content-Type", "application/octet-stream"}};
  BERTH_ASSIGN_OR_RETURN(HttpResponse resp, Send(host, req, PushScope(), nullptr));
  if (resp.status != 201) {
    return RegistryError(resp, fmt::format("upload {} to {}", d.digest, host.config->host));
  }
  return Status::Ok();
}

Result<PushBlobResult> Registry::PushBlob(const Descriptor& d, const ReadAtFn& read,
                                          const PushBlobOptions& options) {
  PushBlobResult result;
  BERTH_ASSIGN_OR_RETURN(result.existed, BlobExists(d));
  if (result.existed) return result;
  for (auto& host : host_state_) {
    if (!(host->config->capabilities & kCapPush)) continue;
    BERTH_ASSIGN_OR_RETURN(std::string location, StartUpload(*host, d, options, &result.mounted));
    if (result.mounted) return result;
    BERTH_RETURN_IF_ERROR(Upload(*host, std::move(location), d, read, options.chunk_size));
    return result;
  }
  return Error(Code::kFailedPrecondition, "no host of {} may be pushed to", ref_.domain);
}

Status Registry::PushManifest(std::string_view object, const Descriptor& d,
                              std::string_view bytes) {
  BERTH_RETURN_IF_ERROR(VerifyBytes(d, bytes));
  for (auto& host : host_state_) {
    if (!(host->config->capabilities & kCapPush)) continue;
    HttpRequest req;
    req.method = "PUT";
    req.url = host->config->ApiUrl() + "/" + ref_.path + "/manifests/" + std::string(object);
    req.body = bytes;
    req.headers = {{"Content-Type", d.media_type}};
    BERTH_ASSIGN_OR_RETURN(HttpResponse resp, Send(*host, req, PushScope(), nullptr));
    if (resp.status != 201 && resp.status != 200) {
      return RegistryError(resp,
                           fmt::format("push manifest {} to {}", d.digest, host->config->host));
    }
    if (auto claimed = resp.Header("docker-content-digest")) {
      if (*claimed != d.digest.ToString()) {
        return Error(Code::kDataLoss, "registry stored manifest {} as {}", d.digest, *claimed);
      }
    }
    return Status::Ok();
  }
  return Error(Code::kFailedPrecondition, "no host of {} may be pushed to", ref_.domain);
}

}  // namespace berth::client
