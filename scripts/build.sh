#!/usr/bin/env bash
# Configures and builds Berth in ./build (Release, -O2, unity batches). Extra arguments go to
# cmake, e.g. -DCMAKE_BUILD_TYPE=RelWithDebInfo for debug info.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
ninja -C build -j"$(nproc)"
