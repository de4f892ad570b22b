// The registry client against a registry that misbehaves on purpose (misbehaving_registry.py):
// credentials must not leak to other hosts, bad bytes and bad documents must be refused.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "client/media_types.h"
#include "client/registry.h"
#include "client/testing/test_registry.h"
#include "common/fs.h"
#include "common/temp_dir.h"

namespace berth::client {
namespace {

using testing::MisbehavingRegistry;
using testing::StringTarget;

std::string MakeBlob() {
  std::string blob;
  for (int i = 0; blob.size() < 200000; ++i) blob += fmt::format("berth-blob-{} ", i);
  return blob;
}

class MisbehaveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    blob_ = MakeBlob();
    auto server = MisbehavingRegistry::Start(blob_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    desc_.media_type = std::string(media::kOciLayer);
    desc_.digest = DigestBytes(blob_).value();
    desc_.size = static_cast<int64_t>(blob_.size());
  }

  std::unique_ptr<Registry> Open(const std::string& repo, bool with_credentials = true) {
    auto ref = ParseReference(fmt::format("127.0.0.1:{}/t/{}:x", server_->port(), repo));
    EXPECT_TRUE(ref.ok()) << ref.status().ToString();
    RegistryOptions options;
    options.hosts.plain_http = true;
    if (with_credentials) options.user = Credentials{"u", "p", ""};
    return Registry::Create(*ref, options).value();
  }

  // The logged requests to `port`.
  std::vector<nlohmann::json> Requests(int port) {
    auto log = server_->Log();
    EXPECT_TRUE(log.ok());
    std::vector<nlohmann::json> out;
    for (auto& entry : nlohmann::json::parse(*log)) {
      if (entry["port"] == port) out.push_back(entry);
    }
    return out;
  }

  std::string blob_;
  Descriptor desc_;
  std::unique_ptr<MisbehavingRegistry> server_;
};

TEST_F(MisbehaveTest, BearerTokenFlowWithScope) {
  auto r = Open("data");
  StringTarget t;
  Status s = r->FetchBlob(desc_, 0, t, true);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(t.data, blob_);
  bool asked_token = false;
  for (auto& req : Requests(server_->port())) {
    std::string path = req["path"];
    if (path.starts_with("/token")) {
      asked_token = true;
      EXPECT_NE(path.find("scope=repository%3At%2Fdata%3Apull"), std::string::npos) << path;
      EXPECT_NE(path.find("service=bad"), std::string::npos) << path;
      EXPECT_EQ(req["authorization"], "Basic dTpw");
    }
  }
  EXPECT_TRUE(asked_token);
  // Without credentials the token server refuses: a clear error.
  auto anonymous = Open("data", false);
  Status refused = anonymous->FetchBlob(desc_, 0, t);
  EXPECT_EQ(refused.code(), Code::kUnauthenticated) << refused.ToString();
}

// Docker Hub's public repositories: a bearer challenge, and a token granted without
// credentials. The client asks the realm anonymously and uses the token it gets.
TEST_F(MisbehaveTest, AnonymousBearerTokenForAPublicRepository) {
  auto r = Open("public", false);
  auto ref = ParseReference(fmt::format("127.0.0.1:{}/t/public:x", server_->port())).value();
  auto resolved = r->Resolve(ref);
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  StringTarget t;
  Status s = r->FetchBlob(desc_, 0, t, true);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(t.data, blob_);
  int token_requests = 0, authorized = 0;
  for (auto& req : Requests(server_->port())) {
    std::string path = req["path"];
    if (path.starts_with("/token")) {
      ++token_requests;
      EXPECT_EQ(req["authorization"], "") << "credentials sent for an anonymous pull";
      EXPECT_NE(path.find("scope=repository%3At%2Fpublic%3Apull"), std::string::npos) << path;
    } else if (req["authorization"] == "Bearer anon") {
      ++authorized;
    }
  }
  EXPECT_GE(token_requests, 1);
  EXPECT_GE(authorized, 2);  // the manifest and the blob, with the anonymous token
  // The anonymous grant is for that repository only.
  Status refused = Open("data", false)->FetchBlob(desc_, 0, t);
  EXPECT_EQ(refused.code(), Code::kUnauthenticated) << refused.ToString();
}

TEST_F(MisbehaveTest, RedirectToAnotherHostGetsNoAuthorization) {
  auto r = Open("redirect");
  StringTarget t;
  Status s = r->FetchBlob(desc_, 0, t, true);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(t.data, blob_);
  auto other = Requests(server_->other_port());
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0]["authorization"], "");
  // ... while the registry itself did get the token.
  bool registry_saw_token = false;
  for (auto& req : Requests(server_->port())) {
    if (req["authorization"] == "Bearer tok") registry_saw_token = true;
  }
  EXPECT_TRUE(registry_saw_token);
}

