#include "client/spec/validate.h"

#include <gtest/gtest.h>

#include "client/spec/spec.h"
#include <algorithm>
#include <functional>

#include "common/fs.h"
#include "common/process.h"
#include "common/temp_dir.h"

namespace berth::spec {
namespace {

using json = nlohmann::json;

json ValidSpec() {
  SpecOptions o;
  o.id = "v";
  o.args = {"true"};
  return *GenerateSpec(json(), o, NoRootfsFiles());
}

// Each mutation breaks one rule of the runtime-spec and must be reported with its field.
TEST(ValidateSpec, ReportsEachViolation) {
  ASSERT_TRUE(ValidateSpec(ValidSpec()).ok());
  struct Case {
    const char* field;
    std::function<void(json&)> mutate;
  } cases[] = {
      {"ociVersion", [](json& s) { s.erase("ociVersion"); }},
      {"ociVersion", [](json& s) { s["ociVersion"] = "1.0"; }},
      {"root", [](json& s) { s.erase("root"); }},
      {"root.path", [](json& s) { s["root"].erase("path"); }},
      {"process.cwd", [](json& s) { s["process"]["cwd"] = "rel"; }},
      {"process.args", [](json& s) { s["process"]["args"] = json::array(); }},
      {"process.user.uid", [](json& s) { s["process"]["user"].erase("uid"); }},
      {"process.user.gid", [](json& s) { s["process"]["user"]["gid"] = -1; }},
      {"process.env", [](json& s) { s["process"]["env"] = {"NOEQUALS"}; }},
      {"process.capabilities.bounding",
       [](json& s) { s["process"]["capabilities"]["bounding"] = {"SYS_ADMIN"}; }},
      {"process.rlimits[1].type",
       [](json& s) { s["process"]["rlimits"].push_back(s["process"]["rlimits"][0]); }},
      {"mounts[0].destination", [](json& s) { s["mounts"][0]["destination"] = "proc"; }},
      {"mounts[1].destination", [](json& s) { s["mounts"][1].erase("destination"); }},
      {"linux", [](json& s) { s.erase("linux"); }},
      {"linux.namespaces[5].type",
       [](json& s) {
         s["linux"]["namespaces"].push_back({{"type", "pid"}});
       }},
      {"linux.namespaces[0].type", [](json& s) { s["linux"]["namespaces"][0]["type"] = "net"; }},
      {"linux.maskedPaths[0]", [](json& s) { s["linux"]["maskedPaths"][0] = "proc/kcore"; }},
      {"linux.resources.devices[0].access",
       [](json& s) { s["linux"]["resources"]["devices"][0]["access"] = "rwx"; }},
      {"hostname",
       [](json& s) {
         auto& ns = s["linux"]["namespaces"];
         ns.erase(std::remove(ns.begin(), ns.end(), json{{"type", "uts"}}), ns.end());
       }},
  };
  for (auto& c : cases) {
    json s = ValidSpec();
    c.mutate(s);
    Status status = ValidateSpec(s);
    EXPECT_EQ(status.code(), Code::kInvalidArgument) << c.field;
    EXPECT_EQ(status.message().rfind(std::string(c.field) + ":", 0), 0u)
        << c.field << " -> " << status.message();
  }
}

// The generated spec is accepted by the real runtime's own parser: runc refuses unknown
// namespace types, bad rlimits, and so on at `runc create`; `runc spec`'s output passes ours.
TEST(ValidateSpec, AgreesWithRuncsTemplate) {
  TempDir dir = std::move(TempDir::Create("b-valid").value());
  auto out = RunCapture({"runc", "spec", "--bundle", dir.path()});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  auto text = ReadFile(dir.Join("config.json"));
  ASSERT_TRUE(text.ok());
  Status status = ValidateSpec(json::parse(*text));
  EXPECT_TRUE(status.ok()) << status.ToString();
}

}  // namespace
}  // namespace berth::spec
