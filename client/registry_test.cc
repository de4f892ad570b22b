// The registry client against Debian's docker-registry (the reference implementation).
#include "client/registry.h"

#include <gtest/gtest.h>

#include "client/media_types.h"
#include "client/platform.h"
#include "client/testing/test_registry.h"
#include "common/fs.h"
#include "common/temp_dir.h"

namespace berth::client {
namespace {

using testing::StringTarget;
using testing::TestRegistry;

ReadAtFn ReadString(std::string s) {
  return [s = std::move(s)](uint64_t offset, void* buffer, size_t size) -> Result<size_t> {
    size_t n = offset >= s.size() ? 0 : std::min<size_t>(size, s.size() - offset);
    std::memcpy(buffer, s.data() + offset, n);
    return n;
  };
}

Descriptor DescribeBytes(std::string_view type, const std::string& bytes) {
  return Descriptor{.media_type = std::string(type),
                    .digest = DigestBytes(bytes).value(),
                    .size = static_cast<int64_t>(bytes.size())};
}

class RegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto r = TestRegistry::Start();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    registry_ = std::move(r).value();
    Status pushed = testing::PushFixtureImages(registry_->host());
    ASSERT_TRUE(pushed.ok()) << pushed.ToString();
  }
  static void TearDownTestSuite() { registry_.reset(); }

  std::unique_ptr<Registry> Open(const std::string& repo_and_tag) {
    auto ref = ParseReference(registry_->host() + "/" + repo_and_tag);
    EXPECT_TRUE(ref.ok()) << ref.status().ToString();
    RegistryOptions options;
    options.hosts.plain_http = true;
    auto r = Registry::Create(*ref, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return std::move(r).value();
  }

  static std::unique_ptr<TestRegistry> registry_;
};
std::unique_ptr<TestRegistry> RegistryTest::registry_;

TEST_F(RegistryTest, ResolvesOciAndDockerManifests) {
  auto oci = Open("berth/busybox:latest");
  auto resolved = oci->Resolve(oci->reference());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->descriptor.media_type, media::kOciManifest);
  EXPECT_EQ(resolved->descriptor.digest, DigestBytes(resolved->bytes).value());
  auto manifest = ParseManifest(resolved->descriptor.media_type, resolved->bytes);
  ASSERT_TRUE(manifest.ok());
  auto config_bytes = oci->FetchDocument(manifest->config);
  ASSERT_TRUE(config_bytes.ok()) << config_bytes.status().ToString();
  auto config = ParseImageConfig(*config_bytes);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->diff_ids.size(), manifest->layers.size());
  EXPECT_EQ(config->platform.architecture, HostPlatform().architecture);

  auto docker = Open("berth/busybox:v2s2");
  auto v2s2 = docker->Resolve(docker->reference());
  ASSERT_TRUE(v2s2.ok()) << v2s2.status().ToString();
  EXPECT_EQ(v2s2->descriptor.media_type, media::kDockerManifest);
  auto m2 = ParseManifest(v2s2->descriptor.media_type, v2s2->bytes);
  ASSERT_TRUE(m2.ok());
  EXPECT_EQ(m2->layers.at(0).media_type, media::kDockerLayerGzip);

  // By digest: the same document, checked against the reference's digest.
  auto by_digest = ParseReference(registry_->host() + "/berth/busybox@" +
                                  resolved->descriptor.digest.ToString());
  auto again = oci->Resolve(*by_digest);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->bytes, resolved->bytes);
}

TEST_F(RegistryTest, UnknownTagAndRepositoryAreNotFound) {
  auto r = Open("berth/busybox:nope");
  auto missing = r->Resolve(r->reference());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("MANIFEST_UNKNOWN"), std::string::npos)
      << missing.status().message();
  auto nothing = Open("berth/nothing-here:latest");
  EXPECT_EQ(nothing->Resolve(nothing->reference()).status().code(), Code::kNotFound);
}

TEST_F(RegistryTest, FetchesLayersVerifiedAndResumesWithRange) {
  auto r = Open("berth/layered:latest");
  auto resolved = r->Resolve(r->reference());
  ASSERT_TRUE(resolved.ok());
  Manifest m = ParseManifest(resolved->descriptor.media_type, resolved->bytes).value();
  ASSERT_EQ(m.layers.size(), 3u);
  const Descriptor& layer = m.layers[0];
  StringTarget whole;
  ASSERT_TRUE(r->FetchBlob(layer, 0, whole, /*verify=*/true).ok());
  EXPECT_EQ(whole.data.size(), static_cast<size_t>(layer.size));
  // Resume: the first half from before, the rest with a Range request.
  StringTarget rest;
  uint64_t half = layer.size / 2;
  rest.data = whole.data.substr(0, half);
  Status s = r->FetchBlob(layer, half, rest);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(rest.restarts, 0);
  EXPECT_EQ(DigestBytes(rest.data).value(), layer.digest);
  // A descriptor whose size disagrees with what the registry serves is refused.
  Descriptor lie = layer;
  lie.size -= 1;
  StringTarget other;
  EXPECT_EQ(r->FetchBlob(lie, 0, other, true).code(), Code::kDataLoss);
}

