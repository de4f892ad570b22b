// berthd's events exchange over its socket: durable replay across restarts, the live/replay
// boundary, filters, malformed input, slow subscribers, and `berthctl events`.
#include <fcntl.h>
#include <google/protobuf/duration.pb.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <nlohmann/json.hpp>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "berth/events/v1/events.berth.h"
#include "common/fs.h"
#include "containerd/events/task.pb.h"
#include "containerd/services/ttrpc/events/v1/events.berth.h"
#include "ipc/frame.h"
#include "ipc/unix_socket.h"
#include "tests/integration/supervisor_test_util.h"
#include "ttrpc/request.pb.h"

namespace berth::integration {
namespace {

namespace ev = berth::events::v1;
namespace cev = containerd::services::events::ttrpc::v1;
using Clock = std::chrono::steady_clock;

google::protobuf::Any Payload(const std::string& text) {
  google::protobuf::Any any;
  any.set_type_url("example.com/test.Text");
  any.set_value(text);
  return any;
}

Result<uint64_t> Publish(ev::EventsClient& events, const std::string& topic,
                         const std::string& ns = "default", const std::string& text = "x") {
  ev::PublishRequest request;
  request.set_topic(topic);
  *request.mutable_event() = Payload(text);
  ipc::CallOptions options;
  options.ns = ns;
  options.timeout = std::chrono::seconds(10);
  BERTH_ASSIGN_OR_RETURN(ev::PublishResponse response, events.Publish(request, std::move(options)));
  return response.sequence();
}

using EventStream = ipc::TypedStream<ev::SubscribeRequest, ev::Event>;

EventStream Subscribe(ev::EventsClient& events, std::vector<std::string> filters,
                      uint64_t since = 0, bool replay_all = false) {
  ev::SubscribeRequest request;
  for (auto& f : filters) request.add_filters(f);
  request.set_since(since);
  request.set_replay_all(replay_all);
  return events.Subscribe(request);
}

// Receives `count` events (each within 5 s); fails the test on error or end of stream.
std::vector<ev::Event> Receive(EventStream& stream, size_t count) {
  std::vector<ev::Event> out;
  while (out.size() < count) {
    auto next = stream.Recv(std::chrono::seconds(5));
    EXPECT_TRUE(next.ok()) << next.status().ToString();
    if (!next.ok() || !next->has_value()) break;
    out.push_back(std::move(**next));
  }
  return out;
}

// No further event arrives within `wait`.
bool Quiet(EventStream& stream, std::chrono::milliseconds wait = std::chrono::milliseconds(300)) {
  auto next = stream.Recv(wait);
  return !next.ok() && next.status().code() == Code::kDeadlineExceeded;
}

std::vector<uint64_t> Sequences(const std::vector<ev::Event>& events) {
  std::vector<uint64_t> out;
  for (auto& e : events) out.push_back(e.sequence());
  return out;
}

TEST(SupervisorEventsTest, ReplayAfterABerthdRestartReturnsEarlierEventsAndSequencesContinue) {
  BerthdHarness berthd;
  ASSERT_TRUE(berthd.Start().ok());
  std::vector<uint64_t> published;
  {
    ev::EventsClient events(berthd.client());
    for (int i = 0; i < 5; ++i) {
      auto seq = Publish(events, "/images/create", "default", "before-" + std::to_string(i));
      ASSERT_TRUE(seq.ok()) << seq.status().ToString();
      published.push_back(*seq);
    }
  }
  EXPECT_EQ(published, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  // A hard crash: acknowledged events were durable before they were acknowledged.
  berthd.Kill9();
  ASSERT_TRUE(berthd.Start().ok());
  ev::EventsClient events(berthd.client());
  auto stream = Subscribe(events, {}, 0, /*replay_all=*/true);
  auto replayed = Receive(stream, 5);
  ASSERT_EQ(Sequences(replayed), published);
  EXPECT_EQ(replayed[3].event().value(), "before-3");
  EXPECT_EQ(replayed[3].topic(), "/images/create");
  EXPECT_EQ(replayed[3].namespace_(), "default");
  EXPECT_GT(replayed[3].timestamp().seconds(), 0);
  auto next = Publish(events, "/images/delete");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 6u);
  auto live = Receive(stream, 1);
  ASSERT_EQ(Sequences(live), std::vector<uint64_t>{6});

  // And again after a clean stop.
  ASSERT_TRUE(berthd.Terminate().ok());
  ASSERT_TRUE(berthd.Start().ok());
  auto status = events.Status(google::protobuf::Empty());
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(status->first_sequence(), 1u);
  EXPECT_EQ(status->last_sequence(), 6u);
  auto since3 = Subscribe(events, {}, 3);
  EXPECT_EQ(Sequences(Receive(since3, 3)), (std::vector<uint64_t>{4, 5, 6}));
  EXPECT_TRUE(Quiet(since3));
}

TEST(SupervisorEventsTest, ReplayTurnsIntoLiveWithoutGapOrDuplicateWhilePublishersRun) {
  BerthdHarness berthd;
  ASSERT_TRUE(berthd.Start().ok());
  ev::EventsClient events(berthd.client());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(Publish(events, "/a/b").ok());
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread publisher([&] {
    ipc::Client client(berthd.socket());
    ev::EventsClient mine(client);
    for (int i = 0; i < 300 && !stop; ++i) {
      if (!Publish(mine, "/a/c").ok()) failures++;
    }
  });
  // Subscribe from the middle of the log while events keep arriving.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto stream = Subscribe(events, {}, 25);
  auto got = Receive(stream, 325);  // 26..350
  publisher.join();
  EXPECT_EQ(failures, 0);
  ASSERT_EQ(got.size(), 325u);
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i].sequence(), 26 + i) << "at " << i;
  EXPECT_TRUE(Quiet(stream));
}

