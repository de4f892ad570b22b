#pragma once
// The on-disk layout of berth-metadata's LMDB environment (<root>/metadata/{data,lock}.mdb).
// This header is the single place that draws it; change it only with a new schema version and a
// migration below.
//
// Named databases (mdb_dbi_open names) and their keys; "\0" is a NUL byte, <ns> a namespace
// name, values are serialized protobuf messages of api/berth/metadata/v1 unless said otherwise:
//
//   meta              "schema_version"              -> u32 little endian (kSchemaVersion)
//   namespaces        <ns>                          -> Namespace {name, labels}
//   images            <ns> "\0" <name key>          -> Image (name, labels, target, times)
//   containers        <ns> "\0" <id>                -> Container (stored as given, plus times)
//   leases            <ns> "\0" <id>                -> Lease {id, created_at, labels}
//   lease_resources   <ns> "\0" <lease> "\0" <type> "\0" <id key>
//                                                   -> Resource {id, type}
//
// <name key> / <id key>: the name itself when the whole key stays within kMaxInlineKey bytes
// (LMDB keys are at most 511 bytes); a longer name is stored under
// <first 256 bytes> "\0#" <sha256 hex of the full name>, and the value keeps the full name.
// Names never contain NUL (validation refuses it), so the two forms never collide.
//
// Objects of one namespace are contiguous in every database, so listing a namespace is one
// cursor range and "does this namespace hold anything" is one seek per database.
//
// Migrations: an environment records its schema version; opening a newer one fails
// (FAILED_PRECONDITION: run a newer berth-metadata), an older one is migrated in one write
// transaction, step by step, before the service serves anything.
//   v0 -> v1: a new, empty environment: record the version.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth::metadata {

class Txn;

inline constexpr uint32_t kSchemaVersion = 1;
inline constexpr char kSchemaVersionKey[] = "schema_version";
inline constexpr size_t kMaxInlineKey = 480;

inline constexpr char kDbMeta[] = "meta";
inline constexpr char kDbNamespaces[] = "namespaces";
inline constexpr char kDbImages[] = "images";
inline constexpr char kDbContainers[] = "containers";
inline constexpr char kDbLeases[] = "leases";
inline constexpr char kDbLeaseResources[] = "lease_resources";

struct Migration {
  uint32_t from;  // runs on a database at version `from`, leaves it at from + 1
  std::string what;
  std::function<Status(Txn&)> run;
};
// The numbered migrations, in order.
const std::vector<Migration>& Migrations();

// <ns> "\0" <name key>
std::string ObjectKey(std::string_view ns, std::string_view name);
// <ns> "\0": the prefix of every object of a namespace.
std::string NamespacePrefix(std::string_view ns);
// <ns> "\0" <lease> "\0"
std::string LeaseResourcePrefix(std::string_view ns, std::string_view lease);
std::string LeaseResourceKey(std::string_view ns, std::string_view lease, std::string_view type,
                             std::string_view id);

}  // namespace berth::metadata