TEST_F(RegistryTest, PushesBlobsMountsAndManifestsThenPullsThemBack) {
  auto src = Open("berth/busybox:latest");
  auto resolved = src->Resolve(src->reference());
  ASSERT_TRUE(resolved.ok());
  Manifest m = ParseManifest(resolved->descriptor.media_type, resolved->bytes).value();
  std::string config = src->FetchDocument(m.config).value();
  StringTarget layer;
  ASSERT_TRUE(src->FetchBlob(m.layers[0], 0, layer, true).ok());

  auto dst = Open("berth/pushed:v1");
  // The layer exists in berth/busybox: mounted, not uploaded.
  auto mounted =
      dst->PushBlob(m.layers[0], ReadString(layer.data), {.mount_from = {"berth/busybox"}});
  ASSERT_TRUE(mounted.ok()) << mounted.status().ToString();
  EXPECT_TRUE(mounted->mounted);
  // The config, monolithic; again: it exists.
  auto put = dst->PushBlob(m.config, ReadString(config));
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_FALSE(put->existed || put->mounted);
  EXPECT_TRUE(dst->PushBlob(m.config, ReadString(config))->existed);
  // A new blob in chunks (the last one short).
  std::string big(300000, 'x');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>(i);
  Descriptor big_desc = DescribeBytes(media::kOciLayer, big);
  auto chunked = dst->PushBlob(big_desc, ReadString(big), {.chunk_size = 65536});
  ASSERT_TRUE(chunked.ok()) << chunked.status().ToString();
  StringTarget back;
  ASSERT_TRUE(dst->FetchBlob(big_desc, 0, back, true).ok());
  EXPECT_EQ(back.data, big);

  ASSERT_TRUE(dst->PushManifest("v1", resolved->descriptor, resolved->bytes).ok());
  auto pulled = dst->Resolve(dst->reference());
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(pulled->descriptor.digest, resolved->descriptor.digest);
}

TEST_F(RegistryTest, MultiPlatformIndex) {
  // The fixture's index: this host's busybox and the other of amd64/arm64, sharing the layer.
  auto r = Open("berth/multi:latest");
  auto resolved = r->Resolve(r->reference());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->descriptor.media_type, media::kOciIndex);
  Document doc = ParseDocument(resolved->descriptor.media_type, resolved->bytes).value();
  ASSERT_TRUE(doc.is_index());
  ASSERT_EQ(doc.index().manifests.size(), 2u);
  auto host = SelectManifest(doc.index(), PlatformMatcher(HostPlatform()));
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  std::string other_arch = HostPlatform().architecture == "amd64" ? "arm64" : "amd64";
  auto other = SelectManifest(doc.index(), PlatformMatcher(Platform{"linux", other_arch}));
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_NE(host->digest, other->digest);
  // The host's manifest is berth/busybox:latest's; the other one's config says its platform.
  auto busybox = Open("berth/busybox:latest");
  EXPECT_EQ(host->digest, busybox->Resolve(busybox->reference())->descriptor.digest);
  auto other_bytes = r->FetchDocument(*other);
  ASSERT_TRUE(other_bytes.ok()) << other_bytes.status().ToString();
  Manifest m = ParseManifest(other->media_type, *other_bytes).value();
  auto config = ParseImageConfig(r->FetchDocument(m.config).value());
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->platform.architecture, other_arch);
}

// htpasswd basic auth behind TLS with a CA made by the test.
class SecureRegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto r = TestRegistry::Start({.tls = true, .user = "berth", .password = "s3cret"});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    registry_ = std::move(r).value();
  }
  static void TearDownTestSuite() { registry_.reset(); }

  Result<std::unique_ptr<Registry>> Open(std::optional<Credentials> user, bool trust_ca,
                                         const CredentialStore* store = nullptr) {
    BERTH_ASSIGN_OR_RETURN(Reference ref, ParseReference(registry_->host() + "/secure/app:v1"));
    if (trust_ca) {
      std::string dir = registry_->dir() + "/certs.d/" + registry_->host();
      BERTH_RETURN_IF_ERROR(MakeDirs(dir));
      BERTH_RETURN_IF_ERROR(WriteFileAtomic(
          dir + "/hosts.toml", fmt::format("server = \"https://{}\"\nca = \"{}\"\n",
                                           registry_->host(), registry_->tls().ca_cert)));
    }
    RegistryOptions options;
    options.hosts.hosts_dir = trust_ca ? registry_->dir() + "/certs.d" : "";
    options.user = std::move(user);
    options.credentials = store;
    return Registry::Create(ref, options);
  }

  static std::unique_ptr<TestRegistry> registry_;
};
std::unique_ptr<TestRegistry> SecureRegistryTest::registry_;

