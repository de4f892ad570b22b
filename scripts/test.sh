#!/usr/bin/env bash
# The whole test suite: installs what the tests need, builds, checks formatting, runs every
# test (unit, integration, interop, e2e) with CTest, then the IPC fuzzers for 20 s each.
# Tests need root (mounts, runc, namespaces). Usage: sudo scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
  echo "scripts/test.sh: the tests mount filesystems and run containers; run as root" >&2
  exit 1
fi
scripts/install-deps.sh
scripts/build.sh
scripts/check-format.sh
# Tests start real daemons; 2 at a time fits a 2-core machine.
ctest --test-dir build --output-on-failure -j2 --timeout 900
scripts/fuzz.sh 20
