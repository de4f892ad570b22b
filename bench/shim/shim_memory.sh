#!/usr/bin/env bash
# Memory of berth-shim next to containerd-shim-runc-v2, measured in the same run: N `sleep`
# containers under each (default 50), then the sum and mean of Pss (/proc/PID/smaps_rollup) per
# shim. Goal: berth-shim at most 1/5 of containerd-shim-runc-v2.
#   bench/shim/shim_memory.sh [N]
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
n=${1:-50}
trap bench_cleanup EXIT
bench_setup bench-berth bench-runc

ctr_() { ctr --address "$sock" "$@"; }
for i in $(seq 1 "$n"); do
  ctr_ -n bench-berth run -d --runtime io.containerd.berth.v1 "$image" "m$i" sleep 100000
  ctr_ -n bench-runc run -d --runtime io.containerd.runc.v2 "$image" "m$i" sleep 100000
done
sleep 2  # let both settle (Go's runtime allocates lazily)

measure() {  # measure PATTERN -> "count sum"
  local p sum=0 count=0
  for p in $(pgrep -f "$1" || true); do
    grep -qF -- "-address $sock " <(tr '\0' ' ' <"/proc/$p/cmdline") || continue
    sum=$((sum + $(pss_kib "$p"))); count=$((count + 1))
  done
  echo "$count $sum"
}
read -r bn bsum < <(measure 'containerd-shim-berth-v1|berth-shim')
read -r rn rsum < <(measure 'containerd-shim-runc-v2')
printf '%-26s %8s %12s %12s\n' shim count "sum Pss KiB" "mean KiB"
printf '%-26s %8d %12d %12d\n' berth-shim "$bn" "$bsum" $((bsum / bn))
printf '%-26s %8d %12d %12d\n' containerd-shim-runc-v2 "$rn" "$rsum" $((rsum / rn))
awk -v b="$bsum" -v r="$rsum" 'BEGIN { printf "berth-shim / runc-v2 = %.3f (goal <= 0.200)\n", b / r }'
