// The Prometheus text format, and the process_* families read from /proc/self.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/metrics.h"

namespace berth::metrics {
namespace {

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

// HELP text escapes backslash and newline; label values also the double quote.
std::string Escape(const std::string& text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string LabelText(const Labels& labels, const std::string& extra_name = {},
                      const std::string& extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += name + "=\"" + Escape(value, true) + "\"";
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name + "=\"" + extra_value + "\"";
  }
  return out + "}";
}

const char* TypeName(Type type) {
  switch (type) {
    case Type::kCounter:
      return "counter";
    case Type::kHistogram:
      return "histogram";
    case Type::kGauge:
      break;
  }
  return "gauge";
}

void RenderFamily(const Family& f, std::string& out) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, Escape(f.help, false), f.name,
                     TypeName(f.type));
  for (const Sample& s : f.samples) {
    if (f.type != Type::kHistogram) {
      out += fmt::format("{}{} {}\n", f.name, LabelText(s.labels), FormatValue(s.value));
      continue;
    }
    for (const auto& [bound, count] : s.buckets) {
      out += fmt::format("{}_bucket{} {}\n", f.name, LabelText(s.labels, "le", FormatValue(bound)),
                         count);
    }
    out += fmt::format("{}_bucket{} {}\n", f.name, LabelText(s.labels, "le", "+Inf"), s.count);
    out += fmt::format("{}_sum{} {}\n", f.name, LabelText(s.labels), FormatValue(s.sum));
    out += fmt::format("{}_count{} {}\n", f.name, LabelText(s.labels), s.count);
  }
}

Family Gauge1(std::string name, std::string help, double value, Type type = Type::kGauge) {
  return Family{std::move(name), std::move(help), type, {Sample{{}, value, {}, 0, 0}}};
}

}  // namespace

std::string RenderText(const Families& families) {
  std::vector<const Family*> sorted;
  for (const Family& f : families) {
    if (!f.samples.empty()) sorted.push_back(&f);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const Family* a, const Family* b) { return a->name < b->name; });
  std::string out;
  for (const Family* f : sorted) RenderFamily(*f, out);
  return out;
}

Families ProcessFamilies() {
  Families out;
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start at field 3, the state.
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return out;
  std::istringstream fields(stat.substr(paren + 2));
  std::vector<std::string> f;
  for (std::string field; fields >> field;) f.push_back(field);
  if (f.size() < 22) return out;
  double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  // f[0] is field 3: utime is field 14, stime 15, starttime 22, vsize 23, rss 24.
  double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
  double boot = 0;
  std::ifstream proc_stat("/proc/stat");
  for (std::string line; std::getline(proc_stat, line);) {
    if (line.rfind("btime ", 0) == 0) boot = std::stod(line.substr(6));
  }
  out.push_back(Gauge1("process_cpu_seconds_total", "User and system CPU time spent in seconds.",
                       cpu, Type::kCounter));
  out.push_back(Gauge1("process_start_time_seconds",
                       "Start time of the process since unix epoch in seconds.",
                       boot + std::stod(f[19]) / ticks));
  out.push_back(
      Gauge1("process_virtual_memory_bytes", "Virtual memory size in bytes.", std::stod(f[20])));
  out.push_back(Gauge1("process_resident_memory_bytes", "Resident memory size in bytes.",
                       std::stod(f[21]) * page));
  double fds = 0;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(dir)) fds += e->d_name[0] != '.';
    ::closedir(dir);
    fds -= 1;  // the directory stream's own fd
  }
  out.push_back(Gauge1("process_open_fds", "Number of open file descriptors.", fds));
  struct rlimit limit {};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  out.push_back(Gauge1("process_max_fds", "Maximum number of open file descriptors.",
                       static_cast<double>(limit.rlim_cur)));
  return out;
}

}  // namespace berth::metrics