TEST(SupervisorEventsTest, SubscribeFiltersByTopicAndNamespace) {
  BerthdHarness berthd;
  ASSERT_TRUE(berthd.Start().ok());
  ev::EventsClient events(berthd.client());
  auto exits = Subscribe(events, {R"(topic=="/tasks/exit")"});
  auto team = Subscribe(events, {"namespace==team-a"});
  auto images_or_exit = Subscribe(events, {R"(topic~="^/images/")", "topic==/tasks/exit"});
  auto both = Subscribe(events, {"topic==/tasks/exit,namespace==team-a"});
  auto all = Subscribe(events, {});
  auto status = events.Status(google::protobuf::Empty());
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->subscribers(), 5u);

  ASSERT_TRUE(Publish(events, "/tasks/exit", "default").ok());    // 1
  ASSERT_TRUE(Publish(events, "/images/create", "team-a").ok());  // 2
  ASSERT_TRUE(Publish(events, "/tasks/exit", "team-a").ok());     // 3
  ASSERT_TRUE(Publish(events, "/containers/delete").ok());        // 4

  EXPECT_EQ(Sequences(Receive(exits, 2)), (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(Sequences(Receive(team, 2)), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(Sequences(Receive(images_or_exit, 3)), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(Sequences(Receive(both, 1)), (std::vector<uint64_t>{3}));
  EXPECT_EQ(Sequences(Receive(all, 4)), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_TRUE(Quiet(exits));
  EXPECT_TRUE(Quiet(both));

  auto bad = Subscribe(events, {"topic=="});
  auto refused = bad.Recv(std::chrono::seconds(5));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument) << refused.status().ToString();
  auto unknown = Subscribe(events, {"topc==/x"});
  EXPECT_EQ(unknown.Recv(std::chrono::seconds(5)).status().code(), Code::kInvalidArgument);
}

// Parses the "case code=X ..." lines of `ttrpc-peer raw` into case -> code.
std::map<std::string, std::string> PeerCaseCodes(const std::string& out) {
  std::map<std::string, std::string> codes;
  static const std::regex line_re(R"(^(\S+) .*code=(\S+))");
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, line_re)) codes[m[1]] = m[2];
  }
  return codes;
}

