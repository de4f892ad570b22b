// berth-testsvc: the smallest Berth service, for berthd's integration tests. It serves health
// (through ServiceHost), registers one plugin and publishes /testsvc/start on every start.
#include <unistd.h>

#include "berth/health/v1/health.pb.h"
#include "services/host/service_host.h"

int main(int argc, char** argv) {
  auto options = berth::service::ParseServiceCommandLine("testsvc", argc, argv);
  berth::service::ServiceHost host(options);
  host.AddPlugin("berth.testing.v1", "testsvc");
  berth::health::v1::CheckResponse started;
  started.set_status("started");
  started.set_service("testsvc");
  started.set_pid(static_cast<uint32_t>(::getpid()));
  host.Publish("default", "/testsvc/start", started);
  return host.Run();
}
