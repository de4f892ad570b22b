#!/usr/bin/env bash
# Installs every Debian package that Berth's build, tests, benchmarks and main job need.
# Idempotent: packages already present are skipped by apt; `apt-get update` runs once per call
# only when something is missing.
set -euo pipefail

PACKAGES=(
  # build
  cmake ninja-build g++ make pkg-config git clang clang-format libfuzzer-14-dev
  protobuf-compiler libprotobuf-dev libprotoc-dev
  libuv1-dev liblmdb-dev libarchive-dev libssl-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libcurl4-openssl-dev nlohmann-json3-dev libtomlplusplus-dev
  libcli11-dev libisal-dev libzstd-dev zlib1g-dev libsystemd-dev
  # runtime and tests
  runc crun containerd docker-registry skopeo umoci busybox-static
  util-linux procps iproute2 tmux openssl curl ca-certificates python3 strace
  # operations: promtool checks the metrics, systemd-nspawn boots the units under a real
  # systemd (tests/systemd/), debootstrap makes the root of scripts/fresh-machine-check.sh
  prometheus systemd-container debootstrap
  # Go peers for interop tests and side-by-side benchmarks (built offline in GOPATH mode)
  golang-go golang-github-containerd-ttrpc-dev golang-github-containerd-containerd-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's containerd package enables and starts a system-wide containerd where systemd runs;
# Berth's tests start their own containerd on a temp root, so the system one is not needed.
