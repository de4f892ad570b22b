// MetadataStore's parent -> children index: kept by Put and Delete, and built on open for a
// store written before the index existed.
#include "services/snapshot/metadata_store.h"

#include <gtest/gtest.h>

#include "common/temp_dir.h"

namespace berth::snapshot {
namespace {

SnapshotRecord Record(uint64_t id, std::string parent) {
  SnapshotRecord r;
  r.id = id;
  r.kind = Kind::kCommitted;
  r.parent = std::move(parent);
  return r;
}

std::optional<std::string> ChildOf(MetadataStore& store, const std::string& parent) {
  std::optional<std::string> child;
  EXPECT_TRUE(store
                  .Read([&](MetadataStore::Txn& txn) -> Status {
                    BERTH_ASSIGN_OR_RETURN(child, txn.FirstChild(parent));
                    return Status::Ok();
                  })
                  .ok());
  return child;
}

TEST(MetadataStoreTest, ChildrenFollowPutsReparentingAndDeletes) {
  auto dir = TempDir::Create("b-snapmeta");
  ASSERT_TRUE(dir.ok());
  auto store = MetadataStore::Open(dir->Join("metadata.lmdb"));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)
                  ->Write([](MetadataStore::Txn& txn) -> Status {
                    BERTH_RETURN_IF_ERROR(txn.Put("base", Record(1, "")));
                    BERTH_RETURN_IF_ERROR(txn.Put("b", Record(2, "base")));
                    return txn.Put("a", Record(3, "base"));
                  })
                  .ok());
  EXPECT_EQ(ChildOf(**store, "base"), "a");  // the first in key order
  EXPECT_EQ(ChildOf(**store, "a"), std::nullopt);
  // "a" moves under "b": the index follows the record's new parent.
  ASSERT_TRUE((*store)->Write([](auto& txn) { return txn.Put("a", Record(3, "b")); }).ok());
  EXPECT_EQ(ChildOf(**store, "base"), "b");
  EXPECT_EQ(ChildOf(**store, "b"), "a");
  ASSERT_TRUE((*store)->Write([](auto& txn) { return txn.Delete("a"); }).ok());
  EXPECT_EQ(ChildOf(**store, "b"), std::nullopt);
  ASSERT_TRUE((*store)->Write([](auto& txn) { return txn.Delete("b"); }).ok());
  EXPECT_EQ(ChildOf(**store, "base"), std::nullopt);
  EXPECT_EQ((*store)->Write([](auto& txn) { return txn.Delete("b"); }).code(), Code::kNotFound);
}

TEST(MetadataStoreTest, AStoreWithoutTheIndexGetsItOnOpen) {
  auto dir = TempDir::Create("b-snapmeta");
  ASSERT_TRUE(dir.ok());
  std::string path = dir->Join("metadata.lmdb");
  {
    auto store = MetadataStore::Open(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)
                    ->Write([](MetadataStore::Txn& txn) -> Status {
                      BERTH_RETURN_IF_ERROR(txn.Put("base", Record(1, "")));
                      return txn.Put("child", Record(2, "base"));
                    })
                    .ok());
  }
  // Make it look like a store of an older Berth: no "children" database, no marker.
  {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 4);
    ASSERT_EQ(mdb_env_open(env, path.c_str(), MDB_NOSUBDIR, 0600), 0);
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    MDB_dbi children, meta;
    ASSERT_EQ(mdb_dbi_open(txn, "children", MDB_DUPSORT, &children), 0);
    ASSERT_EQ(mdb_drop(txn, children, 1), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    std::string marker = "children-index";
    MDB_val key{marker.size(), marker.data()};
    ASSERT_EQ(mdb_del(txn, meta, &key, nullptr), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  auto reopened = MetadataStore::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(ChildOf(**reopened, "base"), "child");
}

}  // namespace
}  // namespace berth::snapshot
