#pragma once
// The OCI distribution API (v2) for one repository: resolve a tag or digest to a manifest,
// fetch documents and blobs (streamed, resumable with Range), push blobs (monolithic or
// chunked uploads, cross-repository mounts) and manifests.
//
// Hosts come from hosts.h (mirrors first, then the upstream); each operation tries the hosts
// that have the capability it needs, in order, and moves to the next on NOT_FOUND or a
// transport error. Credentials: each host has its own Authorizer with the credentials of that
// host only (the CredentialStore entry for its host; --user only for the upstream), and
// Authorization is sent only to that host's origin: redirects are followed here, hop by hop,
// and a hop to another origin (other host, port or scheme, e.g. an https -> http downgrade) goes
// without Authorization, without the hosts.toml headers and without the client certificate.
// Descriptor `urls` (foreign layers) are fetched only when the registry lacks the blob, and
// always anonymously.
//
// Every document is verified against its digest before it is returned; blobs streamed to a
// FetchTarget are counted (exactly the descriptor's size) and the target verifies the digest
// (the content store does, at commit), unless `verify` asks FetchBlob to hash them too.
//
// Errors: NOT_FOUND (no such manifest/blob on any host), UNAUTHENTICATED / PERMISSION_DENIED
// (credentials missing, wrong, or lacking rights: the message says which), DATA_LOSS (bytes that
// do not match their digest or size), UNAVAILABLE (transport errors, 5xx), INVALID_ARGUMENT
// (malformed documents), CANCELLED (the cancel flag was set).
//
// Thread-safety: a Registry is safe to use from many threads; each call takes a pooled HTTP
// session (connections are shared through an HttpShare).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/auth.h"
#include "client/hosts.h"
#include "client/http.h"
#include "client/oci.h"
#include "client/reference.h"
#include "common/status.h"

namespace berth::client {

struct RegistryOptions {
  HostsOptions hosts{};
  const CredentialStore* credentials = nullptr;  // may be null
  std::optional<Credentials> user{};             // --user, for the upstream host only
  const std::atomic<bool>* cancel = nullptr;     // set to stop transfers (CANCELLED)
};

// Where a streamed blob goes.
class FetchTarget {
 public:
  virtual ~FetchTarget() = default;
  // The next bytes of the blob.
  virtual Status Write(std::string_view chunk) = 0;
  // The server ignored the Range request and sends the blob from its first byte: drop what was
  // written before (FetchBlob then writes from offset 0).
  virtual Status Restart() = 0;
};

// Reads a blob to push: up to `size` bytes at `offset`, fewer only at the end.
using ReadAtFn = std::function<Result<size_t>(uint64_t offset, void* buffer, size_t size)>;

struct ResolvedManifest {
  Descriptor descriptor{};  // media type, digest (verified), size
  std::string bytes{};      // the document
};

struct PushBlobOptions {
  std::vector<std::string> mount_from{};  // repositories of the same registry holding the blob
  uint64_t chunk_size = 0;                // 0: monolithic PUT; else PATCH chunks of this size
};

struct PushBlobResult {
  bool existed = false;  // the registry already had it
  bool mounted = false;  // cross-repository mount
};

class Registry {
 public:
  static Result<std::unique_ptr<Registry>> Create(const Reference& ref,
                                                  const RegistryOptions& options);
  ~Registry();

  const Reference& reference() const { return ref_; }
  const std::vector<RegistryHost>& hosts() const { return hosts_; }

  // GET manifests/<tag or digest> with the Accept list of every supported type. The digest is
  // computed from the bytes and checked against the reference's digest (when given) and the
  // Docker-Content-Digest header (when sent).
  Result<ResolvedManifest> Resolve(const Reference& ref);

  // A manifest, index or config by descriptor, verified; at most kMaxDocumentSize bytes.
  Result<std::string> FetchDocument(const Descriptor& descriptor);

  // Streams blob bytes [offset, size) to `target`. `verify` (only with offset 0) hashes the
  // stream and fails with DATA_LOSS before returning on a mismatch.
  Status FetchBlob(const Descriptor& descriptor, uint64_t offset, FetchTarget& target,
                   bool verify = false);

  // Whether the repository has the blob (HEAD).
  Result<bool> BlobExists(const Descriptor& descriptor);
  Result<PushBlobResult> PushBlob(const Descriptor& descriptor, const ReadAtFn& read,
                                  const PushBlobOptions& options = {});
  // PUT manifests/<object> (a tag or the digest).
  Status PushManifest(std::string_view object, const Descriptor& descriptor,
                      std::string_view bytes);

  struct Session;

 private:
  Registry() = default;
  struct Host;
  std::unique_ptr<Session> Acquire();
  void Release(std::unique_ptr<Session> session);
  Result<HttpResponse> Send(Host& host, HttpRequest request, std::string_view scope,
                            const BodySink* sink);
  Result<std::string> FetchDocumentFrom(Host& host, const Descriptor& descriptor);
  Status FetchBlobFrom(Host& host, const std::string& url, const Descriptor& descriptor,
                       uint64_t offset, FetchTarget& target, bool verify, bool anonymous);
  Result<std::string> StartUpload(Host& host, const Descriptor& descriptor,
                                  const PushBlobOptions& options, bool* mounted);
  Status Upload(Host& host, std::string location, const Descriptor& descriptor,
                const ReadAtFn& read, uint64_t chunk_size);
  std::string BlobUrl(const Host& host, const Digest& digest) const;
  std::string PullScope() const;
  std::string PushScope() const;

  Reference ref_;
  std::vector<RegistryHost> hosts_;
  std::vector<std::unique_ptr<Host>> host_state_;
  std::unique_ptr<HttpShare> share_;
  const std::atomic<bool>* cancel_ = nullptr;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Session>> pool_;
};

// A Status for a registry's non-success answer, from its status code and error body
// ({"errors":[{"code","message"}]}): 404 NOT_FOUND, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED,
// 429 RESOURCE_EXHAUSTED, 5xx UNAVAILABLE, else UNKNOWN. `what` names the request.
Status RegistryError(const HttpResponse& response, std::string_view what);

}  // namespace berth::client
