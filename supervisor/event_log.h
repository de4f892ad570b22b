#pragma once
// EventLog: berthd's durable, bounded log of events (<root>/events/), so that a subscriber can
// replay from a sequence number after it, or berthd, was away.
//
// On disk: segment files named by the sequence of their first record, "<seq:020>.log", each a
// run of records
//
//   u32 LE payload length | u32 LE crc32c(seq, payload) | u64 LE seq | payload
//
// with strictly increasing sequence numbers. A segment is closed after `segment_entries` records
// and a new one started; whole segments are deleted from the front while the rest still holds
// `max_entries` records, so the disk holds between max_entries and max_entries + segment_entries
// records (the logical log, what Open() recovers, is exactly the newest max_entries).
//
// Crash safety: Append(records, sync=true) returns after the records are written and
// fdatasync'ed (and a new segment's directory entry fsync'ed). With sync=false it returns once
// they are written (in the page cache: they survive a crash of the process, not of the machine)
// and the caller syncs later through PrepareSync() + SyncTarget::Run(), which may run on another
// thread concurrently with the next Append (it works on a duplicate of the fd). A crash during an
// append leaves a torn tail: Open() detects it by length and checksum and truncates the segment
// there (a warning, never an error), so every record that was synced is recovered and the
// sequence continues after it.
//
// Thread-safety: none; one thread at a time (berthd hands the log to a threadpool worker for each
// batch and never runs two batches at once). Methods block on disk I/O.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::supervisor {

struct LogRecord {
  uint64_t sequence = 0;
  std::string data;  // the serialized berth.events.v1.Event
};

class EventLog {
 public:
  struct Options {
    std::string dir;  // created 0700 when missing
    uint64_t max_entries = 10000;
    uint64_t segment_entries = 0;  // 0: max(16, max_entries / 8)
  };

  // Opens the log, scanning and repairing every segment; `recovered` receives the newest
  // max_entries records in order. Errors: the directory cannot be created or read (the errno
  // status naming the path). Corrupt or torn data is repaired, not reported as an error.
  static Result<std::unique_ptr<EventLog>> Open(const Options& options,
                                                std::deque<LogRecord>* recovered);
  ~EventLog();

  // Appends `records` durably. Their sequences must be increasing and above last_sequence()
  // (INVALID_ARGUMENT otherwise, nothing written). On an I/O error (disk full...) the write that
  // failed is cut off again and the errno status is returned; records of the batch written
  // before it (into an earlier segment) may survive, and last_sequence() covers them, so a
  // caller that continues after last_sequence() never reuses a sequence number.
  Status Append(const std::vector<LogRecord>& records, bool sync = true);

  // What a later fdatasync must cover: the current segment (a duplicate fd) and the directory
  // when segments were created. Running it makes everything appended before PrepareSync()
  // durable. An empty target (nothing unsynced) does nothing.
  struct SyncTarget {
    UniqueFd file;
    std::string dir;
    bool empty() const { return !file && dir.empty(); }
    Status Run() const;  // blocking; any thread
  };
  Result<SyncTarget> PrepareSync();
  bool unsynced() const { return unsynced_ || dir_unsynced_; }

  // Sequence of the newest record ever appended (0 when the log is empty).
  uint64_t last_sequence() const { return last_sequence_; }
  // Records held on disk (>= the logical max_entries bound once it has been reached).
  uint64_t disk_entries() const { return total_entries_; }
  size_t segment_count() const { return segments_.size(); }
  const Options& options() const { return options_; }

 private:
  struct Segment {
    uint64_t first = 0;  // first sequence (also the file name)
    uint64_t count = 0;
    uint64_t size = 0;  // bytes of valid records
  };

  explicit EventLog(Options options) : options_(std::move(options)) {}
  std::string PathOf(uint64_t first) const;
  Status Load(std::deque<LogRecord>* recovered);
  Status LoadSegment(Segment& segment, std::deque<LogRecord>* recovered);
  Status StartSegment(uint64_t first);
  Status WriteBatch(const std::string& buffer, uint64_t count, uint64_t last);
  void Evict();

  Options options_;
  std::deque<Segment> segments_;
  UniqueFd current_;  // the last segment, open for appending (invalid until needed)
  uint64_t last_sequence_ = 0;
  uint64_t total_entries_ = 0;
  bool unsynced_ = false;      // records written since the last PrepareSync()
  bool dir_unsynced_ = false;  // segments created since the last PrepareSync()
};

// Encodes one record (header + payload), appending to `out`.
void EncodeLogRecord(uint64_t sequence, std::string_view data, std::string& out);

}  // namespace berth::supervisor
