#!/usr/bin/env bash
# Configures and builds Berth in ./build (Release with debug info). Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBERTH_WIP_AREAS=OFF "$@" >/dev/null
ninja -C build -j"$(nproc)"
