// The request metrics every ipc::Server keeps (ipc/method_stats.h), seen through real calls.
#include <gtest/gtest.h>

#include <future>

#include "berth/testing/v1/echo.berth.h"
#include "ipc/client.h"
#include "ipc/testing/test_util.h"

namespace berth::ipc {
namespace {

namespace tv1 = ::berth::testing::v1;
using testing::EchoServerThread;
using testing::TempDir;

std::string CollectText(EchoServerThread& server) {
  std::promise<metrics::Families> collected;
  server.loop().Post([&] {
    metrics::Families out;
    server.server().CollectMetrics(out);
    collected.set_value(std::move(out));
  });
  return metrics::RenderText(collected.get_future().get());
}

std::string Line(const std::string& name, const std::string& method, const std::string& code,
                 const std::string& extra = {}) {
  std::string labels = "service=\"berth.testing.v1.Echo\",method=\"" + method + "\"";
  if (!code.empty()) labels += ",code=\"" + code + "\"";
  return name + "{" + labels + extra + "}";
}

TEST(ServerMetricsTest, CountsCallsByMethodAndCodeWithLatencyAndBytes) {
  TempDir dir;
  EchoServerThread server(dir.path() + "/echo.sock");
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  Client client(dir.path() + "/echo.sock");
  tv1::EchoClient echo(client);
  EXPECT_EQ(CollectText(server), "") << "nothing is reported before a call";

  for (int i = 0; i < 3; ++i) {
    tv1::EchoRequest request;
    request.set_payload(std::string(1000, 'x'));
    ASSERT_TRUE(echo.Echo(request).ok());
  }
  tv1::SleepRequest sleep;
  sleep.set_delay_ms(2000);
  CallOptions short_deadline;
  short_deadline.timeout = std::chrono::milliseconds(50);
  EXPECT_EQ(echo.Sleep(sleep, std::move(short_deadline)).status().code(), Code::kDeadlineExceeded);
  ASSERT_EQ(client.Call("berth.testing.v1.Echo", "Nope", "").status().code(), Code::kUnimplemented);

  std::string text = CollectText(server);
  EXPECT_NE(text.find(Line("berth_ipc_requests_total", "Echo", "OK") + " 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find(Line("berth_ipc_requests_total", "Sleep", "DEADLINE_EXCEEDED") + " 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(Line("berth_ipc_request_duration_seconds_count", "Echo", "OK") + " 3\n"),
            std::string::npos)
      << text;
  // The deadline call lasted about its 50 ms deadline: not in the 25 ms bucket, in the 100 ms.
  EXPECT_NE(text.find(Line("berth_ipc_request_duration_seconds_bucket", "Sleep",
                           "DEADLINE_EXCEEDED", ",le=\"0.025\"") +
                      " 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(Line("berth_ipc_request_duration_seconds_bucket", "Sleep",
                           "DEADLINE_EXCEEDED", ",le=\"0.1\"") +
                      " 1\n"),
            std::string::npos)
      << text;
  // 3 requests of 1000 payload bytes plus the field's tag and length (3 bytes each), and the
  // same echoed back.
  EXPECT_NE(text.find(Line("berth_ipc_received_bytes_total", "Echo", "") + " 3009\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(Line("berth_ipc_sent_bytes_total", "Echo", "") + " 3009\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("Nope"), std::string::npos) << "unknown methods are not counted";
}

TEST(ServerMetricsTest, StreamsCountTheirMessagesBytes) {
  TempDir dir;
  EchoServerThread server(dir.path() + "/echo.sock");
  ASSERT_TRUE(server.status().ok());
  Client client(dir.path() + "/echo.sock");
  tv1::EchoClient echo(client);
  tv1::CountRequest request;
  request.set_count(5);
  auto stream = echo.Count(request);
  int received = 0;
  while (true) {
    auto message = stream.Recv();
    if (!message.ok() || !message->has_value()) break;
    received++;
  }
  EXPECT_EQ(received, 5);
  // Count ends with the stream close, which the server counts as OK once it was sent.
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text = CollectText(server);
    if (text.find(Line("berth_ipc_requests_total", "Count", "OK")) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(text.find(Line("berth_ipc_requests_total", "Count", "OK") + " 1\n"), std::string::npos)
      << text;
  // Five CountResponse messages: value 0 encodes as nothing, 1..4 as two bytes each.
  EXPECT_NE(text.find(Line("berth_ipc_sent_bytes_total", "Count", "") + " 8\n"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace berth::ipc
