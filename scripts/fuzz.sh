#!/usr/bin/env bash
# Builds the fuzz targets (ttrpc frame decoder, request envelope, live server, layer apply) with
# clang, libFuzzer, ASan and UBSan in ./build-fuzz and runs each for SECONDS (default 20).
# scripts/test.sh runs it (as root: apply_fuzz makes devices, owners and trusted.* xattrs).
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release -DBERTH_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
ninja -C build-fuzz -j"$(nproc)" frame_fuzz request_fuzz server_fuzz apply_fuzz
tests/fuzz/run.sh build-fuzz "$seconds"
