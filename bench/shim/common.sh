# Shared setup for the shim benchmarks: a private registry with the busybox test image and a
# private containerd 1.6 whose PATH finds containerd-shim-berth-v1 (a symlink to $BERTH_SHIM, by
# default <build>/shim/berth-shim). Source it, call `bench_setup NAMESPACE...` (the image is
# pulled into each), and bench_cleanup on exit.
#   BERTH_BUILD_DIR  build tree (default: ../../build relative to this script)
#   BERTH_SHIM       the berth-shim binary to measure
set -euo pipefail

bench_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench_src=$(cd "$bench_here/../.." && pwd)
fixtures=$bench_src/tests/fixtures
BERTH_BUILD_DIR=${BERTH_BUILD_DIR:-$bench_src/build}
BERTH_SHIM=${BERTH_SHIM:-$BERTH_BUILD_DIR/shim/berth-shim}

bench_setup() {
  [[ -x $BERTH_SHIM ]] || { echo "berth-shim not found at $BERTH_SHIM (set BERTH_SHIM or BERTH_BUILD_DIR)" >&2; exit 1; }
  work=$(mktemp -d /tmp/b-bench-XXXXXX)
  mkdir -p "$work/bin"
  ln -s "$BERTH_SHIM" "$work/bin/containerd-shim-berth-v1"
  registry=$("$fixtures/registry.sh" start "$work/registry")
  "$fixtures/images.sh" build-push "$registry" >/dev/null
  sock=$(PATH="$work/bin:$PATH" "$fixtures/containerd.sh" start "$work/ctd")
  image=$registry/berth/busybox:latest
  bench_namespaces="$*"
  local ns
  for ns in "$@"; do
    ctr --address "$sock" -n "$ns" images pull --plain-http "$image" >/dev/null
  done
}

bench_cleanup() {
  [[ -n ${work:-} ]] || return 0
  "$fixtures/containerd.sh" stop "$work/ctd" >/dev/null 2>&1 || true
  "$fixtures/registry.sh" stop "$work/registry" >/dev/null 2>&1 || true
  rm -rf "$work"
  # containerd leaves one cgroup per namespace in every hierarchy, and runc a root directory.
  local ns d
  for ns in ${bench_namespaces:-}; do
    for d in /sys/fs/cgroup/*/"$ns" /sys/fs/cgroup/"$ns" /run/containerd/runc/"$ns"; do
      [[ -d $d ]] && rmdir "$d" 2>/dev/null || true
    done
  done
}

# pss_kib PID: proportional set size of one process.
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
