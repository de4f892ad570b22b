#pragma once
// Tests that mount (overlayfs, bind) run in a private mount namespace, so that whatever they
// mount disappears with the test process even if it crashes. Including this header registers a
// GoogleTest environment that enters a new mount namespace (unshare(CLONE_NEWNS), then makes
// every mount private) before the first test, while the process is still single-threaded;
// threads and children started later share the namespace. Tests still unmount with RAII guards.

#include <gtest/gtest.h>

#include "common/status.h"

namespace berth::snapshot::testing {

Status EnterPrivateMountNamespace();

class PrivateMountNamespace : public ::testing::Environment {
 public:
  void SetUp() override;
};

inline ::testing::Environment* const kPrivateMountNamespace =
    ::testing::AddGlobalTestEnvironment(new PrivateMountNamespace);

}  // namespace berth::snapshot::testing