// The second host of a cross-origin redirect answers 401 with a bearer challenge of its own:
// the client neither asks that realm for a token nor sends it any credentials.
TEST_F(MisbehaveTest, RedirectedHostChallengingGetsNoCredentials) {
  auto r = Open("redirect401");
  StringTarget t;
  Status s = r->FetchBlob(desc_, 0, t, true);
  EXPECT_EQ(s.code(), Code::kUnauthenticated) << s.ToString();
  EXPECT_TRUE(t.data.empty());
  auto other = Requests(server_->other_port());
  ASSERT_EQ(other.size(), 1u);  // the redirected GET only: no token request
  EXPECT_TRUE(std::string(other[0]["path"]).starts_with("/deny/"));
  EXPECT_EQ(other[0]["authorization"], "");
  int token_requests = 0;
  for (auto& req : Requests(server_->port())) {
    if (std::string(req["path"]).starts_with("/token")) ++token_requests;
  }
  EXPECT_EQ(token_requests, 1);  // the registry's own challenge, once
}

TEST_F(MisbehaveTest, ManifestRequestsAcceptEveryDocumentType) {
  auto r = Open("data");
  ASSERT_TRUE(r->Resolve(r->reference()).ok());
  bool seen = false;
  for (auto& req : Requests(server_->port())) {
    if (std::string(req["path"]).find("/manifests/") == std::string::npos) continue;
    seen = true;
    std::string accept = req["accept"];
    for (std::string_view type : {media::kOciIndex, media::kOciManifest, media::kDockerManifestList,
                                  media::kDockerManifest}) {
      EXPECT_NE(accept.find(type), std::string::npos) << type << " missing in " << accept;
    }
  }
  EXPECT_TRUE(seen);
}

// A registry serving over https redirects a blob to plain http: the credentials stay behind.
TEST_F(MisbehaveTest, HttpsToHttpRedirectCarriesNoCredentials) {
  auto dir = TempDir::Create("b-tls").value();
  auto tls = testing::MakeTlsFiles(dir.path());
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  auto secure = MisbehavingRegistry::Start(blob_, &*tls);
  ASSERT_TRUE(secure.ok()) << secure.status().ToString();
  std::string host = fmt::format("127.0.0.1:{}", (*secure)->tls_port());
  std::string hosts = dir.Join("certs.d");
  ASSERT_TRUE(MakeDirs(hosts + "/" + host).ok());
  ASSERT_TRUE(WriteFileAtomic(hosts + "/" + host + "/hosts.toml",
                              fmt::format("ca = \"{}\"\n", tls->ca_cert))
                  .ok());
  RegistryOptions options;
  options.hosts.hosts_dir = hosts;
  options.user = Credentials{"u", "p", ""};
  auto r = Registry::Create(ParseReference(host + "/t/downgrade:x").value(), options).value();
  StringTarget t;
  Status s = r->FetchBlob(desc_, 0, t, true);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto log = nlohmann::json::parse((*secure)->Log().value());
  bool https_saw_token = false, http_hop = false;
  for (auto& req : log) {
    if (req["port"] == (*secure)->tls_port() && req["authorization"] == "Bearer tok") {
      https_saw_token = true;
    }
    if (req["port"] == (*secure)->other_port()) {
      http_hop = true;
      EXPECT_EQ(req["authorization"], "") << req.dump();
    }
  }
  EXPECT_TRUE(https_saw_token);
  EXPECT_TRUE(http_hop);
}

// A mirror from hosts.toml is asked first; the upstream's credentials (--user) never go to it.
TEST_F(MisbehaveTest, MirrorFirstWithoutTheUpstreamsCredentials) {
  auto dir = TempDir::Create("b-mirror").value();
  std::string host = fmt::format("127.0.0.1:{}", server_->port());
  ASSERT_TRUE(MakeDirs(dir.Join(host)).ok());
  ASSERT_TRUE(WriteFileAtomic(dir.Join(host + "/hosts.toml"),
                              fmt::format("server = \"http://{}\"\n[host.\"http://127.0.0.1:{}\"]\n"
                                          "capabilities = [\"pull\"]\n",
                                          host, server_->other_port()))
                  .ok());
  RegistryOptions options;
  options.hosts.hosts_dir = dir.path();
  options.user = Credentials{"u", "p", ""};
  auto r = Registry::Create(ParseReference(host + "/t/data:x").value(), options).value();
  ASSERT_EQ(r->hosts().size(), 2u);
  EXPECT_TRUE(r->hosts()[0].mirror);
  StringTarget t;
  ASSERT_TRUE(r->FetchBlob(desc_, 0, t, true).ok());
  EXPECT_EQ(t.data, blob_);
  auto mirror = Requests(server_->other_port());
  ASSERT_EQ(mirror.size(), 1u);
  EXPECT_EQ(mirror[0]["authorization"], "");
  EXPECT_TRUE(Requests(server_->port()).empty()) << "the upstream was asked";
  // Resolving is not a capability of this mirror: the upstream answers (with its token).
  ASSERT_TRUE(r->Resolve(r->reference()).ok());
  EXPECT_FALSE(Requests(server_->port()).empty());
}

