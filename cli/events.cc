// berthctl events [--since SEQ] [--topic T] [--filter F]...: streams events from berthd, one
// line each: SEQ TIMESTAMP NAMESPACE TOPIC EVENT, where EVENT is the JSON of the event when its
// type is compiled in, else the base64 of its bytes. With --format json: one JSON object a line.
// Runs until interrupted (Ctrl-C) or berthd ends the stream.
#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/evp.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "berth/events/v1/events.berth.h"
#include "cli/command_group.h"
#include "containerd/events/task.pb.h"
#if __has_include("berth/metadata/v1/events.pb.h")
#include "berth/metadata/v1/events.pb.h"
#define BERTH_CLI_METADATA_EVENTS 1
#endif
#include "cli/context.h"
#include "common/time.h"

namespace berth::cli {
namespace events_cmd {
namespace {

namespace ev = berth::events::v1;
namespace pb = google::protobuf;

// The event types rendered as JSON must be in the generated pool: berth_api is a static library,
// so referencing one message of each events file links that file (and registers all its types).
[[maybe_unused]] const pb::Descriptor* const kEventFiles[] = {
    containerd::events::TaskExit::descriptor(),
#ifdef BERTH_CLI_METADATA_EVENTS
    berth::metadata::v1::ImageCreate::descriptor(),
#endif
};

struct EventsFlags {
  uint64_t since = 0;
  CLI::Option* since_option = nullptr;  // given when count() > 0
  std::string topic;
  std::vector<std::string> filters;
};

std::string Base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(std::max(n, 0)));
  return out;
}

// The event as JSON when its type is known to this binary, else nullopt.
std::optional<std::string> AnyToJson(const pb::Any& any) {
  std::string_view url = any.type_url();
  std::string name(
      url.substr(url.find_last_of('/') == std::string_view::npos ? 0 : url.find_last_of('/') + 1));
  const pb::Descriptor* type = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(name);
  if (type == nullptr) return std::nullopt;
  const pb::Message* prototype = pb::MessageFactory::generated_factory()->GetPrototype(type);
  if (prototype == nullptr) return std::nullopt;
  std::unique_ptr<pb::Message> message(prototype->New());
  if (!message->ParseFromString(any.value())) return std::nullopt;
  std::string json;
  pb::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!pb::util::MessageToJsonString(*message, &json, options).ok()) return std::nullopt;
  return json;
}

// "topic==\"T\"" with the value escaped for the filter syntax.
std::string TopicSelector(const std::string& topic) {
  std::string quoted = "\"";
  for (char c : topic) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return "topic==" + quoted + "\"";
}

void PrintEvent(const CliContext& context, const ev::Event& e) {
  int64_t nanos = e.timestamp().seconds() * 1'000'000'000 + e.timestamp().nanos();
  std::optional<std::string> json = AnyToJson(e.event());
  if (context.json()) {
    nlohmann::json out = {{"sequence", e.sequence()},
                          {"timestamp", FormatRfc3339Nano(nanos)},
                          {"namespace", e.namespace_()},
                          {"topic", e.topic()},
                          {"type", e.event().type_url()}};
    if (json) {
      out["event"] = nlohmann::json::parse(*json, nullptr, false);
    } else {
      out["event_base64"] = Base64(e.event().value());
    }
    fmt::print("{}\n", out.dump());
  } else {
    fmt::print("{} {} {} {} {}\n", e.sequence(), FormatRfc3339Nano(nanos), e.namespace_(),
               e.topic(), json ? *json : Base64(e.event().value()));
  }
  std::fflush(stdout);
}

int StreamEvents(CliContext& context, const EventsFlags& flags) {
  ev::SubscribeRequest request;
  if (flags.since_option->count() > 0) {
    if (flags.since == 0) {
      request.set_replay_all(true);
    } else {
      request.set_since(flags.since);
    }
  }
  // --topic narrows every --filter (filters are alternatives; a filter's selectors all apply).
  std::vector<std::string> filters = flags.filters;
  if (!flags.topic.empty()) {
    if (filters.empty()) filters.push_back("");
    for (auto& f : filters) f = TopicSelector(flags.topic) + (f.empty() ? "" : "," + f);
  }
  for (auto& f : filters) request.add_filters(f);
  ev::EventsClient events(context.ClientFor("berthd"));
  auto stream = events.Subscribe(request, context.Options(std::chrono::milliseconds(0)));
  while (true) {
    auto next = stream.Recv();
    if (!next.ok()) return context.Fail("berthd", next.status(), "events");
    if (!next->has_value()) return 0;
    PrintEvent(context, **next);
  }
}

void AddEvents(CLI::App& app, CliContext& context) {
  CLI::App* cmd = app.add_subcommand("events", "stream events (until Ctrl-C)");
  cmd->alias("event");
  auto flags = std::make_shared<EventsFlags>();
  flags->since_option =
      cmd->add_option("--since", flags->since,
                      "first replay logged events with a sequence above SEQ (0: the whole log)");
  cmd->add_option("--topic", flags->topic, "only this topic, e.g. /tasks/exit");
  cmd->add_option("--filter", flags->filters,
                  "containerd-style filter over topic and namespace, e.g. "
                  "'topic~=\"^/images/\",namespace==default' (repeat: any may match)");
  cmd->callback(Run(context, [&context, flags] { return StreamEvents(context, *flags); }));
}

}  // namespace

BERTH_COMMAND_GROUP("events", AddEvents);

}  // namespace events_cmd

}  // namespace berth::cli
