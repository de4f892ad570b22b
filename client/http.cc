#include "client/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

#include "common/fs.h"
#include "common/strings.h"

namespace berth::client {
namespace {

constexpr size_t kErrorBodyLimit = 64 << 10;
constexpr long kBufferSize = 512 << 10;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

using Url = CPtr<CURLU, curl_url_cleanup>;
using CurlString = CPtr<char, curl_free>;

Result<std::string> UrlPart(CURLU* url, CURLUPart part, unsigned flags = 0) {
  char* out = nullptr;
  if (curl_url_get(url, part, &out, flags) != CURLUE_OK) {
    return Status(Code::kInvalidArgument, "URL part missing");
  }
  CurlString owner(out);
  return std::string(out);
}

}  // namespace

struct HttpShare::Locks {
  std::mutex mutexes[CURL_LOCK_DATA_LAST];
};

HttpShare::HttpShare() : locks_(std::make_unique<Locks>()) {
  GlobalInit();
  CURLSH* share = curl_share_init();
  curl_share_setopt(
      share, CURLSHOPT_LOCKFUNC, +[](CURL*, curl_lock_data data, curl_lock_access, void* user) {
        static_cast<Locks*>(user)->mutexes[data].lock();
      });
  curl_share_setopt(
      share, CURLSHOPT_UNLOCKFUNC, +[](CURL*, curl_lock_data data, void* user) {
        static_cast<Locks*>(user)->mutexes[data].unlock();
      });
  curl_share_setopt(share, CURLSHOPT_USERDATA, locks_.get());
  curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  share_ = share;
}

HttpShare::~HttpShare() { curl_share_cleanup(static_cast<CURLSH*>(share_)); }

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::vector<std::string> HttpResponse::AllHeaders(std::string_view name) const {
  std::vector<std::string> out;
  for (auto& [k, v] : headers) {
    if (k == name) out.push_back(v);
  }
  return out;
}

struct HttpSession::Transfer {
  CURL* curl = nullptr;
  const HttpRequest* request = nullptr;
  const BodySink* sink = nullptr;
  HttpResponse response;
  Status failure;  // set by a callback that stopped the transfer
  size_t body_offset = 0;
  const std::atomic<bool>* cancel = nullptr;
  std::string ca_blob;
  char error[CURL_ERROR_SIZE] = {};

  bool Success() const {
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    return code >= 200 && code < 300;
  }

  static size_t OnHeader(char* data, size_t, size_t size, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string_view line(data, size);
    if (line.starts_with("HTTP/")) {
      t->response.headers.clear();  // a new response (after 100 Continue)
      return size;
    }
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      t->response.headers.emplace_back(AsciiLower(TrimSpace(line.substr(0, colon))),
                                       std::string(TrimSpace(line.substr(colon + 1))));
    }
    return size;
  }

  static size_t OnWrite(char* data, size_t, size_t size, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string_view chunk(data, size);
    if (!t->Success()) {
      size_t room = kErrorBodyLimit - std::min(kErrorBodyLimit, t->response.body.size());
      t->response.body.append(chunk.substr(0, room));
      return size;
    }
    if (t->sink != nullptr) {
      curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->response.status);
      t->failure = (*t->sink)(t->response, chunk);
      return t->failure.ok() ? size : CURL_WRITEFUNC_ERROR;
    }
    if (t->response.body.size() + size > t->request->max_body) {
      t->failure = Error(Code::kResourceExhausted, "response from {} larger than {} bytes",
                         t->request->url, t->request->max_body);
      return CURL_WRITEFUNC_ERROR;
    }
    t->response.body.append(chunk);
    return size;
  }

  static size_t OnRead(char* buffer, size_t, size_t size, void* user) {
    auto* t = static_cast<Transfer*>(user);
    if (t->request->source != nullptr) {
      auto n = t->request->source->read(buffer, size);
      if (!n.ok()) {
        t->failure = n.status();
        return CURL_READFUNC_ABORT;
      }
      return *n;
    }
    std::string_view body = t->request->body;
    size_t n = std::min(size, body.size() - t->body_offset);
    std::memcpy(buffer, body.data() + t->body_offset, n);
    t->body_offset += n;
    return n;
  }

  static int OnSeek(void* user, curl_off_t offset, int origin) {
    auto* t = static_cast<Transfer*>(user);
    if (offset != 0 || origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
    if (t->request->source != nullptr) {
      if (!t->request->source->rewind) return CURL_SEEKFUNC_CANTSEEK;
      t->failure = t->request->source->rewind();
      return t->failure.ok() ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL;
    }
    t->body_offset = 0;
    return CURL_SEEKFUNC_OK;
  }

  static int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* t = static_cast<Transfer*>(user);
    if (t->cancel != nullptr && t->cancel->load(std::memory_order_relaxed)) {
      t->failure = Status(Code::kCancelled, "cancelled");
      return 1;
    }
    return 0;
  }
};