// containerd's own ttrpc-go client (tests/go/ttrpc-peer) against berthd's real Events/Forward
// handler: malformed frames and requests get gRPC codes, a bad topic is refused, and berthd
// goes on serving the same client.
TEST(SupervisorEventsTest, TheGoTtrpcClientGetsErrorsFromBerthdAndBerthdKeepsServing) {
  std::string peer = BuildPath("tests/go/ttrpc-peer");
  ASSERT_EQ(::access(peer.c_str(), X_OK), 0)
      << peer << ": build the berth_ttrpc_peer target (scripts/install-deps.sh installs Go)";
  BerthdHarness berthd;
  ASSERT_TRUE(berthd.Start().ok());
  auto run_peer = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {peer, args[0], "--socket", berthd.socket()};
    argv.insert(argv.end(), args.begin() + 1, args.end());
    return RunCapture(argv, {}, 30s);
  };
  auto raw = run_peer({"raw", "--case", "all"});
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  std::map<std::string, std::string> expected = {
      {"bad-envelope", "InvalidArgument"},  {"bad-payload", "InvalidArgument"},
      {"empty-payload", "InvalidArgument"}, {"even-stream", "InvalidArgument"},
      {"oversize", "ResourceExhausted"},    {"unknown-method", "Unimplemented"},
      {"unknown-service", "Unimplemented"}, {"zero-length", "Unimplemented"},
  };
  EXPECT_EQ(PeerCaseCodes(*raw), expected) << *raw;

  auto bad_topic = run_peer({"forward", "--topic", "no-slash", "--namespace", "default"});
  ASSERT_FALSE(bad_topic.ok());
  EXPECT_NE(bad_topic.status().message().find("code=InvalidArgument"), std::string::npos)
      << bad_topic.status().message();

  // Still serving: a valid Forward from the Go client is stored and replayed.
  ev::EventsClient events(berthd.client());
  auto forwarded = run_peer({"forward", "--topic", "/tasks/oom", "--namespace", "go-ns"});
  ASSERT_TRUE(forwarded.ok()) << forwarded.status().ToString();
  auto stream = Subscribe(events, {"topic==/tasks/oom"}, 0, /*replay_all=*/true);
  auto got = Receive(stream, 1);
  ASSERT_EQ(got.size(), 1u) << "the Go client's event was not stored";
  EXPECT_EQ(got[0].namespace_(), "go-ns");
}

TEST(SupervisorEventsTest, MalformedInputIsInvalidArgumentAndBerthdKeepsServing) {
  BerthdHarness berthd;
  ASSERT_TRUE(berthd.Start().ok());
  cev::EventsClient containerd(berthd.client());
  ev::EventsClient events(berthd.client());
  auto all = Subscribe(events, {});

  auto expect_invalid = [](const Status& status, const std::string& fragment) {
    EXPECT_EQ(status.code(), Code::kInvalidArgument) << status.ToString();
    EXPECT_NE(status.message().find(fragment), std::string::npos) << status.message();
  };
  expect_invalid(containerd.Forward(cev::ForwardRequest()).status(), "no envelope");
  cev::ForwardRequest request;
  *request.mutable_envelope()->mutable_event() = Payload("x");
  request.mutable_envelope()->set_namespace_("default");
  expect_invalid(containerd.Forward(request).status(), "topic must not be empty");
  request.mutable_envelope()->set_topic("tasks/exit");
  expect_invalid(containerd.Forward(request).status(), "must start with '/'");
  request.mutable_envelope()->set_topic("/tasks//exit");
  expect_invalid(containerd.Forward(request).status(), "not an identifier");
  request.mutable_envelope()->set_topic("/tasks/exit");
  request.mutable_envelope()->set_namespace_("bad namespace");
  expect_invalid(containerd.Forward(request).status(), "namespace");
  expect_invalid(events.Forward(ev::ForwardRequest()).status(), "no event");
  ev::PublishRequest no_payload;
  no_payload.set_topic("/x");
  expect_invalid(events.Publish(no_payload).status(), "no payload");
  ev::PublishRequest too_big;
  too_big.set_topic("/x");
  *too_big.mutable_event() = Payload(std::string(1100 * 1024, 'x'));
  expect_invalid(events.Publish(too_big).status(), "exceeds");
  // Bytes that are not a protobuf message at all.
  auto garbage = berthd.client().Call("containerd.services.events.ttrpc.v1.Events", "Forward",
                                      std::string("\xff\xff\xff\xff", 4));
  EXPECT_EQ(garbage.status().code(), Code::kInvalidArgument) << garbage.status().ToString();

  // Still serving, nothing was stored, and a valid Forward keeps the envelope's stamping.
  ASSERT_TRUE(berthd.supervisor().Version(google::protobuf::Empty()).ok());
  request.mutable_envelope()->set_namespace_("team-b");
  request.mutable_envelope()->mutable_timestamp()->set_seconds(1700000000);
  ASSERT_TRUE(containerd.Forward(request).ok());
  auto got = Receive(all, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].sequence(), 1u);
  EXPECT_EQ(got[0].namespace_(), "team-b");
  EXPECT_EQ(got[0].topic(), "/tasks/exit");
  EXPECT_EQ(got[0].timestamp().seconds(), 1700000000);
  EXPECT_TRUE(Quiet(all));
}

