// Reading cgroup v1 and v2 statistics files into containerd's metrics messages.
#include "shim/cgroup_stats.h"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <limits>
#include <vector>

#include "common/fs.h"

namespace berth::shim {
namespace {

namespace v1 = io::containerd::cgroups::v1;
namespace v2 = io::containerd::cgroups::v2;

bool ParseU64(std::string_view text, uint64_t* out) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text == "max") {
    *out = std::numeric_limits<uint64_t>::max();
    return true;
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

// The number in dir/name; false when missing or not a number.
bool ReadU64(const std::string& dir, std::string_view name, uint64_t* out) {
  auto text = ReadFile(dir + "/" + std::string(name));
  return text.ok() && ParseU64(*text, out);
}

template <typename Msg>
void SetU64(const std::string& dir, std::string_view name, Msg* msg, void (Msg::*set)(uint64_t)) {
  uint64_t v;
  if (ReadU64(dir, name, &v)) (msg->*set)(v);
}

// Calls fn(key, value) for each "key value" line of dir/name.
template <typename Fn>
void ForEachKeyValue(const std::string& dir, std::string_view name, Fn fn) {
  auto text = ReadFile(dir + "/" + std::string(name));
  if (!text.ok()) return;
  std::string_view rest = *text;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    size_t space = line.find(' ');
    uint64_t value;
    if (space != std::string_view::npos && ParseU64(line.substr(space + 1), &value)) {
      fn(line.substr(0, space), value);
    }
  }
}

template <typename Msg>
struct Field {
  std::string_view key;
  void (Msg::*set)(uint64_t);
};

template <typename Msg, size_t N>
void FillFromKeys(const std::string& dir, std::string_view file, const Field<Msg> (&fields)[N],
                  Msg* msg) {
  ForEachKeyValue(dir, file, [&](std::string_view key, uint64_t value) {
    for (const auto& f : fields) {
      if (f.key == key) {
        (msg->*(f.set))(value);
        return;
      }
    }
  });
}

const Field<v1::MemoryStat> kV1Memory[] = {
    {"cache", &v1::MemoryStat::set_cache},
    {"rss", &v1::MemoryStat::set_rss},
    {"rss_huge", &v1::MemoryStat::set_rss_huge},
    {"mapped_file", &v1::MemoryStat::set_mapped_file},
    {"dirty", &v1::MemoryStat::set_dirty},
    {"writeback", &v1::MemoryStat::set_writeback},
    {"pgpgin", &v1::MemoryStat::set_pg_pg_in},
    {"pgpgout", &v1::MemoryStat::set_pg_pg_out},
    {"pgfault", &v1::MemoryStat::set_pg_fault},
    {"pgmajfault", &v1::MemoryStat::set_pg_maj_fault},
    {"inactive_anon", &v1::MemoryStat::set_inactive_anon},
    {"active_anon", &v1::MemoryStat::set_active_anon},
    {"inactive_file", &v1::MemoryStat::set_inactive_file},
    {"active_file", &v1::MemoryStat::set_active_file},
    {"unevictable", &v1::MemoryStat::set_unevictable},
    {"hierarchical_memory_limit", &v1::MemoryStat::set_hierarchical_memory_limit},
    {"hierarchical_memsw_limit", &v1::MemoryStat::set_hierarchical_swap_limit},
    {"total_cache", &v1::MemoryStat::set_total_cache},
    {"total_rss", &v1::MemoryStat::set_total_rss},
    {"total_rss_huge", &v1::MemoryStat::set_total_rss_huge},
    {"total_mapped_file", &v1::MemoryStat::set_total_mapped_file},
    {"total_dirty", &v1::MemoryStat::set_total_dirty},
    {"total_writeback", &v1::MemoryStat::set_total_writeback},
    {"total_pgpgin", &v1::MemoryStat::set_total_pg_pg_in},
    {"total_pgpgout", &v1::MemoryStat::set_total_pg_pg_out},
    {"total_pgfault", &v1::MemoryStat::set_total_pg_fault},
    {"total_pgmajfault", &v1::MemoryStat::set_total_pg_maj_fault},
    {"total_inactive_anon", &v1::MemoryStat::set_total_inactive_anon},
    {"total_active_anon", &v1::MemoryStat::set_total_active_anon},
    {"total_inactive_file", &v1::MemoryStat::set_total_inactive_file},
    {"total_active_file", &v1::MemoryStat::set_total_active_file},
    {"total_unevictable", &v1::MemoryStat::set_total_unevictable},
};

const Field<v2::MemoryStat> kV2Memory[] = {
    {"anon", &v2::MemoryStat::set_anon},
    {"file", &v2::MemoryStat::set_file},
    {"kernel_stack", &v2::MemoryStat::set_kernel_stack},
    {"slab", &v2::MemoryStat::set_slab},
    {"sock", &v2::MemoryStat::set_sock},
    {"shmem", &v2::MemoryStat::set_shmem},
    {"file_mapped", &v2::MemoryStat::set_file_mapped},
    {"file_dirty", &v2::MemoryStat::set_file_dirty},
    {"file_writeback", &v2::MemoryStat::set_file_writeback},
    {"anon_thp", &v2::MemoryStat::set_anon_thp},
    {"inactive_anon", &v2::MemoryStat::set_inactive_anon},
    {"active_anon", &v2::MemoryStat::set_active_anon},
    {"inactive_file", &v2::MemoryStat::set_inactive_file},
    {"active_file", &v2::MemoryStat::set_active_file},
    {"unevictable", &v2::MemoryStat::set_unevictable},
    {"slab_reclaimable", &v2::MemoryStat::set_slab_reclaimable},
    {"slab_unreclaimable", &v2::MemoryStat::set_slab_unreclaimable},
    {"pgfault", &v2::MemoryStat::set_pgfault},
    {"pgmajfault", &v2::MemoryStat::set_pgmajfault},
    {"workingset_refault", &v2::MemoryStat::set_workingset_refault},
    {"workingset_activate", &v2::MemoryStat::set_workingset_activate},
    {"workingset_nodereclaim", &v2::MemoryStat::set_workingset_nodereclaim},
    {"pgrefill", &v2::MemoryStat::set_pgrefill},
    {"pgscan", &v2::MemoryStat::set_pgscan},
    {"pgsteal", &v2::MemoryStat::set_pgsteal},
    {"pgactivate", &v2::MemoryStat::set_pgactivate},
    {"pgdeactivate", &v2::MemoryStat::set_pgdeactivate},
    {"pglazyfree", &v2::MemoryStat::set_pglazyfree},
    {"pglazyfreed", &v2::MemoryStat::set_pglazyfreed},
    {"thp_fault_alloc", &v2::MemoryStat::set_thp_fault_alloc},
    {"thp_collapse_alloc", &v2::MemoryStat::set_thp_collapse_alloc},
};

void ReadMemoryEntry(const std::string& dir, const std::string& prefix, v1::MemoryEntry* e) {
  SetU64(dir, prefix + "limit_in_bytes", e, &v1::MemoryEntry::set_limit);
  SetU64(dir, prefix + "usage_in_bytes", e, &v1::MemoryEntry::set_usage);
  SetU64(dir, prefix + "max_usage_in_bytes", e, &v1::MemoryEntry::set_max);
  SetU64(dir, prefix + "failcnt", e, &v1::MemoryEntry::set_failcnt);
}

void ReadV1Memory(const std::string& dir, v1::Metrics* m) {
  auto* mem = m->mutable_memory();
  FillFromKeys(dir, "memory.stat", kV1Memory, mem);
  ReadMemoryEntry(dir, "memory.", mem->mutable_usage());
  ReadMemoryEntry(dir, "memory.memsw.", mem->mutable_swap());
  ReadMemoryEntry(dir, "memory.kmem.", mem->mutable_kernel());
  ReadMemoryEntry(dir, "memory.kmem.tcp.", mem->mutable_kernel_tcp());
  auto* oom = m->mutable_memory_oom_control();
  ForEachKeyValue(dir, "memory.oom_control", [oom](std::string_view key, uint64_t v) {
    if (key == "oom_kill_disable") oom->set_oom_kill_disable(v);
    if (key == "under_oom") oom->set_under_oom(v);
    if (key == "oom_kill") oom->set_oom_kill(v);
  });
}

void ReadV1Cpu(const std::string& cpuacct, const std::string& cpu, v1::Metrics* m) {
  auto* usage = m->mutable_cpu()->mutable_usage();
  if (!cpuacct.empty()) {
    SetU64(cpuacct, "cpuacct.usage", usage, &v1::CPUUsage::set_total);
    static const uint64_t kTicks = static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
    ForEachKeyValue(cpuacct, "cpuacct.stat", [usage](std::string_view key, uint64_t v) {
      uint64_t ns = v * (1'000'000'000 / (kTicks ? kTicks : 100));
      if (key == "user") usage->set_user(ns);
      if (key == "system") usage->set_kernel(ns);
    });
    if (auto per_cpu = ReadFile(cpuacct + "/cpuacct.usage_percpu"); per_cpu.ok()) {
      std::string_view rest = *per_cpu;
      while (!rest.empty()) {
        size_t sp = rest.find_first_of(" \n");
        uint64_t v;
        if (ParseU64(rest.substr(0, sp), &v)) usage->add_per_cpu(v);
        rest.remove_prefix(sp == std::string_view::npos ? rest.size() : sp + 1);
      }
    }
  }
  if (!cpu.empty()) {
    auto* throttle = m->mutable_cpu()->mutable_throttling();
    ForEachKeyValue(cpu, "cpu.stat", [throttle](std::string_view key, uint64_t v) {
      if (key == "nr_periods") throttle->set_periods(v);
      if (key == "nr_throttled") throttle->set_throttled_periods(v);
      if (key == "throttled_time") throttle->set_throttled_time(v);
    });
  }
}

// "8:0 Read 4096" lines (the "Total N" line is skipped).
void ReadBlkio(const std::string& dir, const std::string& name,
               google::protobuf::RepeatedPtrField<v1::BlkIOEntry>* out) {
  auto text = ReadFile(dir + "/" + name);
  if (!text.ok()) return;
  std::string_view rest = *text;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    size_t s1 = line.find(' '), colon = line.find(':');
    if (s1 == std::string_view::npos || colon == std::string_view::npos || colon > s1) continue;
    size_t s2 = line.find(' ', s1 + 1);
    uint64_t major, minor, value;
    std::string_view op = s2 == std::string_view::npos ? "" : line.substr(s1 + 1, s2 - s1 - 1);
    std::string_view value_text =
        s2 == std::string_view::npos ? line.substr(s1 + 1) : line.substr(s2 + 1);
    if (!ParseU64(line.substr(0, colon), &major) ||
        !ParseU64(line.substr(colon + 1, s1 - colon - 1), &minor) ||
        !ParseU64(value_text, &value)) {
      continue;
    }
    auto* e = out->Add();
    e->set_major(major);
    e->set_minor(minor);
    e->set_op(std::string(op));
    e->set_value(value);
  }
}

void ReadV1Blkio(const std::string& dir, v1::Metrics* m) {
  auto* b = m->mutable_blkio();
  ReadBlkio(dir, "blkio.io_service_bytes_recursive", b->mutable_io_service_bytes_recursive());
  ReadBlkio(dir, "blkio.io_serviced_recursive", b->mutable_io_serviced_recursive());
  ReadBlkio(dir, "blkio.io_queued_recursive", b->mutable_io_queued_recursive());
  ReadBlkio(dir, "blkio.io_service_time_recursive", b->mutable_io_service_time_recursive());
  ReadBlkio(dir, "blkio.io_wait_time_recursive", b->mutable_io_wait_time_recursive());
  ReadBlkio(dir, "blkio.io_merged_recursive", b->mutable_io_merged_recursive());
  ReadBlkio(dir, "blkio.time_recursive", b->mutable_io_time_recursive());
  ReadBlkio(dir, "blkio.sectors_recursive", b->mutable_sectors_recursive());
  if (b->io_service_bytes_recursive_size() == 0) {  // CFQ absent: the throttle counters
    ReadBlkio(dir, "blkio.throttle.io_service_bytes", b->mutable_io_service_bytes_recursive());
    ReadBlkio(dir, "blkio.throttle.io_serviced", b->mutable_io_serviced_recursive());
  }
}

std::string DirOf(const std::map<std::string, std::string>& dirs, const std::string& name) {
  auto it = dirs.find(name);
  return it == dirs.end() ? std::string() : it->second;
}

void ReadV2Io(const std::string& dir, v2::Metrics* m) {
  auto text = ReadFile(dir + "/io.stat");
  if (!text.ok()) return;
  std::string_view rest = *text;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    size_t colon = line.find(':'), sp = line.find(' ');
    uint64_t major, minor;
    if (colon == std::string_view::npos || sp == std::string_view::npos || colon > sp ||
        !ParseU64(line.substr(0, colon), &major) ||
        !ParseU64(line.substr(colon + 1, sp - colon - 1), &minor)) {
      continue;
    }
    auto* e = m->mutable_io()->add_usage();
    e->set_major(major);
    e->set_minor(minor);
    std::string_view kvs = line.substr(sp + 1);
    while (!kvs.empty()) {
      size_t next = kvs.find(' ');
      std::string_view kv = kvs.substr(0, next);
      kvs.remove_prefix(next == std::string_view::npos ? kvs.size() : next + 1);
      size_t eq = kv.find('=');
      uint64_t v;
      if (eq == std::string_view::npos || !ParseU64(kv.substr(eq + 1), &v)) continue;
      std::string_view key = kv.substr(0, eq);
      if (key == "rbytes") e->set_rbytes(v);
      if (key == "wbytes") e->set_wbytes(v);
      if (key == "rios") e->set_rios(v);
      if (key == "wios") e->set_wios(v);
    }
  }
}

