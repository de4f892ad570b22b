#include "shim/cgroup_stats.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "common/fs.h"
#include "common/temp_dir.h"

namespace berth::shim {
namespace {

constexpr char kMountinfo[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 /nested /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:5 - cgroup2 cgroup2 rw\n";

constexpr char kProcCgroup[] =
    "9:name=systemd:/ns/c1\n"
    "4:memory:/nested/ns/c1\n"
    "3:pids:/ns/c1\n"
    "2:cpu,cpuacct:/ns/c1\n"
    "0::/ns/c1\n";

TEST(ShimCgroups, V1DirsFollowMountsAndTheirRoots) {
  auto dirs = CgroupV1Dirs(kMountinfo, kProcCgroup);
  EXPECT_EQ(dirs["cpu"], "/sys/fs/cgroup/cpu,cpuacct/ns/c1");
  EXPECT_EQ(dirs["cpuacct"], "/sys/fs/cgroup/cpu,cpuacct/ns/c1");
  EXPECT_EQ(dirs["memory"], "/sys/fs/cgroup/memory/ns/c1");
  EXPECT_EQ(dirs["pids"], "/sys/fs/cgroup/pids/ns/c1");
  EXPECT_EQ(dirs["name=systemd"], "/sys/fs/cgroup/systemd/ns/c1");
  EXPECT_EQ(CgroupV2Dir(kMountinfo, kProcCgroup), "/sys/fs/cgroup/unified/ns/c1");
  EXPECT_EQ(CgroupV2Dir(kMountinfo, "4:memory:/x\n"), "");
}

void Put(const std::string& dir, const std::string& name, const std::string& text) {
  ASSERT_TRUE(WriteFileAtomic(dir + "/" + name, text).ok()) << name;
}

TEST(ShimCgroups, V1Metrics) {
  auto tmp = TempDir::Create("b");
  ASSERT_TRUE(tmp.ok());
  std::string mem = tmp->Join("memory"), cpu = tmp->Join("cpu"), pids = tmp->Join("pids"),
              blkio = tmp->Join("blkio");
  for (const auto& d : {mem, cpu, pids, blkio}) ASSERT_TRUE(MakeDirs(d).ok());
  Put(mem, "memory.stat", "cache 4096\nrss 8192\ntotal_rss 16384\nhierarchical_memory_limit 99\n");
  Put(mem, "memory.usage_in_bytes", "532480\n");
  Put(mem, "memory.limit_in_bytes", "9223372036854771712\n");
  Put(mem, "memory.max_usage_in_bytes", "600000\n");
  Put(mem, "memory.memsw.usage_in_bytes", "700000\n");
  Put(mem, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  Put(cpu, "cpuacct.usage", "8523135\n");
  Put(cpu, "cpuacct.usage_percpu", "1901207 6621928 \n");
  Put(cpu, "cpuacct.stat", "user 3\nsystem 1\n");
  Put(cpu, "cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 500\n");
  Put(pids, "pids.current", "3\n");
  Put(pids, "pids.max", "max\n");
  Put(blkio, "blkio.throttle.io_service_bytes", "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
  auto m = ReadV1Metrics(
      {{"memory", mem}, {"cpu", cpu}, {"cpuacct", cpu}, {"pids", pids}, {"blkio", blkio}});
  EXPECT_EQ(m.memory().cache(), 4096u);
  EXPECT_EQ(m.memory().rss(), 8192u);
  EXPECT_EQ(m.memory().total_rss(), 16384u);
  EXPECT_EQ(m.memory().hierarchical_memory_limit(), 99u);
  EXPECT_EQ(m.memory().usage().usage(), 532480u);
  EXPECT_EQ(m.memory().usage().limit(), 9223372036854771712u);
  EXPECT_EQ(m.memory().usage().max(), 600000u);
  EXPECT_EQ(m.memory().swap().usage(), 700000u);
  EXPECT_EQ(m.memory_oom_control().oom_kill(), 2u);
  EXPECT_EQ(m.cpu().usage().total(), 8523135u);
  ASSERT_EQ(m.cpu().usage().per_cpu_size(), 2);
  EXPECT_EQ(m.cpu().usage().per_cpu(1), 6621928u);
  long ticks = ::sysconf(_SC_CLK_TCK);
  EXPECT_EQ(m.cpu().usage().user(), 3u * (1'000'000'000u / static_cast<uint64_t>(ticks)));
  EXPECT_EQ(m.cpu().throttling().throttled_periods(), 2u);
  EXPECT_EQ(m.pids().current(), 3u);
  EXPECT_EQ(m.pids().limit(), 0u);  // unlimited
  ASSERT_EQ(m.blkio().io_service_bytes_recursive_size(), 2);
  EXPECT_EQ(m.blkio().io_service_bytes_recursive(0).op(), "Read");
  EXPECT_EQ(m.blkio().io_service_bytes_recursive(0).major(), 8u);
  EXPECT_EQ(m.blkio().io_service_bytes_recursive(0).value(), 4096u);
}

TEST(ShimCgroups, V2Metrics) {
  auto tmp = TempDir::Create("b");
  ASSERT_TRUE(tmp.ok());
  std::string d = tmp->path();
  Put(d, "pids.current", "2\n");
  Put(d, "pids.max", "64\n");
  Put(d, "cpu.stat", "usage_usec 1000\nuser_usec 600\nsystem_usec 400\nnr_throttled 1\n");
  Put(d, "memory.stat", "anon 1024\nfile 2048\npgfault 7\n");
  Put(d, "memory.current", "4096\n");
  Put(d, "memory.max", "max\n");
  Put(d, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
  Put(d, "io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n");
  Put(d, "hugetlb.2MB.current", "0\n");
  Put(d, "hugetlb.2MB.max", "max\n");
  auto m = ReadV2Metrics(d);
  EXPECT_EQ(m.pids().current(), 2u);
  EXPECT_EQ(m.pids().limit(), 64u);
  EXPECT_EQ(m.cpu().usage_usec(), 1000u);
  EXPECT_EQ(m.cpu().system_usec(), 400u);
  EXPECT_EQ(m.cpu().nr_throttled(), 1u);
  EXPECT_EQ(m.memory().anon(), 1024u);
  EXPECT_EQ(m.memory().pgfault(), 7u);
  EXPECT_EQ(m.memory().usage(), 4096u);
  EXPECT_EQ(m.memory().usage_limit(), UINT64_MAX);
  EXPECT_EQ(m.memory_events().oom_kill(), 1u);
  ASSERT_EQ(m.io().usage_size(), 1);
  EXPECT_EQ(m.io().usage(0).wbytes(), 200u);
  ASSERT_EQ(m.hugetlb_size(), 1);
  EXPECT_EQ(m.hugetlb(0).pagesize(), "2MB");
}

TEST(ShimCgroups, StatsOfThisProcess) {
  auto any = ReadCgroupStats(::getpid());
  ASSERT_TRUE(any.ok()) << any.status().ToString();
  EXPECT_EQ(any->type_url(), DetectCgroupMode() == CgroupMode::kV2
                                 ? "io.containerd.cgroups.v2.Metrics"
                                 : "io.containerd.cgroups.v1.Metrics");
  EXPECT_EQ(ReadCgroupStats(0x3ffffff).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace berth::shim