// A subscriber that never reads: raw socket, one Subscribe request, then silence.
class SilentSubscriber {
 public:
  explicit SilentSubscriber(const std::string& socket) {
    auto fd = ipc::ConnectUnix(socket);
    if (!fd.ok()) return;
    fd_ = std::move(*fd);
    ::fcntl(fd_.get(), F_SETFL, ::fcntl(fd_.get(), F_GETFL) & ~O_NONBLOCK);
    ttrpc::Request request;
    request.set_service("berth.events.v1.Events");
    request.set_method("Subscribe");
    request.set_payload(ev::SubscribeRequest().SerializeAsString());
    std::string frame;
    ipc::AppendFrame(frame, 1, ipc::FrameType::kRequest, ipc::kFlagRemoteClosed,
                     request.SerializeAsString());
    ok_ = ::write(fd_.get(), frame.data(), frame.size()) == static_cast<ssize_t>(frame.size());
  }
  bool ok() const { return ok_; }

  // Reads everything until the stream's Response frame; returns its status code (or -1).
  int ReadUntilResponse(std::chrono::seconds timeout) {
    ipc::FrameDecoder decoder;
    auto deadline = Clock::now() + timeout;
    char buf[65536];
    while (Clock::now() < deadline) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
      if (n <= 0) return -1;
      decoder.Feed(buf, static_cast<size_t>(n));
      while (auto frame = decoder.Next()) {
        if (frame->header.type != static_cast<uint8_t>(ipc::FrameType::kResponse)) continue;
        ttrpc::Response response;
        if (!response.ParseFromString(frame->body)) return -1;
        message_ = response.status().message();
        return response.status().code();
      }
    }
    return -1;
  }
  const std::string& message() const { return message_; }

 private:
  UniqueFd fd_;
  bool ok_ = false;
  std::string message_;
};