void ReadV2Hugetlb(const std::string& dir, v2::Metrics* m) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> sizes;
  while (dirent* entry = ::readdir(d)) {
    std::string_view name = entry->d_name;  // hugetlb.2MB.current
    constexpr std::string_view kPrefix = "hugetlb.", kSuffix = ".current";
    if (name.size() > kPrefix.size() + kSuffix.size() &&
        name.substr(0, kPrefix.size()) == kPrefix &&
        name.substr(name.size() - kSuffix.size()) == kSuffix) {
      sizes.emplace_back(
          name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size()));
    }
  }
  ::closedir(d);
  for (const auto& size : sizes) {
    auto* h = m->add_hugetlb();
    h->set_pagesize(size);
    SetU64(dir, "hugetlb." + size + ".current", h, &v2::HugeTlbStat::set_current);
    SetU64(dir, "hugetlb." + size + ".max", h, &v2::HugeTlbStat::set_max);
  }
}

}  // namespace

v1::Metrics ReadV1Metrics(const std::map<std::string, std::string>& dirs) {
  v1::Metrics m;
  if (auto pids = DirOf(dirs, "pids"); !pids.empty()) {
    SetU64(pids, "pids.current", m.mutable_pids(), &v1::PidsStat::set_current);
    uint64_t limit;
    if (ReadU64(pids, "pids.max", &limit) && limit != std::numeric_limits<uint64_t>::max()) {
      m.mutable_pids()->set_limit(limit);
    }
  }
  std::string cpuacct = DirOf(dirs, "cpuacct"), cpu = DirOf(dirs, "cpu");
  if (!cpuacct.empty() || !cpu.empty()) ReadV1Cpu(cpuacct, cpu, &m);
  if (auto memory = DirOf(dirs, "memory"); !memory.empty()) ReadV1Memory(memory, &m);
  if (auto blkio = DirOf(dirs, "blkio"); !blkio.empty()) ReadV1Blkio(blkio, &m);
  return m;
}

