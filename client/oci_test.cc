#include "client/oci.h"

#include <gtest/gtest.h>

#include "client/media_types.h"

namespace berth::client {
namespace {

using nlohmann::json;

const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');

json Desc(std::string_view type, const std::string& digest, int64_t size) {
  return {{"mediaType", type}, {"digest", digest}, {"size", size}};
}

json OciManifest() {
  return {{"schemaVersion", 2},
          {"mediaType", media::kOciManifest},
          {"config", Desc(media::kOciConfig, kA, 10)},
          {"layers", {Desc(media::kOciLayerGzip, kB, 20)}}};
}

TEST(OciTest, ParsesManifestAndIndex) {
  auto doc = ParseDocument(media::kOciManifest, OciManifest().dump());
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  ASSERT_FALSE(doc->is_index());
  EXPECT_EQ(doc->manifest().config.digest.ToString(), kA);
  ASSERT_EQ(doc->manifest().layers.size(), 1u);
  EXPECT_EQ(doc->manifest().layers[0].size, 20);

  json index = {{"schemaVersion", 2},
                {"mediaType", media::kDockerManifestList},
                {"manifests", json::array({Desc(media::kDockerManifest, kA, 5)})}};
  index["manifests"][0]["platform"] = {{"os", "linux"}, {"architecture", "arm"}, {"variant", "v7"}};
  auto idx = ParseDocument(media::kDockerManifestList, index.dump());
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  ASSERT_TRUE(idx->is_index());
  ASSERT_TRUE(idx->index().manifests[0].platform.has_value());
  EXPECT_EQ(idx->index().manifests[0].platform->variant, "v7");
}

TEST(OciTest, DetectsTypeWhenTheRegistrySaysJson) {
  json m = OciManifest();
  m.erase("mediaType");
  auto doc = ParseDocument("application/json", m.dump());
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->media_type, media::kOciManifest);
}

TEST(OciTest, RefusesAmbiguousDocuments) {
  json m = OciManifest();
  m["manifests"] = json::array();
  auto as_manifest = ParseDocument(media::kOciManifest, m.dump());
  ASSERT_FALSE(as_manifest.ok());
  EXPECT_NE(as_manifest.status().message().find("ambiguous"), std::string::npos);
  m["mediaType"] = media::kOciIndex;
  auto as_index = ParseDocument(media::kOciIndex, m.dump());
  ASSERT_FALSE(as_index.ok());
  EXPECT_NE(as_index.status().message().find("ambiguous"), std::string::npos);
}

TEST(OciTest, RefusesMediaTypeDisagreeingWithDescriptor) {
  auto doc = ParseDocument(media::kDockerManifest, OciManifest().dump());
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.status().message().find("disagrees"), std::string::npos);
  // An index behind a manifest descriptor: refused too.
  json index = {{"schemaVersion", 2}, {"manifests", json::array()}};
  EXPECT_FALSE(ParseDocument(media::kOciManifest, index.dump()).ok());
}

TEST(OciTest, RefusesMalformedFields) {
  auto bad = [](json m) { return ParseDocument(media::kOciManifest, m.dump()).status(); };
  json m = OciManifest();
  m["config"]["digest"] = "sha256:xyz";
  EXPECT_EQ(bad(m).code(), Code::kInvalidArgument);
  m = OciManifest();
  m["layers"][0]["size"] = -1;
  EXPECT_EQ(bad(m).code(), Code::kInvalidArgument);
  m = OciManifest();
  m["layers"][0]["size"] = "20";
  EXPECT_EQ(bad(m).code(), Code::kInvalidArgument);
  m = OciManifest();
  m.erase("config");
  EXPECT_EQ(bad(m).code(), Code::kInvalidArgument);
  m = OciManifest();
  m["schemaVersion"] = 1;
  EXPECT_EQ(bad(m).code(), Code::kUnimplemented);
  EXPECT_EQ(ParseDocument(media::kOciManifest, "{not json").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ParseDocument(media::kOciManifest, "[]").status().code(), Code::kInvalidArgument);
}

TEST(OciTest, ImageConfigAndChainIds) {
  json config = {{"architecture", "amd64"},
                 {"os", "linux"},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", {kA, kB}}}}};
  auto c = ParseImageConfig(config.dump());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->diff_ids.size(), 2u);
  std::vector<Digest> chain = ChainIds(c->diff_ids);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0].ToString(), kA);
  EXPECT_EQ(chain[1], DigestBytes(kA + " " + kB).value());
  config["rootfs"]["type"] = "other";
  EXPECT_FALSE(ParseImageConfig(config.dump()).ok());
}

TEST(OciTest, SerializeRoundTripAndVerify) {
  Manifest m = ParseManifest(media::kOciManifest, OciManifest().dump()).value();
  m.annotations["k"] = "v";
  std::string bytes = Serialize(m);
  auto again = ParseManifest(media::kOciManifest, bytes);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->annotations.at("k"), "v");
  Descriptor d{.media_type = std::string(media::kOciManifest),
               .digest = DigestBytes(bytes).value(),
               .size = static_cast<int64_t>(bytes.size())};
  EXPECT_TRUE(VerifyBytes(d, bytes).ok());
  EXPECT_EQ(VerifyBytes(d, bytes + " ").code(), Code::kDataLoss);
  std::string flipped = bytes;
  flipped[5] ^= 1;
  EXPECT_EQ(VerifyBytes(d, flipped).code(), Code::kDataLoss);
}

TEST(OciTest, SniffsCompression) {
  EXPECT_EQ(media::SniffCompression("\x1f\x8b\x08"), media::Compression::kGzip);
  EXPECT_EQ(media::SniffCompression(std::string_view("\x28\xb5\x2f\xfd", 4)),
            media::Compression::kZstd);
  EXPECT_EQ(media::SniffCompression("ustar"), media::Compression::kNone);
  EXPECT_EQ(media::LayerCompression(media::kDockerLayerGzip), media::Compression::kGzip);
  EXPECT_EQ(media::LayerCompression(media::kOciConfig), media::Compression::kUnknown);
}

}  // namespace
}  // namespace berth::client