TEST_F(SecureRegistryTest, UntrustedCertificateIsAClearError) {
  auto r = Open(Credentials{"berth", "s3cret", ""}, /*trust_ca=*/false);
  ASSERT_TRUE(r.ok());
  auto resolved = (*r)->Resolve((*r)->reference());
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().code(), Code::kUnavailable);
  EXPECT_NE(resolved.status().message().find("TLS certificate not trusted"), std::string::npos)
      << resolved.status().message();
}

TEST_F(SecureRegistryTest, WrongOrMissingPasswordIsAClearError) {
  auto wrong = Open(Credentials{"berth", "wrong", ""}, true);
  ASSERT_TRUE(wrong.ok());
  auto resolved = (*wrong)->Resolve((*wrong)->reference());
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().code(), Code::kUnauthenticated);
  EXPECT_NE(resolved.status().message().find("wrong username or password"), std::string::npos)
      << resolved.status().message();
  auto none = Open(std::nullopt, true);
  auto anonymous = (*none)->Resolve((*none)->reference());
  ASSERT_FALSE(anonymous.ok());
  EXPECT_EQ(anonymous.status().code(), Code::kUnauthenticated);
  EXPECT_NE(anonymous.status().message().find("requires credentials"), std::string::npos);
}

TEST_F(SecureRegistryTest, CredentialsFromDockerConfigPushAndPull) {
  auto dir = TempDir::Create("b-cfg").value();
  std::string path = registry_->WriteDockerConfig(dir.path()).value();
  auto store = CredentialStore::Load(path);
  ASSERT_TRUE(store.ok());
  auto r = Open(std::nullopt, true, &*store);
  ASSERT_TRUE(r.ok());
  std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers",)"
                       R"("diff_ids":[]}})";
  Manifest m;
  m.media_type = std::string(media::kOciManifest);
  m.config = DescribeBytes(media::kOciConfig, config);
  auto pushed = (*r)->PushBlob(m.config, ReadString(config));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  std::string bytes = Serialize(m);
  Descriptor d = DescribeBytes(media::kOciManifest, bytes);
  ASSERT_TRUE((*r)->PushManifest("v1", d, bytes).ok());
  auto resolved = (*r)->Resolve((*r)->reference());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->descriptor.digest, d.digest);
}

// TLS settings from a registry's hosts.toml: its CA, a client certificate for a registry that
// demands one, and skip_verify.
TEST(RegistryTlsTest, CaClientCertificateAndSkipVerifyFromHostsToml) {
  auto registry = TestRegistry::Start({.tls = true, .client_certs = true});
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  const std::string& host = (*registry)->host();
  const testing::TlsFiles& tls = (*registry)->tls();
  auto dir = TempDir::Create("b-hosts").value();
  ASSERT_TRUE(MakeDirs(dir.Join(host)).ok());
  auto resolve = [&](const std::string& hosts_toml) -> Status {
    BERTH_RETURN_IF_ERROR(WriteFileAtomic(dir.Join(host + "/hosts.toml"), hosts_toml));
    RegistryOptions options;
    options.hosts.hosts_dir = dir.path();
    BERTH_ASSIGN_OR_RETURN(
        auto r, Registry::Create(ParseReference(host + "/berth/none:v1").value(), options));
    return r->Resolve(r->reference()).status();
  };
  // The CA alone: the registry refuses the handshake without a client certificate.
  Status no_client = resolve(fmt::format("ca = \"{}\"\n", tls.ca_cert));
  EXPECT_EQ(no_client.code(), Code::kUnavailable) << no_client.ToString();
  // With the client certificate the registry answers (it has no such image).
  Status with_client = resolve(fmt::format("ca = \"{}\"\nclient = [[\"{}\", \"{}\"]]\n",
                                           tls.ca_cert, tls.client_cert, tls.client_key));
  EXPECT_EQ(with_client.code(), Code::kNotFound) << with_client.ToString();
  // Without the CA: untrusted, unless skip_verify.
  Status untrusted =
      resolve(fmt::format("client = [\"{}\", \"{}\"]\n", tls.client_cert, tls.client_key));
  EXPECT_NE(untrusted.message().find("TLS certificate not trusted"), std::string::npos)
      << untrusted.ToString();
  Status skipped = resolve(fmt::format("skip_verify = true\nclient = [\"{}\", \"{}\"]\n",
                                       tls.client_cert, tls.client_key));
  EXPECT_EQ(skipped.code(), Code::kNotFound) << skipped.ToString();
}

}  // namespace
}  // namespace berth::client
