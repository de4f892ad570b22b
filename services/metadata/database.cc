#include "services/metadata/database.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <future>

namespace berth::metadata {

namespace {
std::string EncodeVersion(uint32_t version) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((version >> (8 * i)) & 0xff);
  return out;
}

Result<uint32_t> DecodeVersion(std::string_view bytes) {
  if (bytes.size() != 4) {
    return Status(Code::kDataLoss, "metadata schema version record is malformed");
  }
  uint32_t version = 0;
  for (int i = 0; i < 4; ++i) version |= uint32_t{static_cast<uint8_t>(bytes[i])} << (8 * i);
  return version;
}
}  // namespace

Result<std::unique_ptr<Database>> Database::Open(const std::string& dir, const Options& options) {
  BERTH_ASSIGN_OR_RETURN(auto env, Env::Open(dir, options.env));
  std::unique_ptr<Database> db(new Database(std::move(env), options));
  BERTH_RETURN_IF_ERROR(db->Initialize());
  db->writer_ = std::thread([raw = db.get()] { raw->WriterLoop(); });
  return db;
}

Database::Database(std::unique_ptr<Env> env, Options options)
    : env_(std::move(env)), options_(std::move(options)) {}

Database::~Database() { Shutdown(); }

void Database::Shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

// Opens the named databases and brings the schema to options_.schema_version.
Status Database::Initialize() {
  const auto& migrations = options_.migrations ? *options_.migrations : Migrations();
  for (int attempt = 0;; ++attempt) {
    BERTH_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(*env_, false));
    BERTH_ASSIGN_OR_RETURN(dbs_.meta, txn.OpenDb(kDbMeta, true));
    BERTH_ASSIGN_OR_RETURN(dbs_.namespaces, txn.OpenDb(kDbNamespaces, true));
    BERTH_ASSIGN_OR_RETURN(dbs_.images, txn.OpenDb(kDbImages, true));
    BERTH_ASSIGN_OR_RETURN(dbs_.containers, txn.OpenDb(kDbContainers, true));
    BERTH_ASSIGN_OR_RETURN(dbs_.leases, txn.OpenDb(kDbLeases, true));
    BERTH_ASSIGN_OR_RETURN(dbs_.lease_resources, txn.OpenDb(kDbLeaseResources, true));
    uint32_t version = 0;
    std::string_view stored;
    if (txn.Get(dbs_.meta, kSchemaVersionKey, &stored).ok()) {
      BERTH_ASSIGN_OR_RETURN(version, DecodeVersion(stored));
    }
    if (version > options_.schema_version) {
      return Error(Code::kFailedPrecondition,
                   "metadata database {} has schema v{}, newer than this berth-metadata "
                   "(v{}): run a newer berth-metadata",
                   env_->dir(), version, options_.schema_version);
    }
    uint32_t from = version;
    for (const auto& step : migrations) {
      if (step.from != version || version >= options_.schema_version) continue;
      Status status = step.run(txn);
      if (!status.ok()) return status.Annotate(fmt::format("metadata migration v{}", step.from));
      ++version;
    }
    if (version != options_.schema_version) {
      return Error(Code::kInternal, "no migration path from metadata schema v{} to v{}", version,
                   options_.schema_version);
    }
    (void)txn.Put(dbs_.meta, kSchemaVersionKey, EncodeVersion(version));
    if (txn.failure_code() == MDB_MAP_FULL && attempt < 8) {
      txn.Abort();
      BERTH_RETURN_IF_ERROR(env_->Grow());
      continue;
    }
    if (!txn.failure().ok()) return txn.failure();
    BERTH_RETURN_IF_ERROR(txn.Commit());
    if (from == 0) {
      spdlog::debug("metadata database created schema=v{}", version);
    } else if (from != version) {
      spdlog::info("metadata schema migrated from=v{} to=v{}", from, version);
    }
    schema_version_ = version;
    return Status::Ok();
  }
}

void Database::Write(WriteOp op, WriteDone done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      if (done) done(Status(Code::kUnavailable, "berth-metadata is stopping"));
      return;
    }
    queue_.push_back({std::move(op), std::move(done)});
  }
  cv_.notify_one();
}

Status Database::WriteSync(WriteOp op) {
  std::promise<Status> promise;
  Write(std::move(op), [&promise](Status status) { promise.set_value(std::move(status)); });
  return promise.get_future().get();
}

Database::Stats Database::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Database::WriterLoop() {
  std::vector<Pending> batch;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      stats_.batches++;
      stats_.ops += batch.size();
    }
    RunBatch(batch);
    batch.clear();
  }
}

void Database::RunBatch(std::vector<Pending>& batch) {
  auto finish_all = [&](const Status& status) {
    for (auto& pending : batch) {
      if (pending.done) pending.done(status);
    }
  };
  for (int grows = 0;; ++grows) {
    auto txn = Txn::Begin(*env_, false);
    if (!txn.ok()) return finish_all(txn.status());
    std::vector<Status> results;
    results.reserve(batch.size());
    for (auto& pending : batch) {
      results.push_back(pending.op(*txn));
      if (!txn->failure().ok()) break;
    }
    int rc = txn->failure_code();
    Status failure = txn->failure();
    if (failure.ok()) {
      failure = txn->Commit();
      if (failure.ok()) {
        for (size_t i = 0; i < batch.size(); ++i) {
          if (batch[i].done) batch[i].done(results[i]);
        }
        return;
      }
      rc = failure.code() == Code::kResourceExhausted ? MDB_MAP_FULL : -1;
    }
    txn->Abort();
    if (rc == MDB_MAP_FULL && grows < 16) {
      Status grown = env_->Grow();
      if (!grown.ok()) return finish_all(grown);
      std::lock_guard lock(mutex_);
      stats_.grows++;
      spdlog::info("metadata map grown size={}", env_->map_size());
      continue;
    }
    if (batch.size() > 1) {
      // Find the culprit: every op alone.
      for (auto& pending : batch) {
        std::vector<Pending> one;
        one.push_back(std::move(pending));
        RunBatch(one);
      }
      return;
    }
    return finish_all(failure);
  }
}

}  // namespace berth::metadata