// A push whose upload Location points at another host: the upload goes there without the
// registry's token.
TEST_F(MisbehaveTest, UploadLocationOnAnotherHostGetsNoCredentials) {
  auto r = Open("uploadaway");
  ReadAtFn read = [&](uint64_t offset, void* buffer, size_t size) -> Result<size_t> {
    size_t n = offset >= blob_.size() ? 0 : std::min<size_t>(size, blob_.size() - offset);
    std::memcpy(buffer, blob_.data() + offset, n);
    return n;
  };
  auto pushed = r->PushBlob(desc_, read);
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  auto other = Requests(server_->other_port());
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0]["method"], "PUT");
  EXPECT_EQ(other[0]["authorization"], "");
  bool post_with_token = false;
  for (auto& req : Requests(server_->port())) {
    if (req["method"] == "POST" && req["authorization"] == "Bearer tok") post_with_token = true;
  }
  EXPECT_TRUE(post_with_token);
}

TEST_F(MisbehaveTest, SameOriginRedirectKeepsAuthorization) {
  auto r = Open("sameredirect");
  StringTarget t;
  ASSERT_TRUE(r->FetchBlob(desc_, 0, t, true).ok());
  bool followed_with_token = false;
  for (auto& req : Requests(server_->port())) {
    std::string path = req["path"];
    if (path.starts_with("/v2/t/data/") && req["authorization"] == "Bearer tok") {
      followed_with_token = true;
    }
  }
  EXPECT_TRUE(followed_with_token);
}

TEST_F(MisbehaveTest, ForeignUrlsAreFetchedAnonymously) {
  auto r = Open("missing");  // 404 for the blob: the descriptor's urls are tried
  Descriptor d = desc_;
  d.urls = {fmt::format("http://127.0.0.1:{}/blob/{}", server_->other_port(), d.digest.ToString())};
  StringTarget t;
  Status s = r->FetchBlob(d, 0, t, true);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto other = Requests(server_->other_port());
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0]["authorization"], "");
  // A foreign URL on the registry's own origin gets no credentials either.
  d.urls = {
      fmt::format("http://127.0.0.1:{}/v2/t/data/blobs/{}", server_->port(), d.digest.ToString())};
  StringTarget t2;
  EXPECT_EQ(r->FetchBlob(d, 0, t2, true).code(), Code::kUnauthenticated);
}

TEST_F(MisbehaveTest, WrongBytesAreRefused) {
  auto r = Open("wrong");
  StringTarget t;
  Status s = r->FetchBlob(desc_, 0, t, true);
  EXPECT_EQ(s.code(), Code::kDataLoss) << s.ToString();
  EXPECT_NE(s.message().find("digest mismatch"), std::string::npos);
  auto short_blob = Open("short");
  StringTarget t2;
  EXPECT_EQ(short_blob->FetchBlob(desc_, 0, t2).code(), Code::kUnavailable);
  // A blob fetched as a document is verified too.
  Descriptor config = desc_;
  config.media_type = std::string(media::kOciConfig);
  EXPECT_EQ(r->FetchDocument(config).status().code(), Code::kDataLoss);
}

TEST_F(MisbehaveTest, IgnoredRangeRestartsTheTarget) {
  auto r = Open("norange");
  StringTarget t;
  t.data = blob_.substr(0, 1000);
  Status s = r->FetchBlob(desc_, 1000, t);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(t.restarts, 1);
  EXPECT_EQ(t.data, blob_);
  // A registry that honours Range resumes without restarting.
  auto good = Open("data");
  StringTarget t2;
  t2.data = blob_.substr(0, 1000);
  ASSERT_TRUE(good->FetchBlob(desc_, 1000, t2).ok());
  EXPECT_EQ(t2.restarts, 0);
  EXPECT_EQ(t2.data, blob_);
}

TEST_F(MisbehaveTest, AmbiguousOrLyingManifestsAreRefused) {
  auto ambiguous = Open("ambiguous");
  auto a = ambiguous->Resolve(ambiguous->reference());
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  EXPECT_NE(a.status().message().find("ambiguous"), std::string::npos);
  // The registry's Content-Type and the document's own mediaType disagree.
  auto mismatch = Open("mismatch");
  auto m = mismatch->Resolve(mismatch->reference());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_NE(m.status().message().find("disagrees"), std::string::npos) << m.status().message();
  auto liar = Open("liar");
  auto l = liar->Resolve(liar->reference());
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), Code::kDataLoss);
  // Asking by digest: the bytes must hash to it.
  auto ref = ParseReference(
      fmt::format("127.0.0.1:{}/t/good@sha256:{}", server_->port(), std::string(64, '1')));
  auto by_digest = Open("good")->Resolve(*ref);
  EXPECT_EQ(by_digest.status().code(), Code::kDataLoss);
}

}  // namespace
}  // namespace berth::client
