#include "shim/flags.h"

#include <string_view>

namespace berth::shim {
namespace {

std::string* StringFlag(ShimFlags& f, std::string_view name) {
  if (name == "namespace") return &f.ns;
  if (name == "id") return &f.id;
  if (name == "address") return &f.address;
  if (name == "publish-binary") return &f.publish_binary;
  if (name == "bundle") return &f.bundle;
  if (name == "socket") return &f.socket;
  return nullptr;
}

bool* BoolFlag(ShimFlags& f, std::string_view name) {
  if (name == "debug") return &f.debug;
  if (name == "v" || name == "version") return &f.version;
  return nullptr;
}

// Go's flag package accepts -b, -b=true, -b=false for booleans.
Status SetBool(bool* target, std::string_view name, std::string_view value, bool has_value) {
  if (!has_value || value == "true" || value == "1") {
    *target = true;
  } else if (value == "false" || value == "0") {
    *target = false;
  } else {
    return Error(Code::kInvalidArgument, "invalid value \"{}\" for flag -{}", value, name);
  }
  return Status::Ok();
}

}  // namespace

std::string_view Usage() {
  return "usage: berth-shim -namespace NS -id ID -address ADDR [-bundle DIR] [-socket PATH] "
         "[-debug] start|delete|serve, or berth-shim -v";
}

Result<ShimFlags> ParseFlags(int argc, const char* const* argv) {
  ShimFlags flags;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.size() < 2 || arg[0] != '-') break;
    if (arg == "--") {
      ++i;
      break;
    }
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    size_t eq = arg.find('=');
    std::string_view name = arg.substr(0, eq);
    bool has_value = eq != std::string_view::npos;
    std::string_view value = has_value ? arg.substr(eq + 1) : std::string_view();
    if (bool* b = BoolFlag(flags, name)) {
      BERTH_RETURN_IF_ERROR(SetBool(b, name, value, has_value));
      continue;
    }
    std::string* s = StringFlag(flags, name);
    if (s == nullptr) return Error(Code::kInvalidArgument, "unknown flag -{}; {}", name, Usage());
    if (!has_value) {
      if (i + 1 >= argc) return Error(Code::kInvalidArgument, "flag -{} needs a value", name);
      value = argv[++i];
    }
    *s = std::string(value);
  }
  if (i < argc) flags.action = argv[i++];
  if (i < argc) {
    return Error(Code::kInvalidArgument, "unexpected argument \"{}\" after {}; {}", argv[i],
                 flags.action, Usage());
  }
  if (!flags.action.empty() && flags.action != "start" && flags.action != "delete" &&
      flags.action != "serve") {
    return Error(Code::kInvalidArgument, "unknown action \"{}\"; {}", flags.action, Usage());
  }
  return flags;
}

}  // namespace berth::shim