HttpSession::HttpSession(HttpShare* share) {
  GlobalInit();
  curl_ = curl_easy_init();
  if (share != nullptr) curl_easy_setopt(curl_, CURLOPT_SHARE, share->handle());
}

HttpSession::~HttpSession() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

Status HttpSession::Configure(const HttpRequest& request, Transfer& t, void* header_list) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, kBufferSize);
  curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, kBufferSize);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "berth/0.1");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t.error);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Transfer::OnWrite);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &Transfer::OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, header_list);
  if (request.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    bool has_body = request.source != nullptr || !request.body.empty() || request.method == "PUT" ||
                    request.method == "POST" || request.method == "PATCH";
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (has_body) {
      int64_t size =
          request.source ? request.source->size : static_cast<int64_t>(request.body.size());
      curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
      curl_easy_setopt(c, CURLOPT_READFUNCTION, &Transfer::OnRead);
      curl_easy_setopt(c, CURLOPT_READDATA, &t);
      curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, &Transfer::OnSeek);
      curl_easy_setopt(c, CURLOPT_SEEKDATA, &t);
    }
  }
  if (request.tls != nullptr) {
    const TlsOptions& tls = *request.tls;
    for (const std::string& file : tls.ca_files) {
      BERTH_ASSIGN_OR_RETURN(std::string pem, ReadFile(file));
      t.ca_blob += pem + "\n";
    }
    if (!t.ca_blob.empty()) {
      curl_blob blob{t.ca_blob.data(), t.ca_blob.size(), CURL_BLOB_NOCOPY};
      curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);  // copies nothing: ca_blob outlives
      curl_easy_setopt(c, CURLOPT_CAPATH, "/etc/ssl/certs");
    }
    if (!tls.client_cert.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, tls.client_cert.c_str());
    if (!tls.client_key.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, tls.client_key.c_str());
    if (tls.skip_verify) {
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  }
  return Status::Ok();
}

Result<HttpResponse> HttpSession::Do(const HttpRequest& request, const BodySink* sink) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);  // keeps connections, DNS and TLS caches
  Transfer t;
  t.curl = c;
  t.request = &request;
  t.sink = sink;
  t.cancel = cancel_;
  curl_slist* list = nullptr;
  for (auto& [name, value] : request.headers) {
    list = curl_slist_append(list, (name + ": " + value).c_str());
  }
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip for uploads
  CPtr<curl_slist, curl_slist_free_all> list_owner(list);
  BERTH_RETURN_IF_ERROR(Configure(request, t, list));
  CURLcode rc = curl_easy_perform(c);
  if (!t.failure.ok()) return t.failure;
  if (rc != CURLE_OK) {
    std::string detail = t.error[0] != '\0' ? t.error : curl_easy_strerror(rc);
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE) {
      return Error(Code::kUnavailable,
                   "{} {}: TLS certificate not trusted ({}): give the registry's CA in its "
                   "hosts.toml (ca = ...) or, for tests only, skip verification",
                   request.method, request.url, detail);
    }
    return Error(Code::kUnavailable, "{} {}: {}", request.method, request.url, detail);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.response.status);
  return std::move(t.response);
}

Result<Origin> OriginOf(std::string_view text) {
  Url url(curl_url());
  std::string s(text);
  if (curl_url_set(url.get(), CURLUPART_URL, s.c_str(), 0) != CURLUE_OK) {
    return Error(Code::kInvalidArgument, "invalid URL \"{}\"", s.substr(0, 200));
  }
  Origin o;
  BERTH_ASSIGN_OR_RETURN(o.scheme, UrlPart(url.get(), CURLUPART_SCHEME));
  o.scheme = AsciiLower(o.scheme);
  if (o.scheme != "http" && o.scheme != "https") {
    return Error(Code::kInvalidArgument, "URL \"{}\" is not http(s)", s.substr(0, 200));
  }
  BERTH_ASSIGN_OR_RETURN(o.host, UrlPart(url.get(), CURLUPART_HOST));
  o.host = AsciiLower(o.host);
  BERTH_ASSIGN_OR_RETURN(std::string port, UrlPart(url.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT));
  o.port = std::atoi(port.c_str());
  auto explicit_port = UrlPart(url.get(), CURLUPART_PORT);
  if (explicit_port.ok()) o.host += ":" + *explicit_port;
  return o;
}

Result<std::string> ResolveUrl(std::string_view base, std::string_view location) {
  Url url(curl_url());
  std::string b(base), l(location);
  if (curl_url_set(url.get(), CURLUPART_URL, b.c_str(), 0) != CURLUE_OK ||
      curl_url_set(url.get(), CURLUPART_URL, l.c_str(), 0) != CURLUE_OK) {
    return Error(Code::kInvalidArgument, "cannot resolve location \"{}\" against \"{}\"",
                 l.substr(0, 200), b.substr(0, 200));
  }
  BERTH_ASSIGN_OR_RETURN(std::string out, UrlPart(url.get(), CURLUPART_URL));
  BERTH_RETURN_IF_ERROR(OriginOf(out).status());
  return out;
}

std::string UrlEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace berth::client
