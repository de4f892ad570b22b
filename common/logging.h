#pragma once
// Process-wide logging: one named spdlog logger per process, writing to stderr, installed as
// spdlog's default logger (so spdlog::info(...) and friends use it).
//
// Under systemd (stderr is a journald stream) lines carry no timestamp (journald adds one) and
// start with a syslog priority prefix ("<3>") so journald records the level. Otherwise lines
// look like "2024-05-01T10:00:00.123456+00:00 berth-content info: message".
// Messages follow the convention "what happened key=value key=value".

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace berth {

// "trace", "debug", "info", "warn", "error" -> the spdlog level; anything else is
// INVALID_ARGUMENT naming the valid levels.
Result<spdlog::level::level_enum> ParseLogLevel(std::string_view level);

// True when stderr is connected to journald: JOURNAL_STREAM is set and names the device and
// inode of fd 2 (systemd.exec(5)).
bool StderrIsJournal();

// Creates the logger `process_name` ("berthd", "berth-shim"...) at `level` and makes it the
// default logger. Callable again (e.g. after reading the config) to replace it. Thread-safe
// logger; call InitLogging itself before starting threads.
Status InitLogging(std::string process_name, std::string level);

}  // namespace berth
