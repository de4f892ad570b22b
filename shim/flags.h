#pragma once
// The shim's command line, in containerd's (Go `flag`) style: single- or double-dash flags before
// one action word, values as the next argument or after '=':
//   berth-shim -namespace NS -address ADDR -publish-binary BIN -id ID [-debug] start
//   berth-shim -namespace NS -address ADDR -publish-binary BIN -id ID -bundle DIR delete
//   berth-shim -namespace NS -id ID -address ADDR -bundle DIR serve   (daemon, fd 3 = socket)
//   berth-shim -v
// containerd 1.6 passes exactly these flags; -socket (an explicit socket path) is Berth's.

#include <string>

#include "common/status.h"

namespace berth::shim {

struct ShimFlags {
  std::string ns;              // -namespace
  std::string id;              // -id
  std::string address;         // -address: containerd's grpc socket (names the shim socket)
  std::string publish_binary;  // -publish-binary (accepted, unused: events go over ttrpc)
  std::string bundle;          // -bundle (default: the working directory)
  std::string socket;          // -socket: where to serve (default: derived from address/ns/id)
  bool debug = false;          // -debug
  bool version = false;        // -v / -version
  std::string action;          // "start", "delete", "serve" or empty (with -v)
};

// INVALID_ARGUMENT naming the flag for an unknown flag, a missing value, an unknown action or
// arguments after the action.
Result<ShimFlags> ParseFlags(int argc, const char* const* argv);

// One line of usage for error messages.
std::string_view Usage();

}  // namespace berth::shim
