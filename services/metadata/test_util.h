#pragma once
// Helpers for berth-metadata's tests and benchmarks: blocking wrappers over the store's
// callback writes, and builders for records.

#include <fmt/format.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/wrappers.pb.h>

#include <future>
#include <string>

#include "services/metadata/metadata.h"

namespace berth::metadata::testing {

// Runs `call(done)` and waits for `done`'s Result<T>.
template <typename T, typename F>
Result<T> Await(F&& call) {
  std::promise<Result<T>> promise;
  call([&promise](Result<T> result) { promise.set_value(std::move(result)); });
  return promise.get_future().get();
}

template <typename F>
Status AwaitStatus(F&& call) {
  std::promise<Status> promise;
  call([&promise](Status status) { promise.set_value(std::move(status)); });
  return promise.get_future().get();
}

// A record's timestamp as Unix nanoseconds (seconds and nanos both count).
inline int64_t UnixNanosOf(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1'000'000'000 + ts.nanos();
}

// A well-formed sha256 digest derived from `n` (not the hash of anything).
inline std::string FakeDigest(uint64_t n) { return fmt::format("sha256:{:064x}", n); }

inline v1::Image MakeImage(const std::string& name, const std::string& digest) {
  v1::Image image;
  image.set_name(name);
  image.mutable_target()->set_media_type("application/vnd.oci.image.index.v1+json");
  image.mutable_target()->set_digest(digest);
  image.mutable_target()->set_size(1234);
  return image;
}

inline v1::Container MakeContainer(const std::string& id, const std::string& snapshotter = "",
                                   const std::string& key = "") {
  v1::Container c;
  c.set_id(id);
  c.set_image("docker.io/library/busybox:latest");
  c.mutable_runtime()->set_name("io.containerd.runc.v2");
  google::protobuf::StringValue spec;
  spec.set_value(R"({"ociVersion":"1.1.0","process":{"args":["sh"]}})");
  c.mutable_spec()->PackFrom(spec);
  c.set_snapshotter(snapshotter);
  c.set_snapshot_key(key);
  return c;
}

inline v1::Lease MakeLease(const std::string& id) {
  v1::Lease lease;
  lease.set_id(id);
  return lease;
}

inline v1::Resource MakeResource(const std::string& type, const std::string& id) {
  v1::Resource r;
  r.set_type(type);
  r.set_id(id);
  return r;
}

}  // namespace berth::metadata::testing
