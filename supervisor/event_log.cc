#include "supervisor/event_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <isa-l/crc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/fs.h"

namespace berth::supervisor {
namespace {

constexpr size_t kRecordHeader = 16;
constexpr uint32_t kMaxRecordPayload = 8u << 20;  // well above the 4 MiB frame limit

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}
uint64_t GetLe(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint32_t RecordCrc(const char* seq_le, std::string_view payload) {
  uint32_t crc =
      crc32_iscsi(reinterpret_cast<unsigned char*>(const_cast<char*>(seq_le)), 8, 0xFFFFFFFFu);
  return crc32_iscsi(reinterpret_cast<unsigned char*>(const_cast<char*>(payload.data())),
                     static_cast<int>(payload.size()), crc);
}

// "00000000000000000042.log" -> 42
bool ParseSegmentName(const char* name, uint64_t* first) {
  std::string_view n(name);
  if (n.size() != 24 || !n.ends_with(".log")) return false;
  uint64_t v = 0;
  for (char c : n.substr(0, 20)) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *first = v;
  return true;
}

Result<std::vector<uint64_t>> ListSegments(const std::string& dir) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenDirectory(dir));
  DIR* d = ::fdopendir(fd.get());
  if (d == nullptr) return ErrnoStatus(errno, "opendir " + dir);
  fd.release();
  std::vector<uint64_t> firsts;
  while (dirent* entry = ::readdir(d)) {
    uint64_t first;
    if (ParseSegmentName(entry->d_name, &first)) firsts.push_back(first);
  }
  ::closedir(d);
  std::sort(firsts.begin(), firsts.end());
  return firsts;
}

}  // namespace

void EncodeLogRecord(uint64_t sequence, std::string_view data, std::string& out) {
  std::string seq;
  PutU64(seq, sequence);
  PutU32(out, static_cast<uint32_t>(data.size()));
  PutU32(out, RecordCrc(seq.data(), data));
  out += seq;
  out.append(data);
}

Result<std::unique_ptr<EventLog>> EventLog::Open(const Options& options,
                                                 std::deque<LogRecord>* recovered) {
  Options o = options;
  if (o.max_entries == 0) o.max_entries = 1;
  if (o.segment_entries == 0) o.segment_entries = std::max<uint64_t>(16, o.max_entries / 8);
  std::unique_ptr<EventLog> log(new EventLog(std::move(o)));
  BERTH_RETURN_IF_ERROR(MakeDirs(log->options_.dir, 0700));
  std::deque<LogRecord> scratch;
  BERTH_RETURN_IF_ERROR(log->Load(recovered != nullptr ? recovered : &scratch));
  return log;
}

EventLog::~EventLog() = default;

std::string EventLog::PathOf(uint64_t first) const {
  return fmt::format("{}/{:020}.log", options_.dir, first);
}

Status EventLog::Load(std::deque<LogRecord>* recovered) {
  BERTH_ASSIGN_OR_RETURN(std::vector<uint64_t> firsts, ListSegments(options_.dir));
  for (uint64_t first : firsts) {
    Segment segment;
    segment.first = first;
    BERTH_RETURN_IF_ERROR(LoadSegment(segment, recovered));
    if (segment.count == 0) {
      // Nothing valid in it (created just before a crash, or wholly corrupt).
      ::unlink(PathOf(first).c_str());
      continue;
    }
    total_entries_ += segment.count;
    segments_.push_back(segment);
  }
  Evict();
  if (!segments_.empty() && segments_.back().count < options_.segment_entries) {
    std::string path = PathOf(segments_.back().first);
    current_.reset(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    if (!current_) return ErrnoStatus(errno, "open " + path);
  }
  return Status::Ok();
}

// Reads one segment, keeping its records in `recovered` (bounded to max_entries), and cuts the
// file at the first record that is torn, corrupt or out of order.
Status EventLog::LoadSegment(Segment& segment, std::deque<LogRecord>* recovered) {
  const uint64_t named = segment.first;
  std::string path = PathOf(named);
  BERTH_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  size_t pos = 0;
  std::string problem;
  while (pos < bytes.size()) {
    if (bytes.size() - pos < kRecordHeader) {
      problem = "torn record header";
      break;
    }
    const char* h = bytes.data() + pos;
    uint64_t length = GetLe(h, 4);
    uint64_t seq = GetLe(h + 8, 8);
    if (length > kMaxRecordPayload) {
      problem = fmt::format("record length {} out of range", length);
      break;
    }
    if (bytes.size() - pos - kRecordHeader < length) {
      problem = "torn record";
      break;
    }
    std::string_view payload(h + kRecordHeader, length);
    if (GetLe(h + 4, 4) != RecordCrc(h + 8, payload)) {
      problem = "checksum mismatch";
      break;
    }
    if (seq <= last_sequence_) {
      problem = fmt::format("sequence {} not above {}", seq, last_sequence_);
      break;
    }
    last_sequence_ = seq;
    if (segment.count == 0) segment.first = seq;
    segment.count++;
    recovered->push_back(LogRecord{seq, std::string(payload)});
    if (recovered->size() > options_.max_entries) recovered->pop_front();
    pos += kRecordHeader + length;
  }
  segment.size = pos;
  if (pos < bytes.size()) {
    spdlog::warn("event log: cutting {} at offset {} ({}; {} bytes dropped)", path, pos, problem,
                 bytes.size() - pos);
    if (::truncate(path.c_str(), static_cast<off_t>(pos)) != 0) {
      return ErrnoStatus(errno, "truncate " + path);
    }
  }
  if (segment.count > 0 && segment.first != named) {
    // Named after a record that was cut: rename so the name matches the first record again.
    std::string fixed = PathOf(segment.first);
    if (::rename(path.c_str(), fixed.c_str()) != 0) return ErrnoStatus(errno, "rename " + path);
  }
  return Status::Ok();
}

Status EventLog::StartSegment(uint64_t first) {
  if (current_) {
    if (::fdatasync(current_.get()) != 0) return ErrnoStatus(errno, "fdatasync event log");
    current_.reset();
  }
  std::string path = PathOf(first);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600));
  if (!fd) return ErrnoStatus(errno, "create " + path);
  current_ = std::move(fd);
  segments_.push_back(Segment{first, 0, 0});
  return Status::Ok();
}

