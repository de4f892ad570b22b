#pragma once
// Helpers shared by the MetadataStore implementation files (not part of the contract).

#include <google/protobuf/map.h>
#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "services/metadata/database.h"

namespace berth::metadata::internal {

inline std::string Encode(const google::protobuf::Message& message) {
  std::string out;
  message.SerializeToString(&out);
  return out;
}

// DATA_LOSS naming the record when it does not parse.
template <typename T>
Status Decode(std::string_view bytes, T* out, std::string_view what) {
  if (!out->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Error(Code::kDataLoss, "metadata record of {} does not parse", what);
  }
  return Status::Ok();
}

// Loads the record at `key`; NOT_FOUND (empty message) when absent.
template <typename T>
Status Load(const Txn& txn, MDB_dbi dbi, std::string_view key, T* out, std::string_view what) {
  std::string_view bytes;
  BERTH_RETURN_IF_ERROR(txn.Get(dbi, key, &bytes));
  return Decode(bytes, out, what);
}

inline void SetTime(google::protobuf::Timestamp* ts, int64_t unix_nanos) {
  ts->set_seconds(unix_nanos / 1000000000);
  ts->set_nanos(static_cast<int32_t>(unix_nanos % 1000000000));
}

// NOT_FOUND for object `kind` ("image", "container", "lease") `name` in namespace `ns`.
inline Status ObjectNotFound(std::string_view kind, const std::string& ns,
                             const std::string& name) {
  return Error(Code::kNotFound, "{} \"{}\" not found in namespace \"{}\"", kind, name, ns);
}

// Writes the namespace record if it does not exist yet (implicit creation by a first object).
Status EnsureNamespace(Txn& txn, const Dbs& dbs, const std::string& ns);

// Applies a "labels" / "labels.<key>" style path on a map: `prefix` is "labels". Returns false
// when `path` is not about this map.
template <typename V>
bool ApplyMapPath(const std::string& path, std::string_view prefix,
                  const google::protobuf::Map<std::string, V>& from,
                  google::protobuf::Map<std::string, V>* to) {
  if (path == prefix) {
    *to = from;
    return true;
  }
  if (path.size() > prefix.size() + 1 && path.starts_with(prefix) && path[prefix.size()] == '.') {
    std::string key = path.substr(prefix.size() + 1);
    auto it = from.find(key);
    if (it == from.end()) {
      to->erase(key);
    } else {
      (*to)[key] = it->second;
    }
    return true;
  }
  return false;
}

// Runs `op` as a write and hands `result` to `done` when it committed.
template <typename T, typename Done>
void WriteAndReturn(Database& db, Database::WriteOp op, std::shared_ptr<T> result, Done done,
                    std::function<void(const T&)> after = {}) {
  db.Write(std::move(op), [result, done = std::move(done), after = std::move(after)](Status s) {
    if (!s.ok()) return done(s);
    if (after) after(*result);
    done(*result);
  });
}

}  // namespace berth::metadata::internal