v2::Metrics ReadV2Metrics(const std::string& dir) {
  v2::Metrics m;
  if (dir.empty()) return m;
  SetU64(dir, "pids.current", m.mutable_pids(), &v2::PidsStat::set_current);
  uint64_t limit;
  if (ReadU64(dir, "pids.max", &limit) && limit != std::numeric_limits<uint64_t>::max()) {
    m.mutable_pids()->set_limit(limit);
  }
  auto* cpu = m.mutable_cpu();
  ForEachKeyValue(dir, "cpu.stat", [cpu](std::string_view key, uint64_t v) {
    if (key == "usage_usec") cpu->set_usage_usec(v);
    if (key == "user_usec") cpu->set_user_usec(v);
    if (key == "system_usec") cpu->set_system_usec(v);
    if (key == "nr_periods") cpu->set_nr_periods(v);
    if (key == "nr_throttled") cpu->set_nr_throttled(v);
    if (key == "throttled_usec") cpu->set_throttled_usec(v);
  });
  auto* mem = m.mutable_memory();
  FillFromKeys(dir, "memory.stat", kV2Memory, mem);
  SetU64(dir, "memory.current", mem, &v2::MemoryStat::set_usage);
  SetU64(dir, "memory.max", mem, &v2::MemoryStat::set_usage_limit);
  SetU64(dir, "memory.swap.current", mem, &v2::MemoryStat::set_swap_usage);
  SetU64(dir, "memory.swap.max", mem, &v2::MemoryStat::set_swap_limit);
  SetU64(dir, "memory.peak", mem, &v2::MemoryStat::set_max_usage);
  auto* events = m.mutable_memory_events();
  ForEachKeyValue(dir, "memory.events", [events](std::string_view key, uint64_t v) {
    if (key == "low") events->set_low(v);
    if (key == "high") events->set_high(v);
    if (key == "max") events->set_max(v);
    if (key == "oom") events->set_oom(v);
    if (key == "oom_kill") events->set_oom_kill(v);
  });
  ReadV2Io(dir, &m);
  ReadV2Hugetlb(dir, &m);
  return m;
}

}  // namespace berth::shim
