#pragma once
// HTTP(S) transport over libcurl for the registry client.
//
// One HttpSession owns one curl easy handle: requests made through it reuse its connections
// (keep-alive, TLS sessions). Sessions created from the same HttpShare also share DNS answers,
// TLS sessions and the connection pool, so a handful of concurrent sessions (one per concurrent
// download) reuse each other's connections.
//
// Redirects are NOT followed here (CURLOPT_FOLLOWLOCATION is off): the registry layer follows
// them itself so it can decide which headers (Authorization) may go to the new origin.
//
// Errors of Do(): transport failures (DNS, connect, reset, timeout, TLS) are UNAVAILABLE with
// curl's explanation and the URL; a failed certificate check says how to trust the CA. Any HTTP
// status is a successful Do(): callers interpret the status.
//
// Thread-safety: an HttpSession is used by one thread at a time; HttpShare is thread-safe.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace berth::client {

struct TlsOptions {
  std::vector<std::string> ca_files{};  // PEM CA files trusted besides the system CAs
  std::string client_cert{};            // PEM client certificate (mutual TLS)
  std::string client_key{};             // its key; empty: in the cert file
  bool skip_verify = false;             // accept any server certificate (tests only)
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// Streams a request body. Read fills up to `size` bytes and returns how many (0 = end).
struct BodySource {
  std::function<Result<size_t>(char* buffer, size_t size)> read;
  std::function<Status()> rewind;  // back to the first byte (for a retried request)
  int64_t size = -1;               // Content-Length; -1 unknown (chunked)
};

struct HttpResponse;
// Receives a 2xx response body as it arrives, with the response's status and headers so far; a
// non-OK Status stops the transfer and is what Do() returns.
using BodySink = std::function<Status(const HttpResponse& head, std::string_view chunk)>;

struct HttpRequest {
  std::string method = "GET";
  std::string url{};
  Headers headers{};
  const TlsOptions* tls = nullptr;
  std::string_view body{};       // a body held in memory (PUT/POST/PATCH), or
  BodySource* source = nullptr;  // a streamed one
  uint64_t max_body = 8 << 20;   // larger 2xx bodies kept in memory fail (RESOURCE_EXHAUSTED)
};

struct HttpResponse {
  long status = 0;
  Headers headers{};   // names lower-cased, in arrival order (of the final response)
  std::string body{};  // the body, unless it went to a sink (non-2xx bodies: first 64 KiB)
  // First header with this (lower-case) name.
  std::optional<std::string> Header(std::string_view name) const;
  std::vector<std::string> AllHeaders(std::string_view name) const;
};

class HttpShare {
 public:
  HttpShare();
  ~HttpShare();
  HttpShare(const HttpShare&) = delete;
  HttpShare& operator=(const HttpShare&) = delete;
  void* handle() const { return share_; }

 private:
  struct Locks;
  std::unique_ptr<Locks> locks_;
  void* share_ = nullptr;
};

class HttpSession {
 public:
  // `share` may be null; it must outlive the session.
  explicit HttpSession(HttpShare* share = nullptr);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  // Performs one request (no redirects followed). With `sink`, a 2xx body goes to it instead of
  // HttpResponse::body.
  Result<HttpResponse> Do(const HttpRequest& request, const BodySink* sink = nullptr);

  // Set from any thread: transfers in progress stop with CANCELLED.
  void set_cancel_flag(const std::atomic<bool>* flag) { cancel_ = flag; }

 private:
  struct Transfer;
  Status Configure(const HttpRequest& request, Transfer& transfer, void* header_list);
  void* curl_ = nullptr;
  const std::atomic<bool>* cancel_ = nullptr;
};

// URL helpers.
struct Origin {
  std::string scheme, host;  // host includes the port when the URL has one
  int port = 0;              // explicit or the scheme's default
  bool operator==(const Origin&) const = default;
};
// Origin of an absolute http(s) URL; INVALID_ARGUMENT for anything else.
Result<Origin> OriginOf(std::string_view url);
// Resolves a Location header against the URL it came from (absolute, "/path", or relative).
Result<std::string> ResolveUrl(std::string_view base, std::string_view location);
// Percent-encodes a query value.
std::string UrlEncode(std::string_view value);

}  // namespace berth::client
