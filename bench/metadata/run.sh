#!/usr/bin/env bash
# Side by side, in one run: berth-metadata (berth-metadata-bench) and containerd 1.6 (ctrpeer/,
# containerd's own Go client over gRPC) through the same phases:
#   ipc      create / get / list --count containers and --count images, --inflight in flight;
#   gc-real  --gc-images images (5 blobs and 2 native snapshots each, really stored): time of a
#            collection that keeps everything, and of the one that removes everything once the
#            images are deleted.
# Berth's in-process GC phase (the GC's own cost, in-memory stores) has no containerd twin and is
# printed alone. The table shows each metric for both and the ratio berth/containerd (rates:
# higher is better; times in ms: lower is better). Never fails on timing.
#
# Usage: bench/metadata/run.sh BUILD_DIR [--count 100000] [--inflight 64] [--gc-images 10000]
# Needs: BUILD_DIR/bench/metadata/berth-metadata-bench (ninja -C BUILD_DIR berth-metadata-bench),
# containerd 1.6, Go and Debian's containerd Go sources (golang-github-containerd-containerd-dev);
# the peer is built offline (GOPATH mode, as tests/go/build-peer.sh does).
# containerd runs privately under a temp dir with GC only on demand (startup_delay 1000h, a tiny
# pause_threshold), so that each measured collection is exactly one run.
set -euo pipefail

die() { echo "run.sh: $*" >&2; exit 1; }

build=${1:-}
usage="usage: run.sh BUILD_DIR [--count N] [--inflight K] [--gc-images M]"
[[ -n $build && -d $build ]] || die "$usage"
build=$(cd "$build" && pwd)
shift
count=100000 inflight=64 gc_images=10000
while (($#)); do
  case $1 in
    --count) count=${2:?}; shift 2 ;;
    --inflight) inflight=${2:?}; shift 2 ;;
    --gc-images) gc_images=${2:?}; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=$build/bench/metadata/berth-metadata-bench
[[ -x $bench ]] || die "$bench is missing: run ninja -C $build berth-metadata-bench"
for tool in containerd go; do command -v $tool >/dev/null || die "$tool is not installed"; done

work=$(mktemp -d /tmp/b-mdbench-XXXXXX)
ctd_pid=""
cleanup() {
  if [[ -n $ctd_pid ]]; then
    kill -TERM "$ctd_pid" 2>/dev/null || true
    wait "$ctd_pid" 2>/dev/null || true
  fi
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

build_peer() {
  local gopath=$work/gopath out=$build/bench/metadata/mdpeer
  mkdir -p "$gopath/src/berth/mdpeer"
  cp "$here/ctrpeer/main.go" "$gopath/src/berth/mdpeer/"
  (cd "$gopath/src/berth/mdpeer" &&
    GO111MODULE=off GOPROXY=off GOFLAGS='' GOPATH="$gopath:/usr/share/gocode" CGO_ENABLED=0 \
      go build -trimpath -o "$out" .) >&2
  echo "$out"
}

start_containerd() {
  local dir=$work/ctd
  sock=$dir/c.sock
  mkdir -p "$dir/root" "$dir/state" "$dir/tmp"
  cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
temp = "$dir/tmp"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]
[grpc]
  address = "$sock"
  max_recv_message_size = 536870912
  max_send_message_size = 536870912
[ttrpc]
  address = "$sock.ttrpc"
[plugins."io.containerd.gc.v1.scheduler"]
  pause_threshold = 0.0001
  deletion_threshold = 0
  mutation_threshold = 100
  schedule_delay = "0s"
  startup_delay = "1000h"
TOML
  containerd --config "$dir/config.toml" </dev/null >"$dir/containerd.log" 2>&1 &
  ctd_pid=$!
  local i
  for ((i = 0; i < 200; i++)); do
    ctr --address "$sock" version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  tail -n 20 "$dir/containerd.log" >&2
  die "containerd did not start"
}

echo "== $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cpus"
peer=$(build_peer)
echo "== containerd $(containerd --version | awk '{print $3}')"
start_containerd
"$peer" --address "$sock" --count "$count" --inflight "$inflight" --gc-images "$gc_images" |
  tee "$work/containerd.out"
kill -TERM "$ctd_pid"
wait "$ctd_pid" 2>/dev/null || true
ctd_pid=""
rm -rf --one-file-system "$work/ctd"
echo "== berth"
"$bench" --build-dir "$build" --count "$count" --inflight "$inflight" --gc-images "$gc_images" |
  tee "$work/berth.out"
echo "== load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
printf '%-30s %14s %14s %10s\n' metric berth containerd ratio
awk '
  FNR == 1 { file++ }
  $1 == "result" && file == 1 { b[$2] = $3; order[++n] = $2 }
  $1 == "result" && file == 2 { c[$2] = $3 }
  END {
    for (i = 1; i <= n; i++) {
      m = order[i]
      if (m in c && c[m] > 0) printf "%-30s %14.1f %14.1f %10.2f\n", m, b[m], c[m], b[m] / c[m]
      else printf "%-30s %14.1f %14s %10s\n", m, b[m], "-", "-"
    }
  }' "$work/berth.out" "$work/containerd.out"
echo "(ratio = berth / containerd: above 1 is better for *_per_s, below 1 is better for *_ms)"
