#include "client/media_types.h"

namespace berth::client::media {

bool IsIndex(std::string_view type) { return type == kOciIndex || type == kDockerManifestList; }

bool IsManifest(std::string_view type) { return type == kOciManifest || type == kDockerManifest; }

bool IsConfig(std::string_view type) { return type == kOciConfig || type == kDockerConfig; }

bool IsLayer(std::string_view type) { return LayerCompression(type) != Compression::kUnknown; }

Compression LayerCompression(std::string_view type) {
  if (type == kOciLayer || type == kOciLayerNonDistributable || type == kDockerLayer) {
    return Compression::kNone;
  }
  if (type == kOciLayerGzip || type == kOciLayerNonDistributableGzip || type == kDockerLayerGzip ||
      type == kDockerLayerForeignGzip) {
    return Compression::kGzip;
  }
  if (type == kOciLayerZstd || type == kOciLayerNonDistributableZstd) return Compression::kZstd;
  return Compression::kUnknown;
}

Compression SniffCompression(std::string_view head) {
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
      static_cast<unsigned char>(head[1]) == 0x8b) {
    return Compression::kGzip;
  }
  if (head.size() >= 4 && head.substr(0, 4) == std::string_view("\x28\xb5\x2f\xfd", 4)) {
    return Compression::kZstd;
  }
  return Compression::kNone;
}

}  // namespace berth::client::media
