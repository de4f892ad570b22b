#pragma once
// Media types of OCI image-spec v1 and Docker image manifest schema 2 documents and blobs.

#include <string_view>

namespace berth::client::media {

// OCI image-spec v1.
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kOciLayerNonDistributable =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view kOciLayerNonDistributableGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view kOciLayerNonDistributableZstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
inline constexpr std::string_view kOciEmpty = "application/vnd.oci.empty.v1+json";

// Docker schema 2.
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view kDockerLayerForeignGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
// Docker schema 1 (refused: unsigned manifests without config digests).
inline constexpr std::string_view kDockerSchema1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

// The Accept header for manifest requests: every document type Berth can read.
inline constexpr std::string_view kManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json, */*;q=0.1";

bool IsIndex(std::string_view type);     // OCI index or Docker manifest list
bool IsManifest(std::string_view type);  // OCI or Docker schema 2 image manifest
bool IsConfig(std::string_view type);    // OCI or Docker image config
bool IsLayer(std::string_view type);     // any layer type above

enum class Compression { kNone, kGzip, kZstd, kUnknown };
// Compression of a layer media type (kUnknown for non-layer types).
Compression LayerCompression(std::string_view type);
// Compression from the first bytes of a blob (gzip 1f 8b, zstd 28 b5 2f fd), else kNone.
Compression SniffCompression(std::string_view head);

}  // namespace berth::client::media
