#include "common/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace berth {
namespace {

// "%*" in a pattern: the syslog priority prefix journald understands ("<7>" for debug...).
class SyslogPriorityFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr std::string_view kPrefixes[] = {"<7>", "<7>", "<6>", "<4>", "<3>", "<2>", ""};
    auto index = static_cast<size_t>(msg.level);
    std::string_view prefix = index < std::size(kPrefixes) ? kPrefixes[index] : "";
    dest.append(prefix.data(), prefix.data() + prefix.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SyslogPriorityFlag>();
  }
};

}  // namespace

Result<spdlog::level::level_enum> ParseLogLevel(std::string_view level) {
  if (level == "trace") return spdlog::level::trace;
  if (level == "debug") return spdlog::level::debug;
  if (level == "info") return spdlog::level::info;
  if (level == "warn") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  return Error(Code::kInvalidArgument,
               "invalid log level \"{}\" (want trace, debug, info, warn or error)", level);
}

bool StderrIsJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st;
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

Status InitLogging(std::string process_name, std::string level) {
  BERTH_ASSIGN_OR_RETURN(auto parsed, ParseLogLevel(level));
  bool journal = StderrIsJournal();
  spdlog::sink_ptr sink;
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (journal) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    formatter->add_flag<SyslogPriorityFlag>('*').set_pattern("%*%l: %v");
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%f%z %n %^%l%$: %v");
  }
  sink->set_formatter(std::move(formatter));
  auto logger = std::make_shared<spdlog::logger>(std::move(process_name), std::move(sink));
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::trace);
  spdlog::drop(logger->name());
  spdlog::set_default_logger(std::move(logger));
  return Status::Ok();
}

}  // namespace berth
