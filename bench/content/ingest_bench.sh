#!/usr/bin/env bash
# Content store benchmark (issue: berth-content). Measured in the same run, same file, warm cache;
# odd runs measure the peer first, even runs Berth first:
#
#   ingest (file):   berthctl content ingest --expected D REF < FILE
#                      the file goes to berth-content as an fd (SCM_RIGHTS); berth-content copies
#                      it into the ingest inside the kernel, hashes it, fsyncs, renames into place
#   ingest (stream): cat FILE | berthctl content ingest --expected D REF
#                      the bytes cross content.sock in 1 MiB Write messages
#     vs             sha256sum FILE; cp FILE COPY          (the goal, for both ingests: <= this)
#     and            sha256sum FILE; cp FILE COPY; sync    (the same with durability: the ingest
#                                                          fsyncs before it commits)
#   read:            berthctl content get D | wc -c        (fd handed over, sendfile to the pipe)
#     vs             cat FILE | wc -c
#
# For each it prints wall time and CPU time (user + system, including berth-content's own), one
# line per run, then the median ratios. Wall time is the goal's measure; CPU time is printed
# because it is far less sensitive to a busy machine. Never fails on timing (benchmarks are not
# tests); exits non-zero only when something breaks.
#
# Usage: bench/content/ingest_bench.sh [BUILD_DIR]     (env: SIZE_MB=1024 RUNS=5 BENCH_DIR=/tmp)
set -euo pipefail

build=${1:-${BERTH_BUILD_DIR:-build}}
size_mb=${SIZE_MB:-1024}
runs=${RUNS:-5}
content_bin=$build/services/content/berth-content
ctl_bin=$build/cli/berthctl
for bin in "$content_bin" "$ctl_bin"; do
  [[ -x $bin ]] || { echo "missing $bin (build berth-content and berthctl first)" >&2; exit 1; }
done

work=$(mktemp -d "${BENCH_DIR:-/tmp}/b-bench-XXXXXX")
service_pid=
cleanup() {
  if [[ -n $service_pid ]]; then kill -9 "$service_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ticks_per_second=$(getconf CLK_TCK)
# CPU seconds (user + system) berth-content has used so far.
service_cpu() { awk -v hz="$ticks_per_second" '{ printf "%.3f", ($14 + $15) / hz }' \
  "/proc/$service_pid/stat"; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mbps() { awk -v s="$size_mb" -v t="$1" 'BEGIN { printf "%.0f", s / t }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# measure CMD...: runs CMD through bash's `time`; sets wall and cpu (user + system of CMD and its
# children, plus what berth-content spent meanwhile).
measure() {
  local before after times
  before=$(service_cpu)
  times=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null; } 2>&1 | tail -1)
  after=$(service_cpu)
  wall=$(awk '{ print $1 }' <<<"$times")
  cpu=$(awk -v s="$(sub "$after" "$before")" '{ printf "%.3f", $2 + $3 + s }' <<<"$times")
}

echo "generating ${size_mb} MiB of random data in $work"
head -c "${size_mb}M" /dev/urandom >"$work/blob"
digest="sha256:$(sha256sum "$work/blob" | cut -d' ' -f1)"

mkdir -p "$work/root" "$work/state"
chmod 700 "$work/state"
"$content_bin" --root "$work/root" --state "$work/state" --berthd none --log-level warn &
service_pid=$!
for _ in $(seq 200); do [[ -S $work/state/content.sock ]] && break; sleep 0.05; done
[[ -S $work/state/content.sock ]] || { echo "berth-content did not start" >&2; exit 1; }

ctl() { "$ctl_bin" --state "$work/state" "$@"; }
ingest_file() { ctl content ingest --expected "$digest" "$1" <"$work/blob"; }
ingest_stream() { cat "$work/blob" | ctl content ingest --expected "$digest" "$1"; }
peer_ingest() { sha256sum "$work/blob" && cp "$work/blob" "$work/copy"; }
peer_durable() { peer_ingest && sync "$work/copy"; }
check_ingested() {
  [[ $(ctl content ls -q) == "$digest" ]] || { echo "ingest did not commit $digest" >&2; exit 1; }
}

# The peer's side of a run: sets peer_wall, peer_cpu, durable_wall, cat_wall, cat_cpu.
run_peer() {
  sync
  measure peer_ingest; peer_wall=$wall; peer_cpu=$cpu
  rm -f "$work/copy"; sync
  measure peer_durable; durable_wall=$wall
  rm -f "$work/copy"; sync
  measure sh -c "cat '$work/blob' | wc -c"; cat_wall=$wall; cat_cpu=$cpu
}

# Berth's side of run $1: sets file_*, stream_*, get_*; leaves the store empty.
run_berth() {
  sync
  measure ingest_file "file-$1"; file_wall=$wall; file_cpu=$cpu
  check_ingested
  ctl content rm "$digest" >/dev/null; sync
  measure ingest_stream "stream-$1"; stream_wall=$wall; stream_cpu=$cpu
  check_ingested
  local n_get
  n_get=$(ctl content get "$digest" | wc -c)
  if [[ $n_get != "$size_bytes" ]]; then
    echo "get returned $n_get bytes, expected $size_bytes" >&2
    exit 1
  fi
  measure sh -c "'$ctl_bin' --state '$work/state' content get $digest | wc -c"
  get_wall=$wall; get_cpu=$cpu
  ctl content rm "$digest" >/dev/null
}

cat "$work/blob" >/dev/null  # warm the page cache for everyone
size_bytes=$(stat -c %s "$work/blob")
declare -A ratios
for run in $(seq "$runs"); do
  # Odd runs measure the peer first, even runs Berth first: neither side always gets the
  # machine in the state the other left it in.
  if (( run % 2 == 1 )); then
    order="peer first"; run_peer; run_berth "$run"
  else
    order="berth first"; run_berth "$run"; run_peer
  fi

  ratios[file]+="$(ratio "$file_wall" "$peer_wall") "
  ratios[file_durable]+="$(ratio "$file_wall" "$durable_wall") "
  ratios[file_cpu]+="$(ratio "$file_cpu" "$peer_cpu") "
  ratios[stream]+="$(ratio "$stream_wall" "$peer_wall") "
  ratios[stream_cpu]+="$(ratio "$stream_cpu" "$peer_cpu") "
  ratios[get]+="$(ratio "$get_wall" "$cat_wall") "
  ratios[get_cpu]+="$(ratio "$get_cpu" "$cat_cpu") "
  echo "run $run ($order): sha256sum+cp ${peer_wall}s (cpu ${peer_cpu}s, +sync ${durable_wall}s)" \
    "| ingest file ${file_wall}s $(mbps "$file_wall") MiB/s (cpu ${file_cpu}s)" \
    "| ingest stream ${stream_wall}s (cpu ${stream_cpu}s)" \
    "| get ${get_wall}s (cpu ${get_cpu}s) vs cat ${cat_wall}s (cpu ${cat_cpu}s)"
done

med() { tr ' ' '\n' <<<"${ratios[$1]}" | grep . | median; }
echo "median ingest file   / (sha256sum + cp):        wall $(med file) (goal <= 1.00)," \
  "cpu $(med file_cpu)"
echo "median ingest file   / (sha256sum + cp + sync): wall $(med file_durable)"
echo "median ingest stream / (sha256sum + cp):        wall $(med stream) (goal <= 1.00)," \
  "cpu $(med stream_cpu)"
echo "median get | wc / cat | wc:                     wall $(med get) (goal ~ 1.00)," \
  "cpu $(med get_cpu)"
