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

measure() {  # measure PATTERN -> "count sum-Pss sum-Pss_Anon"
  local p sum=0 anon=0 count=0
  for p in $(pgrep -f "$1" || true); do
    grep -qF -- "-address $sock " <(tr '\0' ' ' <"/proc/$p/cmdline") || continue
    sum=$((sum + $(pss_kib "$p"))); count=$((count + 1))
    anon=$((anon + $(awk '/^Pss_Anon:/ {print $2}' "/proc/$p/smaps_rollup")))
  done
  echo "$count $sum $anon"
}
read -r bn bsum banon < <(measure 'containerd-shim-berth-v1|berth-shim')
read -r rn rsum ranon < <(measure 'containerd-shim-runc-v2')
# One shim per container on each side, or the sums do not compare (and a count of 0 divides by
# zero below): a shim the pattern missed, or one that died, must not pass unnoticed.
if [[ $bn != "$n" || $rn != "$n" ]]; then
  echo "shim_memory: expected $n shims of each kind, found $bn berth-shim and $rn" \
    "containerd-shim-runc-v2; the tasks:" >&2
  ctr_ -n bench-berth task ls >&2 || true
  ctr_ -n bench-runc task ls >&2 || true
  exit 1
fi
printf '%-26s %8s %12s %12s %14s\n' shim count "sum Pss KiB" "mean KiB" "mean anon KiB"
printf '%-26s %8d %12d %12d %14d\n' berth-shim "$bn" "$bsum" $((bsum / bn)) $((banon / bn))
printf '%-26s %8d %12d %12d %14d\n' containerd-shim-runc-v2 "$rn" "$rsum" $((rsum / rn)) \
  $((ranon / rn))
awk -v b="$bsum" -v r="$rsum" 'BEGIN { printf "berth-shim / runc-v2 = %.3f (goal <= 0.200)\n", b / r }'