// Writes `buffer` (holding `count` records, the last one `last`) to the current segment; on
// failure cuts it back.
Status EventLog::WriteBatch(const std::string& buffer, uint64_t count, uint64_t last) {
  if (buffer.empty()) return Status::Ok();
  Segment& segment = segments_.back();
  Status written = WriteAll(current_.get(), buffer, "event log segment");
  if (!written.ok()) {
    if (::ftruncate(current_.get(), static_cast<off_t>(segment.size)) != 0) {
      spdlog::error("event log: cannot cut back a failed write: {}", std::strerror(errno));
    }
    return written;
  }
  segment.size += buffer.size();
  segment.count += count;
  total_entries_ += count;
  last_sequence_ = last;  // written: never handed out again, even if a later step fails
  return Status::Ok();
}

Status EventLog::Append(const std::vector<LogRecord>& records, bool sync) {
  uint64_t previous = last_sequence_;
  for (const LogRecord& r : records) {
    if (r.sequence <= previous) {
      return Error(Code::kInvalidArgument, "event log: sequence {} not above {}", r.sequence,
                   previous);
    }
    if (r.data.size() > kMaxRecordPayload) {
      return Error(Code::kInvalidArgument, "event log: record of {} bytes is too large",
                   r.data.size());
    }
    previous = r.sequence;
  }
  bool new_segment = false;
  std::string buffer;
  uint64_t in_buffer = 0;
  uint64_t buffer_last = 0;
  for (const LogRecord& r : records) {
    if (!current_ || segments_.back().count + in_buffer >= options_.segment_entries) {
      BERTH_RETURN_IF_ERROR(WriteBatch(buffer, in_buffer, buffer_last));
      buffer.clear();
      in_buffer = 0;
      BERTH_RETURN_IF_ERROR(StartSegment(r.sequence));
      new_segment = true;
    }
    EncodeLogRecord(r.sequence, r.data, buffer);
    in_buffer++;
    buffer_last = r.sequence;
  }
  BERTH_RETURN_IF_ERROR(WriteBatch(buffer, in_buffer, buffer_last));
  if (!records.empty()) unsynced_ = true;
  if (new_segment) dir_unsynced_ = true;
  Evict();
  if (!sync) return Status::Ok();
  BERTH_ASSIGN_OR_RETURN(SyncTarget target, PrepareSync());
  return target.Run();
}

Result<EventLog::SyncTarget> EventLog::PrepareSync() {
  SyncTarget target;
  if (unsynced_ && current_) {
    target.file.reset(::fcntl(current_.get(), F_DUPFD_CLOEXEC, 0));
    if (!target.file) return ErrnoStatus(errno, "dup event log fd");
  }
  if (dir_unsynced_) target.dir = options_.dir;
  unsynced_ = false;
  dir_unsynced_ = false;
  return target;
}

Status EventLog::SyncTarget::Run() const {
  if (file && ::fdatasync(file.get()) != 0) return ErrnoStatus(errno, "fdatasync event log");
  if (!dir.empty()) BERTH_RETURN_IF_ERROR(FsyncDir(dir));
  return Status::Ok();
}

// Deletes whole segments from the front while the others still hold max_entries records.
void EventLog::Evict() {
  while (segments_.size() > 1 && total_entries_ - segments_.front().count >= options_.max_entries) {
    std::string path = PathOf(segments_.front().first);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      spdlog::warn("event log: cannot delete {}: {}", path, std::strerror(errno));
      return;
    }
    total_entries_ -= segments_.front().count;
    segments_.pop_front();
  }
}

}  // namespace berth::supervisor
