#!/usr/bin/env bash
# Berth vs containerd 1.6, side by side in the same run, same runc, same busybox image:
#   1. wall time of `berthctl run --rm IMAGE id true` vs `ctr run --rm IMAGE id true`, RUNS runs
#      each (default 20, after 2 warm-up runs), medians and their ratio (goal: Berth <= 0.35);
#   2. daemon memory at rest with CONTAINERS (default 50) `sleep` containers each: the sum of PSS
#      of every Berth daemon (berthd + the four services) vs containerd's (goal: <= 1/3). Shims
#      are reported apart (one per container on both sides).
# Berth runs with its own shim unless BERTH_RUNTIME is set (e.g. io.containerd.runc.v2).
# Usage: bench/run/run_bench.sh   (as root; BERTH_BUILD_DIR defaults to ./build)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${BERTH_BUILD_DIR:-$src/build}
RUNS=${RUNS:-20}
CONTAINERS=${CONTAINERS:-50}
BERTH_RUNTIME=${BERTH_RUNTIME:-io.containerd.berth.v1}
image=docker.io/berth/busybox:latest

work=$(mktemp -d /tmp/b-runbench-XXXXXX)
state=$work/s
berthd_pid=
ctd_sock=

berthctl() { "$build/cli/berthctl" --state "$state" "$@"; }
ctr_() { ctr --address "$ctd_sock" "$@"; }

cleanup() {
  set +e
  if [[ -n $berthd_pid ]]; then
    for id in $(berthctl container ls -q 2>/dev/null); do
      berthctl rm -f "$id" >/dev/null 2>&1
    done
    kill -TERM "$berthd_pid" 2>/dev/null
    wait "$berthd_pid" 2>/dev/null
  fi
  # Whatever rm could not reach: containers of this state's runc root, then their shims.
  for id in $(runc --root "$state/runc/default" list -q 2>/dev/null); do
    runc --root "$state/runc/default" delete --force "$id" >/dev/null 2>&1
  done
  pkill -KILL -f -- "$work/" 2>/dev/null
  [[ -n $ctd_sock ]] && "$src/tests/fixtures/containerd.sh" stop "$work/ctd" >/dev/null 2>&1
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
now_ns() { date +%s%N; }
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
sum_pss() { local t=0 p; for p in "$@"; do t=$((t + $(pss_kib "$p"))); done; echo "$t"; }

echo "== setup (image, berthd, containerd)"
"$src/tests/fixtures/images.sh" oci-archive "$work/busybox.tar" >/dev/null
mkdir -p "$state" "$work/root"
cat >"$work/berthd.toml" <<TOML
[services.binaries]
content = "$build/services/content/berth-content"
snapshot = "$build/services/snapshot/berth-snapshot"
metadata = "$build/services/metadata/berth-metadata"
runtime = "$build/services/runtime/berth-runtime"
TOML
"$build/supervisor/berthd" --config "$work/berthd.toml" --root "$work/root" --state "$state" \
  >"$work/berthd.log" 2>&1 &
berthd_pid=$!
for _ in $(seq 200); do berthctl task ls >/dev/null 2>&1 && break; sleep 0.05; done
berthctl image import --base-name docker.io/berth/busybox "$work/busybox.tar" >/dev/null
ctd_sock=$("$src/tests/fixtures/containerd.sh" start "$work/ctd")
ctr_ images import --base-name docker.io/berth/busybox "$work/busybox.tar" >/dev/null

echo "== run --rm ... true: $RUNS runs each (after 2 warm-up runs), alternating"
berth_times=() ctd_times=()
for i in $(seq -2 "$RUNS"); do
  t0=$(now_ns); berthctl run --rm --runtime "$BERTH_RUNTIME" "$image" "b$i" true; t1=$(now_ns)
  ctr_ run --rm "$image" "c$i" true; t2=$(now_ns)
  if ((i > 0)); then
    berth_times+=($(((t1 - t0) / 1000))) ctd_times+=($(((t2 - t1) / 1000)))
  fi
done
b=$(printf '%s\n' "${berth_times[@]}" | median)
c=$(printf '%s\n' "${ctd_times[@]}" | median)
echo "berthctl run --rm: median $((${b%.*} / 1000)) ms"
echo "ctr run --rm:      median $((${c%.*} / 1000)) ms"
awk -v b="$b" -v c="$c" 'BEGIN {printf "ratio Berth/containerd: %.3f (goal <= 0.35)\n", b / c}'

echo "== memory at rest with $CONTAINERS containers each"
for i in $(seq "$CONTAINERS"); do
  berthctl run -d --runtime "$BERTH_RUNTIME" "$image" "m$i" sleep 100000 >/dev/null
  ctr_ run -d "$image" "m$i" sleep 100000 >/dev/null
done
sleep 3
berth_pids=("$berthd_pid")
for f in "$state"/services/*.pid; do berth_pids+=("$(head -n1 "$f" | awk '{print $1}')"); done
ctd_pid=$(cat "$work/ctd/pid")
berth_shims=$(pgrep -f -- "-address $state/runtime.sock" || true)
ctd_shims=$(pgrep -f -- "-address $ctd_sock" || true)
bp=$(sum_pss "${berth_pids[@]}")
cp=$(sum_pss "$ctd_pid")
echo "Berth daemons (${#berth_pids[@]} processes): PSS $bp KiB"
echo "containerd daemon:              PSS $cp KiB"
awk -v b="$bp" -v c="$cp" 'BEGIN {printf "ratio Berth/containerd: %.3f (goal <= 0.333)\n", b / c}'
echo "shims: Berth $(sum_pss $berth_shims) KiB in $(echo $berth_shims | wc -w), containerd $(sum_pss $ctd_shims) KiB in $(echo $ctd_shims | wc -w)"
for i in $(seq "$CONTAINERS"); do
  ctr_ task kill -s KILL "m$i" >/dev/null 2>&1 || true
done
sleep 1
for i in $(seq "$CONTAINERS"); do
  ctr_ task rm "m$i" >/dev/null 2>&1 || true
  ctr_ containers rm "m$i" >/dev/null 2>&1 || true
done
