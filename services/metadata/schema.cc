#include "services/metadata/schema.h"

#include "common/digest.h"

namespace berth::metadata {

namespace {
// The tail of a key for a name that may be long (see schema.h).
std::string NameKey(std::string_view name, size_t room) {
  if (name.size() <= room) return std::string(name);
  Hasher hasher;
  hasher.Update(name);
  std::string key(name.substr(0, 256));
  key.append("\0#", 2);
  key += hasher.Finish().hex;
  return key;
}
}  // namespace

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> migrations = {
      {0, "record the schema version of a new environment", [](Txn&) { return Status::Ok(); }},
  };
  return migrations;
}

std::string NamespacePrefix(std::string_view ns) {
  std::string key(ns);
  key.push_back('\0');
  return key;
}

std::string ObjectKey(std::string_view ns, std::string_view name) {
  std::string key = NamespacePrefix(ns);
  size_t room = kMaxInlineKey > key.size() ? kMaxInlineKey - key.size() : 0;
  key += NameKey(name, room);
  return key;
}

std::string LeaseResourcePrefix(std::string_view ns, std::string_view lease) {
  std::string key = ObjectKey(ns, lease);
  key.push_back('\0');
  return key;
}

std::string LeaseResourceKey(std::string_view ns, std::string_view lease, std::string_view type,
                             std::string_view id) {
  std::string key = LeaseResourcePrefix(ns, lease);
  key.append(type);
  key.push_back('\0');
  size_t room = kMaxInlineKey > key.size() ? kMaxInlineKey - key.size() : 0;
  key += NameKey(id, room);
  return key;
}

}  // namespace berth::metadata
