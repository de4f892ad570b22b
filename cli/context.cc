#include "cli/context.h"

#include <cstdio>

#include <fmt/format.h>

namespace berth::cli {

std::string CliContext::SocketFor(const std::string& service) const {
  return state + "/" + service + ".sock";
}

ipc::Client& CliContext::ClientFor(const std::string& service) {
  std::string socket = SocketFor(service);
  for (auto& [path, client] : clients_) {
    if (path == socket) return *client;
  }
  clients_.emplace_back(socket, std::make_unique<ipc::Client>(socket));
  return *clients_.back().second;
}

ipc::CallOptions CliContext::Options(std::chrono::milliseconds default_timeout) const {
  ipc::CallOptions options;
  options.ns = ns;
  options.timeout = timeout_seconds > 0 ? std::chrono::seconds(timeout_seconds) : default_timeout;
  return options;
}

std::string CliContext::Describe(const std::string& service, const Status& status) const {
  if (status.code() == Code::kUnavailable && status.message().starts_with("cannot reach")) {
    if (service == "berthd") {
      return fmt::format(
          "cannot reach berthd at {}: is berthd running? (start it with `berthd --root DIR "
          "--state DIR` or `systemctl start berth.target`; --state must name its state dir)",
          SocketFor(service));
    }
    std::string daemon = "berth-" + service;
    return fmt::format(
        "cannot reach {} at {}: is {} running? (berthd starts it; check "
        "`berthctl services ls` and --state)",
        daemon, SocketFor(service), daemon);
  }
  return status.message().empty() ? CodeName(status.code()) : status.message();
}

int CliContext::Fail(const std::string& service, const Status& status,
                     const std::string& what) const {
  std::string message = Describe(service, status);
  if (what.empty()) {
    fmt::print(stderr, "berthctl: {}\n", message);
  } else {
    fmt::print(stderr, "berthctl: {}: {}\n", what, message);
  }
  return 1;
}

int CliContext::Fail(const std::string& message) const {
  fmt::print(stderr, "berthctl: {}\n", message);
  return 1;
}

void CliContext::PrintTable(const std::vector<std::string>& header,
                            const std::vector<std::vector<std::string>>& rows,
                            const nlohmann::json& json_value) const {
  if (json()) {
    PrintJson(json_value);
    return;
  }
  std::vector<size_t> widths(header.size(), 0);
  for (size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
  for (auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i + 1 == row.size()) {
        line += row[i];
      } else {
        line += fmt::format("{:<{}}    ", row[i], widths[i]);
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    fmt::print("{}\n", line);
  };
  print_row(header);
  for (auto& row : rows) print_row(row);
}

void CliContext::PrintJson(const nlohmann::json& value) const { fmt::print("{}\n", value.dump(2)); }

std::function<void()> Run(CliContext& context, std::function<int()> body) {
  return [&context, body = std::move(body)] { context.exit_code = body(); };
}

}  // namespace berth::cli
