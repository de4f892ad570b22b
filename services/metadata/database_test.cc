// Database: schema versions and migrations, batching, map growth, durability across reopen.
#include "services/metadata/database.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "common/temp_dir.h"

namespace berth::metadata {
namespace {

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("b-meta");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(dir).value());
  }
  std::string path() const { return dir_->Join("metadata"); }
  std::optional<TempDir> dir_;
};

std::string ReadKey(Database& db, MDB_dbi dbi, const std::string& key) {
  auto txn = db.Read();
  EXPECT_TRUE(txn.ok());
  std::string_view value;
  if (!txn->Get(dbi, key, &value).ok()) return "<absent>";
  return std::string(value);
}

TEST_F(DatabaseTest, FreshEnvironmentGetsTheCurrentSchemaVersion) {
  auto db = Database::Open(path());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ((*db)->schema_version(), kSchemaVersion);
  EXPECT_EQ(ReadKey(**db, (*db)->dbs().meta, kSchemaVersionKey).size(), 4u);
}

TEST_F(DatabaseTest, MigrationsRunInOrderAndOnlyOnce) {
  int runs = 0;
  std::vector<Migration> steps = {
      {0, "create", [](Txn&) { return Status::Ok(); }},
      {1, "add marker",
       [&runs](Txn& txn) {
         ++runs;
         auto dbi = txn.OpenDb(kDbMeta, false);
         if (!dbi.ok()) return dbi.status();
         return txn.Put(*dbi, "marker", "v2");
       }},
  };
  Database::Options v1_options;
  v1_options.schema_version = 1;
  v1_options.migrations = &steps;
  ASSERT_TRUE(Database::Open(path(), v1_options).ok());
  EXPECT_EQ(runs, 0);

  Database::Options v2_options = v1_options;
  v2_options.schema_version = 2;
  {
    auto db = Database::Open(path(), v2_options);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    EXPECT_EQ((*db)->schema_version(), 2u);
    EXPECT_EQ(ReadKey(**db, (*db)->dbs().meta, "marker"), "v2");
  }
  EXPECT_EQ(runs, 1);
  ASSERT_TRUE(Database::Open(path(), v2_options).ok());
  EXPECT_EQ(runs, 1);

  // An older binary refuses the newer database.
  auto old = Database::Open(path(), v1_options);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(old.status().message().find("newer"), std::string::npos);
}

TEST_F(DatabaseTest, ConcurrentWritesShareTransactionsAndKeepTheirOwnResults) {
  auto db = Database::Open(path());
  ASSERT_TRUE(db.ok());
  MDB_dbi dbi = (*db)->dbs().images;
  constexpr int kThreads = 8, kPerThread = 200;
  std::atomic<int> ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = fmt::format("k{}", i);  // every thread races for the same keys
        Status status = (*db)->WriteSync([key, t, dbi](Txn& txn) -> Status {
          if (txn.Has(dbi, key)) return Status(Code::kAlreadyExists, "taken");
          return txn.Put(dbi, key, std::to_string(t));
        });
        (status.ok() ? ok : refused)++;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), kPerThread);
  EXPECT_EQ(refused.load(), kPerThread * (kThreads - 1));
  auto stats = (*db)->stats();
  EXPECT_EQ(stats.ops, uint64_t{kThreads * kPerThread});
  EXPECT_LT(stats.batches, stats.ops) << "concurrent writes were never batched";
}

TEST_F(DatabaseTest, AFailingLmdbWriteFailsOnlyItsOwnRequest) {
  auto db = Database::Open(path());
  ASSERT_TRUE(db.ok());
  MDB_dbi dbi = (*db)->dbs().images;
  std::vector<std::promise<Status>> results(5);
  for (int i = 0; i < 5; ++i) {
    // Request 2 writes a key longer than LMDB allows (511 bytes).
    std::string key = i == 2 ? std::string(600, 'x') : fmt::format("key{}", i);
    (*db)->Write([key, dbi](Txn& txn) { return txn.Put(dbi, key, "v"); },
                 [&results, i](Status s) { results[i].set_value(s); });
  }
  for (int i = 0; i < 5; ++i) {
    Status status = results[i].get_future().get();
    EXPECT_EQ(status.ok(), i != 2) << i << ": " << status.ToString();
  }
  EXPECT_EQ(ReadKey(**db, dbi, "key4"), "v");
}

TEST_F(DatabaseTest, TheMapGrowsWhenFull) {
  Database::Options options;
  options.env.initial_map_size = size_t{1} << 20;  // 1 MiB
  auto db = Database::Open(path(), options);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  MDB_dbi dbi = (*db)->dbs().containers;
  std::string value(64 << 10, 'v');
  for (int i = 0; i < 100; ++i) {  // ~6.4 MiB
    Status status = (*db)->WriteSync(
        [&, i](Txn& txn) { return txn.Put(dbi, fmt::format("c{:03}", i), value); });
    ASSERT_TRUE(status.ok()) << i << ": " << status.ToString();
  }
  EXPECT_GT((*db)->stats().grows, 0u);
  EXPECT_GE((*db)->env().map_size(), size_t{8} << 20);
  EXPECT_EQ(ReadKey(**db, dbi, "c099").size(), value.size());
}

TEST_F(DatabaseTest, CommittedWritesSurviveReopen) {
  {
    auto db = Database::Open(path());
    ASSERT_TRUE(db.ok());
    MDB_dbi dbi = (*db)->dbs().leases;
    ASSERT_TRUE((*db)->WriteSync([dbi](Txn& txn) { return txn.Put(dbi, "l", "1"); }).ok());
  }
  auto db = Database::Open(path());
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(ReadKey(**db, (*db)->dbs().leases, "l"), "1");
}

TEST_F(DatabaseTest, WritesAfterShutdownAreRefused) {
  auto db = Database::Open(path());
  ASSERT_TRUE(db.ok());
  (*db)->Shutdown();
  Status status = (*db)->WriteSync([](Txn&) { return Status::Ok(); });
  EXPECT_EQ(status.code(), Code::kUnavailable);
}

TEST(SchemaTest, LongNamesGetDistinctBoundedKeys) {
  std::string a(1000, 'a'), b = a;
  b.back() = 'b';
  std::string ka = ObjectKey("default", a), kb = ObjectKey("default", b);
  EXPECT_NE(ka, kb);
  EXPECT_LE(ka.size(), 511u);
  EXPECT_TRUE(ka.starts_with(NamespacePrefix("default")));
  EXPECT_EQ(ObjectKey("default", "short"), std::string("default\0short", 13));
  EXPECT_LE(
      LeaseResourceKey("default", "lease", "snapshots/overlayfs", std::string(2000, 'k')).size(),
      511u);
}

}  // namespace
}  // namespace berth::metadata
