#!/usr/bin/env bash
# Side-by-side ttrpc benchmark: Berth's ipc (bench/ipc/berth-ipc-bench) against ttrpc-go (the Go
# peer, tests/go/ttrpcpeer, built from Debian's containerd ttrpc sources), in one run.
#
# Usage: bench/run-ipc.sh BUILD_DIR [--rounds N] [--duration 3s] [--latency-calls 20000]
#                                   [--inflight 64]
#
# Every combination runs in two processes (a server, a client), one after the other, in the
# order go->go, berth->berth, go->berth, berth->go, repeated --rounds times (default 3); the
# table shows the median of the rounds per combination and ratios against go->go measured in the
# same run. The servers stay up for the whole run. Each client does the same two phases
# (bench.go): latency = sequential calls, p50/p99 in µs; throughput = --inflight calls in flight
# on one connection, requests/s. Nothing is pinned; the machine load is printed at the start
# and the end because other work on a shared machine moves these numbers.
# Needs: BUILD_DIR/bench/ipc/berth-ipc-bench (ninja -C BUILD_DIR berth-ipc-bench) and Go
# (the peer is built offline into BUILD_DIR/tests/go if missing or stale).
set -euo pipefail

die() { echo "run-ipc.sh: $*" >&2; exit 1; }

build=${1:-}
usage="usage: run-ipc.sh BUILD_DIR [--rounds N] [--duration D] [--latency-calls N] [--inflight K]"
[[ -n $build && -d $build ]] || die "$usage"
build=$(cd "$build" && pwd)
shift
rounds=3 duration=3s calls=20000 inflight=64
while (($#)); do
  case $1 in
    --rounds) rounds=${2:?}; shift 2 ;;
    --duration) duration=${2:?}; shift 2 ;;
    --latency-calls) calls=${2:?}; shift 2 ;;
    --inflight) inflight=${2:?}; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
berth=$build/bench/ipc/berth-ipc-bench
[[ -x $berth ]] || die "$berth is missing: run ninja -C $build berth-ipc-bench"
go_peer=$("$here/../tests/go/build-peer.sh" "$build/tests/go")

work=$(mktemp -d /tmp/b-bench-XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start_server NAME BINARY: serves on $work/NAME.sock; waits for its "ready" line.
start_server() {
  local name=$1 bin=$2 i
  "$bin" serve --socket "$work/$name.sock" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  for ((i = 0; i < 100; i++)); do
    grep -q '^ready' "$work/$name.out" 2>/dev/null && return 0
    sleep 0.05
  done
  cat "$work/$name.err" >&2
  die "$name server did not start"
}
start_server go "$go_peer"
start_server berth "$berth"

client_bin() { [[ $1 == go ]] && echo "$go_peer" || echo "$berth"; }

# field JSON KEY: a number from the one-line JSON the clients print.
field() { sed -E "s/.*\"$2\":([0-9.eE+-]+).*/\1/" <<<"$1"; }

combos=(go:go berth:berth go:berth berth:go)
declare -A p50 p99 rps
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= rounds; r++)); do
  for combo in "${combos[@]}"; do
    client=${combo%%:*} server=${combo##*:}
    out=$("$(client_bin "$client")" bench --socket "$work/$server.sock" --duration "$duration" \
      --latency-calls "$calls" --inflight "$inflight") || die "$client -> $server failed"
    echo "round $r $client -> $server: $out"
    p50[$combo]+="$(field "$out" p50_us) " p99[$combo]+="$(field "$out" p99_us) "
    rps[$combo]+="$(field "$out" rps) "
  done
done
echo "load average at end:   $(cut -d' ' -f1-3 /proc/loadavg)"

median() {
  tr ' ' '\n' <<<"$1" | grep . | sort -g |
    awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

echo
echo "median of $rounds rounds; latency-calls=$calls, duration=$duration, inflight=$inflight"
printf '%-16s %10s %10s %12s %10s %10s %10s\n' "client -> server" p50_us p99_us req/s \
  "p50/go" "p99/go" "rps/go"
go_p50=$(median "${p50[go:go]}") go_p99=$(median "${p99[go:go]}") go_rps=$(median "${rps[go:go]}")
for combo in "${combos[@]}"; do
  m50=$(median "${p50[$combo]}") m99=$(median "${p99[$combo]}") mrps=$(median "${rps[$combo]}")
  printf '%-16s %10.1f %10.1f %12.0f %10s %10s %10s\n' "${combo%%:*} -> ${combo##*:}" \
    "$m50" "$m99" "$mrps" "$(ratio "$m50" "$go_p50")" "$(ratio "$m99" "$go_p99")" \
    "$(ratio "$mrps" "$go_rps")"
done

b50=$(median "${p50[berth:berth]}") b99=$(median "${p99[berth:berth]}")
brps=$(median "${rps[berth:berth]}")
verdict() {
  awk -v v="$1" -v lim="$2" -v op="$3" \
    'BEGIN {ok = (op == "le") ? v <= lim : v >= lim; print ok ? "met" : "MISSED"}'
}
echo
echo "goal (berth -> berth vs go -> go):" \
  "p50 <= 0.25x: $(verdict "$(ratio "$b50" "$go_p50")" 0.25 le)," \
  "p99 <= 0.25x: $(verdict "$(ratio "$b99" "$go_p99")" 0.25 le)," \
  "req/s >= 1.5x: $(verdict "$(ratio "$brps" "$go_rps")" 1.5 ge)"