TEST(SupervisorEventsTest, ASlowSubscriberIsDroppedAndNeverBlocksPublishers) {
  BerthdOptions options;
  options.max_log_entries = 100;  // also bounds how far a subscriber may lag
  BerthdHarness berthd(options);
  ASSERT_TRUE(berthd.Start().ok());
  ev::EventsClient events(berthd.client());
  SilentSubscriber slow(berthd.socket());
  ASSERT_TRUE(slow.ok());
  auto fast = Subscribe(events, {});
  for (int i = 0; i < 200; ++i) {
    auto status = events.Status(google::protobuf::Empty());
    if (status.ok() && status->subscribers() == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  // 400 events of 16 KiB: far more than the silent peer's socket and queue bound hold.
  std::string blob(16 * 1024, 'e');
  auto started = Clock::now();
  std::chrono::nanoseconds slowest{0};
  for (int i = 0; i < 400; ++i) {
    auto t0 = Clock::now();
    auto seq = Publish(events, "/load/test", "default", blob);
    ASSERT_TRUE(seq.ok()) << seq.status().ToString();
    slowest = std::max(slowest, Clock::now() - t0);
    // The fast subscriber keeps up.
    auto got = Receive(fast, 1);
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(got[0].sequence(), *seq);
  }
  EXPECT_LT(slowest, std::chrono::seconds(1)) << "a publisher waited for the silent subscriber";
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(60));
  auto status = events.Status(google::protobuf::Empty());
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->subscribers(), 1u) << "the silent subscriber should have been dropped";
  // Its stream ends with RESOURCE_EXHAUSTED once it reads what was queued for it.
  EXPECT_EQ(slow.ReadUntilResponse(std::chrono::seconds(10)),
            static_cast<int>(Code::kResourceExhausted));
  EXPECT_NE(slow.message().find("resubscribe with since="), std::string::npos) << slow.message();
}

TEST(SupervisorEventsTest, TheTestServicePublishesOnStartThroughContainerdForward) {
  BerthdOptions options;
  options.services = {{"testsvc", TestServiceBinary()}};
  BerthdHarness berthd(options);
  ASSERT_TRUE(berthd.Start().ok());
  ASSERT_TRUE(berthd.WaitServing().ok());
  ev::EventsClient events(berthd.client());
  auto stream = Subscribe(events, {"topic==/testsvc/start"}, 0, true);
  auto got = Receive(stream, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].namespace_(), "default");
  EXPECT_EQ(got[0].event().type_url(), "berth.health.v1.CheckResponse");
}

// Waits until `path` has at least `lines` lines; returns its content.
std::string WaitForLines(const std::string& path, size_t lines) {
  std::string text;
  for (int i = 0; i < 500; ++i) {
    text = ReadFile(path).ok() ? *ReadFile(path) : "";
    if (static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) >= lines) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return text;
}

