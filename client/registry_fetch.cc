// Registry::FetchBlob: streamed, resumable blob downloads.
#include <cstdlib>

#include "client/registry.h"
#include "client/registry_internal.h"

namespace berth::client {
namespace {

// "bytes 100-199/200" -> 100; -1 when malformed.
int64_t RangeStart(std::string_view content_range) {
  if (!content_range.starts_with("bytes ")) return -1;
  content_range.remove_prefix(6);
  size_t dash = content_range.find('-');
  if (dash == 0 || dash == std::string_view::npos) return -1;
  int64_t v = 0;
  for (char c : content_range.substr(0, dash)) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Notes whether any byte reached the target (then another host cannot take over the transfer).
class CountingTarget : public FetchTarget {
 public:
  explicit CountingTarget(FetchTarget& inner) : inner_(inner) {}
  Status Write(std::string_view chunk) override {
    touched_ = true;
    return inner_.Write(chunk);
  }
  Status Restart() override {
    touched_ = true;
    return inner_.Restart();
  }
  bool touched() const { return touched_; }

 private:
  FetchTarget& inner_;
  bool touched_ = false;
};

}  // namespace

Status Registry::FetchBlobFrom(Host& host, const std::string& url, const Descriptor& d,
                               uint64_t offset, FetchTarget& target, bool verify, bool anonymous) {
  const uint64_t size = static_cast<uint64_t>(d.size);
  HttpRequest req;
  req.url = url;
  if (offset > 0) req.headers.emplace_back("Range", fmt::format("bytes={}-", offset));
  uint64_t position = offset;
  bool first = true;
  bool check = verify && offset == 0;
  auto hasher = Hasher::Create(d.digest.algorithm);
  if (!hasher.ok()) return hasher.status();
  BodySink sink = [&](const HttpResponse& head, std::string_view chunk) -> Status {
    if (first) {
      first = false;
      if (head.status == 206) {
        if (RangeStart(head.Header("content-range").value_or("")) != static_cast<int64_t>(offset)) {
          return Error(Code::kDataLoss, "{}: registry answered another range than bytes={}-",
                       d.digest, offset);
        }
      } else if (offset > 0) {
        BERTH_RETURN_IF_ERROR(target.Restart());  // Range ignored: the whole blob comes
        position = 0;
      }
    }
    if (position + chunk.size() > size) {
      return Error(Code::kDataLoss, "{}: registry sent more than its {} bytes", d.digest, size);
    }
    if (check) hasher->Update(chunk);
    position += chunk.size();
    return target.Write(chunk);
  };
  Result<HttpResponse> resp = Status();
  if (anonymous) {
    Host nobody;
    RegistryHost plain;
    nobody.config = &plain;
    nobody.auth = std::make_unique<Authorizer>("", std::nullopt, nullptr);
    resp = Send(nobody, std::move(req), "", &sink);
  } else {
    resp = Send(host, std::move(req), PullScope(), &sink);
  }
  if (!resp.ok()) return resp.status();
  if (resp->status != 200 && resp->status != 206) {
    return RegistryError(*resp, fmt::format("fetch {} from {}", d.digest, host.config->host));
  }
  if (position != size) {
    return Error(Code::kUnavailable, "{}: transfer ended after {} of {} bytes", d.digest, position,
                 size);
  }
  if (check) {
    Digest actual = hasher->Finish();
    if (actual != d.digest) {
      return Error(Code::kDataLoss, "digest mismatch: expected {}, got {}", d.digest, actual);
    }
  }
  return Status::Ok();
}

Status Registry::FetchBlob(const Descriptor& d, uint64_t offset, FetchTarget& outer, bool verify) {
  CountingTarget target(outer);
  if (d.size < 0 || offset > static_cast<uint64_t>(d.size)) {
    return Error(Code::kInvalidArgument, "{}: offset {} past the size {}", d.digest, offset,
                 d.size);
  }
  if (offset == static_cast<uint64_t>(d.size) && !verify) return Status::Ok();
  Status last = Error(Code::kNotFound, "no registry host may serve {}", d.digest);
  for (auto& host : host_state_) {
    if (!(host->config->capabilities & kCapPull)) continue;
    last = FetchBlobFrom(*host, BlobUrl(*host, d.digest), d, offset, target, verify, false);
    if (last.ok() || target.touched() ||
        (last.code() != Code::kNotFound && last.code() != Code::kUnavailable)) {
      return last;
    }
  }
  if (last.code() != Code::kNotFound || host_state_.empty()) return last;
  // Foreign layers: the descriptor's own URLs, never with this registry's credentials.
  for (const std::string& url : d.urls) {
    if (!OriginOf(url).ok()) continue;
    Status s = FetchBlobFrom(*host_state_.back(), url, d, offset, target, verify, true);
    if (s.ok() || target.touched()) return s;
    last = s;
  }
  return last;
}

}  // namespace berth::client
