#!/usr/bin/env bash
# Builds the IPC fuzz targets (frame decoder, request envelope, live server) with clang,
# libFuzzer, ASan and UBSan in ./build-fuzz and runs each for SECONDS (default 20).
# scripts/test.sh runs it; tests/fuzz/CMakeLists.txt has the other targets (apply_fuzz).
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release -DBERTH_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
ninja -C build-fuzz -j"$(nproc)" frame_fuzz request_fuzz server_fuzz
tests/fuzz/run.sh build-fuzz "$seconds"
