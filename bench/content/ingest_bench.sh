#!/usr/bin/env bash
# Content store benchmark (issue: berth-content). Measured in the same run, same file, warm cache:
#
#   ingest:  berthctl content ingest --expected D REF < FILE   (client reads the file, streams it
#            over content.sock; berth-content hashes, writes, fsyncs, renames into place)
#     vs     sha256sum FILE; cp FILE COPY                       (the goal: ingest <= this)
#     and    sha256sum FILE; cp FILE COPY; sync COPY            (the same with durability, as
#                                                               the ingest fsyncs before commit)
#   read:    berthctl content get D | wc -c                     (fd handed over, sendfile)
#     vs     cat FILE | wc -c
#
# Prints one line per run and the median ratios. Never fails on timing (benchmarks are not
# tests); exits non-zero only when something breaks.
#
# Usage: bench/content/ingest_bench.sh [BUILD_DIR]     (env: SIZE_MB=1024 RUNS=3 BENCH_DIR=/tmp)
set -euo pipefail

build=${1:-${BERTH_BUILD_DIR:-build}}
size_mb=${SIZE_MB:-1024}
runs=${RUNS:-3}
content_bin=$build/services/content/berth-content
ctl=$build/cli/berthctl
for bin in "$content_bin" "$ctl"; do
  [[ -x $bin ]] || { echo "missing $bin (build berth-content and berthctl first)" >&2; exit 1; }
done

work=$(mktemp -d "${BENCH_DIR:-/tmp}/b-bench-XXXXXX")
service_pid=
cleanup() {
  [[ -n $service_pid ]] && kill -9 "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mbps() { awk -v s="$size_mb" -v t="$1" 'BEGIN { printf "%.0f", s / t }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "generating ${size_mb} MiB of random data in $work"
head -c "${size_mb}M" /dev/urandom >"$work/blob"
digest="sha256:$(sha256sum "$work/blob" | cut -d' ' -f1)"

mkdir -p "$work/root" "$work/state"
chmod 700 "$work/state"
"$content_bin" --root "$work/root" --state "$work/state" --berthd none --log-level warn &
service_pid=$!
for _ in $(seq 200); do [[ -S $work/state/content.sock ]] && break; sleep 0.05; done
[[ -S $work/state/content.sock ]] || { echo "berth-content did not start" >&2; exit 1; }
ctl() { "$ctl" --state "$work/state" "$@"; }

cat "$work/blob" >/dev/null  # warm the page cache for everyone
ingest_ratios=()
durable_ratios=()
read_ratios=()
for run in $(seq "$runs"); do
  sync
  t0=$(now); sha256sum "$work/blob" >/dev/null; t1=$(now)
  cp "$work/blob" "$work/copy"; t2=$(now)
  sync -d "$work/copy" 2>/dev/null || sync; t3=$(now)
  rm -f "$work/copy"
  sha=$(elapsed "$t0" "$t1"); cp_t=$(elapsed "$t1" "$t2"); sync_t=$(elapsed "$t2" "$t3")
  baseline=$(awk -v a="$sha" -v b="$cp_t" 'BEGIN { printf "%.3f", a + b }')
  durable=$(awk -v a="$baseline" -v b="$sync_t" 'BEGIN { printf "%.3f", a + b }')

  sync
  t0=$(now)
  got=$(ctl content ingest --expected "$digest" "bench-$run" <"$work/blob")
  t1=$(now)
  [[ $got == "$digest" ]] || { echo "ingest answered '$got', expected $digest" >&2; exit 1; }
  ingest=$(elapsed "$t0" "$t1")

  t0=$(now); n_cat=$(cat "$work/blob" | wc -c); t1=$(now)
  n_get=$(ctl content get "$digest" | wc -c); t2=$(now)
  [[ $n_get == "$n_cat" ]] || { echo "get returned $n_get bytes, expected $n_cat" >&2; exit 1; }
  cat_t=$(elapsed "$t0" "$t1"); get_t=$(elapsed "$t1" "$t2")
  ctl content rm "$digest" >/dev/null

  ingest_ratios+=("$(ratio "$ingest" "$baseline")")
  durable_ratios+=("$(ratio "$ingest" "$durable")")
  read_ratios+=("$(ratio "$get_t" "$cat_t")")
  echo "run $run: ingest ${ingest}s ($(mbps "$ingest") MiB/s) | sha256sum ${sha}s + cp ${cp_t}s" \
    "= ${baseline}s (+ sync ${sync_t}s) | get ${get_t}s vs cat ${cat_t}s"
done

echo "median ingest / (sha256sum + cp):        $(printf '%s\n' "${ingest_ratios[@]}" | median)" \
  "(goal <= 1.00)"
echo "median ingest / (sha256sum + cp + sync): $(printf '%s\n' "${durable_ratios[@]}" | median)"
echo "median get / cat (through a pipe):       $(printf '%s\n' "${read_ratios[@]}" | median)" \
  "(goal ~ 1.00)"