TEST(SupervisorEventsTest, BerthctlEventsPrintsReplayedAndLiveEventsAsLines) {
  BerthdHarness berthd;
  ASSERT_TRUE(berthd.Start().ok());
  ev::EventsClient events(berthd.client());
  ev::PublishRequest known;
  known.set_topic("/images/create");
  google::protobuf::Duration duration;
  duration.set_seconds(5);
  known.mutable_event()->PackFrom(duration);
  ipc::CallOptions team;
  team.ns = "team-a";
  ASSERT_TRUE(events.Publish(known, std::move(team)).ok());              // 1, JSON
  ASSERT_TRUE(Publish(events, "/tasks/exit", "default", "hello").ok());  // 2, base64
  ASSERT_TRUE(Publish(events, "/other/topic").ok());                     // 3, filtered out

  std::string out_path = berthd.root() + "-events.out";
  UniqueFd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  ASSERT_TRUE(out);
  auto ctl = ChildProcess::Spawn(
      {.argv = {BuildPath("cli/berthctl"), "--state", berthd.state(), "events", "--since", "0",
                "--filter", "topic~=\"^/(images|tasks)/\"", "--filter", "namespace==nobody"},
       .stdin_fd = SpawnOptions::kDevNull,
       .stdout_fd = out.get()});
  ASSERT_TRUE(ctl.ok()) << ctl.status().ToString();
  std::string text = WaitForLines(out_path, 2);
  ev::PublishRequest exit;  // 4, live, a containerd event type
  exit.set_topic("/tasks/exit");
  containerd::events::TaskExit task_exit;
  task_exit.set_container_id("c1");
  task_exit.set_exit_status(3);
  exit.mutable_event()->set_type_url("containerd.events.TaskExit");  // bare, as containerd does
  exit.mutable_event()->set_value(task_exit.SerializeAsString());
  ASSERT_TRUE(events.Publish(exit).ok());
  text = WaitForLines(out_path, 3);
  ASSERT_TRUE(ctl->Kill(SIGINT).ok());
  (void)ctl->Wait();
  ::unlink(out_path.c_str());

  std::vector<std::string> lines;
  for (size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    lines.push_back(text.substr(pos, nl - pos));
  }
  ASSERT_EQ(lines.size(), 3u) << text;
  EXPECT_EQ(lines[0].substr(0, 2), "1 ");
  EXPECT_NE(lines[0].find(" team-a /images/create \"5s\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("Z team-a"), std::string::npos) << "RFC 3339 time: " << lines[0];
  EXPECT_EQ(lines[1].substr(0, 2), "2 ");
  EXPECT_NE(lines[1].find(" default /tasks/exit aGVsbG8="), std::string::npos) << lines[1];
  EXPECT_EQ(lines[2].substr(0, 2), "4 ");
  EXPECT_NE(lines[2].find(" default /tasks/exit {"), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("\"container_id\":\"c1\""), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("\"exit_status\":3"), std::string::npos) << lines[2];
}

// --since N (N > 0) replays only what follows N, --topic keeps one topic (in the replay and live),
// and --format json prints one JSON object a line.
TEST(SupervisorEventsTest, BerthctlEventsSinceTopicAndJsonFormat) {
  BerthdHarness berthd;
  ASSERT_TRUE(berthd.Start().ok());
  ev::EventsClient events(berthd.client());
  ASSERT_EQ(*Publish(events, "/tasks/exit", "default", "a"), 1u);  // before --since
  ASSERT_EQ(*Publish(events, "/tasks/start"), 2u);                 // other topic
  ASSERT_EQ(*Publish(events, "/tasks/exit", "team-a", "b"), 3u);
  ASSERT_EQ(*Publish(events, "/tasks/exit", "default", "c"), 4u);
  ASSERT_EQ(*Publish(events, "/tasks/exit/more"), 5u);  // the topic must match exactly

  std::string out_path = berthd.root() + "-events.json";
  UniqueFd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  ASSERT_TRUE(out);
  auto ctl = ChildProcess::Spawn(
      {.argv = {BuildPath("cli/berthctl"), "--state", berthd.state(), "--format", "json", "events",
                "--since", "1", "--topic", "/tasks/exit"},
       .stdin_fd = SpawnOptions::kDevNull,
       .stdout_fd = out.get()});
  ASSERT_TRUE(ctl.ok()) << ctl.status().ToString();
  WaitForLines(out_path, 2);
  ASSERT_EQ(*Publish(events, "/tasks/start"), 6u);                 // live, other topic
  ASSERT_EQ(*Publish(events, "/tasks/exit", "default", "d"), 7u);  // live, shown
  std::string text = WaitForLines(out_path, 3);
  ASSERT_TRUE(ctl->Kill(SIGINT).ok());
  (void)ctl->Wait();
  ::unlink(out_path.c_str());

  std::vector<nlohmann::json> lines;
  for (size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    lines.push_back(nlohmann::json::parse(text.substr(pos, nl - pos), nullptr, false));
    ASSERT_TRUE(lines.back().is_object()) << text;
  }
  ASSERT_EQ(lines.size(), 3u) << text;
  std::vector<uint64_t> sequences;
  for (auto& line : lines) sequences.push_back(line["sequence"]);
  EXPECT_EQ(sequences, (std::vector<uint64_t>{3, 4, 7})) << text;
  EXPECT_EQ(lines[0]["namespace"], "team-a");
  EXPECT_EQ(lines[0]["topic"], "/tasks/exit");
  EXPECT_EQ(lines[0]["type"], "example.com/test.Text");
  EXPECT_EQ(lines[0]["event_base64"], "Yg==");  // "b"
  EXPECT_EQ(lines[2]["event_base64"], "ZA==");  // "d"
  std::string timestamp = lines[1]["timestamp"];
  EXPECT_TRUE(std::regex_match(timestamp, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)")))
      << timestamp;
}

}  // namespace
}  // namespace berth::integration
