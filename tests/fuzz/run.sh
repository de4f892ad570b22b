#!/usr/bin/env bash
# Runs every libFuzzer target of a BERTH_FUZZ build for SECONDS each, from a seed corpus made
# here (valid ttrpc frames and calls, so the fuzzers start from inputs that reach deep code;
# layers from apply_seeds.sh for apply_fuzz, which runs when it was built).
# Builds nothing: build the targets first (see tests/fuzz/CMakeLists.txt).
#
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS
# Exit status: 0 when no fuzzer found anything; 1 when one crashed, hung (-timeout) or hit a
# sanitizer; the failing input is kept in BUILD_DIR/fuzz-artifacts/ and printed in hex.
set -euo pipefail

die() { echo "fuzz/run.sh: $*" >&2; exit 2; }

build=${1:-} seconds=${2:-}
[[ -n $build && -d $build && $seconds =~ ^[0-9]+$ ]] || die "usage: run.sh BUILD_DIR SECONDS"
build=$(cd "$build" && pwd)
fuzzers=(frame_fuzz request_fuzz server_fuzz)
for f in "${fuzzers[@]}"; do
  [[ -x $build/tests/fuzz/$f ]] ||
    die "$build/tests/fuzz/$f is missing: configure with -DBERTH_FUZZ=ON and clang, then build it"
done
# The layer apply fuzzer joins when it was built (it needs root: mknod, chown, trusted.* xattrs).
if [[ -x $build/tests/fuzz/apply_fuzz ]]; then
  ((EUID == 0)) || die "apply_fuzz needs root"
  fuzzers+=(apply_fuzz)
fi

work=$(mktemp -d /tmp/b-fuzz-XXXXXX)
trap 'rm -rf "$work"' EXIT
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"

# --- seed encoding, in hex (bash strings cannot hold NUL bytes) ---
hexstr() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
varint() {
  local n=$1 out=""
  while ((n >= 128)); do out+=$(printf '%02x' $(((n & 127) | 128))); n=$((n >> 7)); done
  printf '%s%02x' "$out" "$n"
}
# ld FIELD HEX: a length-delimited field; vi FIELD N: a varint field
ld() { printf '%s%s%s' "$(varint $((($1 << 3) | 2)))" "$(varint $((${#2} / 2)))" "$2"; }
vi() { printf '%s%s' "$(varint $(($1 << 3)))" "$(varint "$2")"; }
u32() { printf '%08x' "$1"; }
# frame ID TYPE FLAGS BODYHEX
frame() { printf '%s%s%02x%02x%s' "$(u32 $((${#4} / 2)))" "$(u32 "$1")" "$2" "$3" "$4"; }
# request SERVICE METHOD PAYLOADHEX: a ttrpc Request with a namespace and a 1 s timeout
request() {
  printf '%s%s%s%s%s' "$(ld 1 "$(hexstr "$1")")" "$(ld 2 "$(hexstr "$2")")" "$(ld 3 "$3")" \
    "$(vi 4 1000000000)" \
    "$(ld 5 "$(ld 1 "$(hexstr containerd-namespace-ttrpc)")$(ld 2 "$(hexstr fuzz)")")"
}
unhex() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")"; }
seed() { unhex "$2" >"$1"; }

echo_svc=berth.testing.v1.Echo
echo_req=$(ld 1 "$(hexstr ping)")$(ld 2 "$(hexstr tag)")
echo_frame=$(frame 1 1 0 "$(request $echo_svc Echo "$echo_req")")
sleep_frame=$(frame 3 1 0 "$(request $echo_svc Sleep "$(vi 1 1)")")
count_frame=$(frame 5 1 1 "$(request $echo_svc Count "$(vi 1 3)")")
sum_frames=$(frame 7 1 2 "$(request $echo_svc Sum "")")
sum_frames+=$(frame 7 3 0 "$(vi 1 5)")$(frame 7 3 0 "$(vi 1 7)")$(frame 7 3 5 "")
chat_frames=$(frame 9 1 2 "$(request $echo_svc Chat "")")
chat_frames+=$(frame 9 3 0 "$echo_req")$(frame 9 3 5 "")
bad_frames=$(frame 2 1 0 "$(request $echo_svc Echo "")")$(frame 11 1 0 "0affffffff0f01")
bad_frames+=$(frame 13 1 0 "$(request berth.NoSuch Echo "")")
oversize=$(u32 $((5 << 20)))$(u32 15)0100$(hexstr xxxxxxxx)

mkdir -p "$work/frame_fuzz" "$work/request_fuzz" "$work/server_fuzz"
seed "$work/frame_fuzz/one" "00$echo_frame"
seed "$work/frame_fuzz/many" "07$echo_frame$count_frame$sum_frames"
seed "$work/frame_fuzz/oversize" "03$oversize$echo_frame"
seed "$work/frame_fuzz/partial" "05${echo_frame:0:30}"
seed "$work/request_fuzz/echo" "$(request $echo_svc Echo "$echo_req")"
seed "$work/request_fuzz/unknown-fields" \
  "$(request svc M "")$(vi 9 150)$(ld 11 "$(hexstr xy)")6b08016c"  # + group 13 {1: 1}
seed "$work/request_fuzz/empty" ""
seed "$work/server_fuzz/echo" "$echo_frame"
seed "$work/server_fuzz/sleep" "$sleep_frame"
seed "$work/server_fuzz/count" "$count_frame"
seed "$work/server_fuzz/sum" "$sum_frames"
seed "$work/server_fuzz/chat" "$chat_frames"
seed "$work/server_fuzz/all" "$echo_frame$sleep_frame$count_frame$sum_frames$chat_frames"
seed "$work/server_fuzz/bad" "$bad_frames$oversize$echo_frame"
if [[ " ${fuzzers[*]} " == *" apply_fuzz "* ]]; then
  "$(dirname "$0")/apply_seeds.sh" "$work/apply_fuzz" >/dev/null
fi

status=0
for f in "${fuzzers[@]}"; do
  log=$work/$f.log
  echo "== $f: ${seconds}s"
  if "$build/tests/fuzz/$f" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$f-" "$work/$f" >"$log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
    echo "== $f: no finding"
  else
    status=1
    tail -n 60 "$log"
    echo "== $f: FAILED; inputs kept in $artifacts:"
    for a in "$artifacts/$f-"*; do
      [[ -e $a ]] || continue
      echo "$a"
      od -An -tx1 -v "$a" | head -n 20
    done
  fi
done
exit $status
