#!/usr/bin/env bash
# Start-to-exit latency of berth-shim next to containerd-shim-runc-v2, in the same run:
# `ctr run --rm IMAGE ID true` N times with each runtime (default 20), alternating so both see
# the same machine load. Reports mean, median and min wall time per run.
# Goal: berth-shim at least as fast as containerd-shim-runc-v2.
#   bench/shim/shim_latency.sh [N]
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
n=${1:-20}
trap bench_cleanup EXIT
bench_setup bench

ctr_() { ctr --address "$sock" -n bench "$@"; }
now_ms() { date +%s%N | awk '{printf "%.3f\n", $1 / 1e6}'; }
run_once() {  # run_once RUNTIME ID -> milliseconds
  local start end
  start=$(now_ms)
  ctr_ run --rm --runtime "$1" "$image" "$2" true >/dev/null
  end=$(now_ms)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", b - a }'
}
# One warm-up each (page cache, first shim exec).
run_once io.containerd.berth.v1 warm-b >/dev/null
run_once io.containerd.runc.v2 warm-r >/dev/null
: >"$work/berth.ms"; : >"$work/runc.ms"
# A pause after each run lets the previous shim's teardown (containerd runs `<shim> delete`
# after the connection closes) finish, so neither runtime pays for the other's cleanup.
settle=${BENCH_SETTLE:-0.5}
for i in $(seq 1 "$n"); do
  run_once io.containerd.berth.v1 "b$i" >>"$work/berth.ms"
  sleep "$settle"
  run_once io.containerd.runc.v2 "r$i" >>"$work/runc.ms"
  sleep "$settle"
done

stats() {  # stats FILE -> "mean median min"
  sort -n "$1" | awk '{ v[NR] = $1; s += $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.1f %.1f %.1f\n", s / NR, m, v[1] }'
}
read -r bmean bmed bmin < <(stats "$work/berth.ms")
read -r rmean rmed rmin < <(stats "$work/runc.ms")
printf '%-26s %6s %10s %10s %10s\n' runtime runs "mean ms" "median ms" "min ms"
printf '%-26s %6d %10s %10s %10s\n' berth-shim "$n" "$bmean" "$bmed" "$bmin"
printf '%-26s %6d %10s %10s %10s\n' containerd-shim-runc-v2 "$n" "$rmean" "$rmed" "$rmin"
echo "berth-shim samples: $(sort -n "$work/berth.ms" | tr '\n' ' ')"
echo "runc-v2 samples:    $(sort -n "$work/runc.ms" | tr '\n' ' ')"
awk -v b="$bmed" -v r="$rmed" 'BEGIN { printf "median berth-shim / runc-v2 = %.3f (goal <= 1.000)\n", b / r }'
