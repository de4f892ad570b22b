#!/usr/bin/env bash
# Pull + unpack, side by side: containerd 1.6 (`ctr images pull`, Debian's package) and Berth
# (`berthctl image pull`), the same large multi-layer image from the same local registry, cold
# each time (each run starts both daemons on fresh temp roots; the roots are deleted only at
# the end, see cleanup_all, and the order alternates between runs).
#
# The image is made from files on this machine (/usr/lib, /usr/bin, /usr/share... in N layers,
# gzip'd; about TARGET_MB unpacked) and pushed once to Debian's docker-registry on 127.0.0.1. It
# is cached in CACHE_DIR so later runs skip the build.
#
# Prints one line per run (both times and the ratio) and the median ratio. Goal: Berth's time at
# most 0.4 of containerd's. Never fails on timing (benchmarks are not tests); exits non-zero
# only when something breaks.
#
# Usage: bench/pull/run.sh [BUILD_DIR]
#   env: RUNS=3 TARGET_MB=900 LAYERS=8 CONCURRENCY=3 CACHE_DIR=/var/tmp/berth-bench-pull
#        BENCH_DIR=/tmp DROP_CACHES=0 (1: drop the page cache before each pull; needs root)
set -euo pipefail
shopt -s inherit_errexit # a failed pull inside $(...) stops the benchmark

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "${1:-${BERTH_BUILD_DIR:-$src/build}}" && pwd)
runs=${RUNS:-3}
target_mb=${TARGET_MB:-900}
layers=${LAYERS:-8}
concurrency=${CONCURRENCY:-3}
cache=${CACHE_DIR:-/var/tmp/berth-bench-pull}
for bin in supervisor/berthd cli/berthctl services/content/berth-content \
  services/snapshot/berth-snapshot services/metadata/berth-metadata; do
  [[ -x $build/$bin ]] || { echo "missing $build/$bin (build it first)" >&2; exit 1; }
done
for tool in containerd ctr docker-registry skopeo sha256sum gzip tar; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/install-deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d "${BENCH_DIR:-/tmp}/b-pull-XXXXXX")
berthd_pid=
cleanup() {
  cleanup_all
  bash "$src/tests/fixtures/registry.sh" stop "$work/registry" >/dev/null 2>&1 || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
drop_caches() { [[ ${DROP_CACHES:-0} == 1 ]] && { sync; echo 3 >/proc/sys/vm/drop_caches; } || true; }

# build_image: an OCI layout in $cache/layout (tag "big"), from files of this machine.
build_image() {
  [[ -f $cache/layout/index.json ]] && return 0
  echo "building the benchmark image in $cache (once)..." >&2
  rm -rf "$cache" && mkdir -p "$cache/layout/blobs/sha256" "$cache/lists"
  local budget=$((target_mb * 1024 * 1024)) per=$((target_mb * 1024 * 1024 / layers))
  # Regular files of a few big trees, in a fixed order, cut into $layers lists of ~$per bytes.
  find /usr/lib/x86_64-linux-gnu /usr/lib/gcc /usr/bin /usr/share /usr/include -xdev -type f \
    -readable -printf '%s %p\n' 2>/dev/null | sort -k2 |
    awk -v per="$per" -v budget="$budget" -v n="$layers" -v d="$cache/lists" '
      { if (total >= budget) next;  # (read on: an early exit would SIGPIPE the pipeline)
        i = int(total / per); if (i >= n) i = n - 1;
        print substr($0, index($0, " ") + 1) > (d "/" i); total += $1 }'
  local diff_ids=() descs=() i f digest size
  for ((i = 0; i < layers; i++)); do
    f=$cache/layer-$i
    tar -C / --files-from=<(sed 's|^/||' "$cache/lists/$i") --owner=0 --group=0 --numeric-owner \
      -cf "$f.tar"
    diff_ids+=("\"sha256:$(sha256sum "$f.tar" | cut -d' ' -f1)\"")
    gzip -6 -c "$f.tar" >"$f.tar.gz" && rm "$f.tar"
    digest=$(sha256sum "$f.tar.gz" | cut -d' ' -f1)
    size=$(stat -c %s "$f.tar.gz")
    mv "$f.tar.gz" "$cache/layout/blobs/sha256/$digest"
    descs+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$digest\",\"size\":$size}")
  done
  local arch config manifest
  arch=$(dpkg --print-architecture)
  config=$(printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
    "$arch" "$(IFS=,; echo "${diff_ids[*]}")")
  printf '%s' "$config" >"$cache/config.json"
  digest=$(sha256sum "$cache/config.json" | cut -d' ' -f1)
  mv "$cache/config.json" "$cache/layout/blobs/sha256/$digest"
  manifest=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[%s]}' \
    "$digest" "${#config}" "$(IFS=,; echo "${descs[*]}")")
  printf '%s' "$manifest" >"$cache/manifest.json"
  digest=$(sha256sum "$cache/manifest.json" | cut -d' ' -f1)
  size=$(stat -c %s "$cache/manifest.json")
  mv "$cache/manifest.json" "$cache/layout/blobs/sha256/$digest"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$cache/layout/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"big"}}]}' \
    "$digest" "$size" >"$cache/layout/index.json"
  rm -rf "$cache/lists"
}

# start_berth DIR: berthd with the content, snapshot and metadata services on DIR.
start_berth() {
  local dir=$1
  mkdir -p "$dir"
  cat >"$dir/config.toml" <<TOML
root = "$dir/root"
state = "$dir/state"
[services]
spawn = true
names = ["content", "snapshot", "metadata"]
[services.binaries]
content = "$build/services/content/berth-content"
snapshot = "$build/services/snapshot/berth-snapshot"
metadata = "$build/services/metadata/berth-metadata"
TOML
  setsid "$build/supervisor/berthd" --config "$dir/config.toml" --root "$dir/root" \
    --state "$dir/state" </dev/null >"$dir/berthd.log" 2>&1 &
  berthd_pid=$!
  local i
  for ((i = 0; i < 300; i++)); do
    "$build/cli/berthctl" --state "$dir/state" image check >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  tail -n 20 "$dir/berthd.log" >&2
  echo "berth did not start" >&2
  exit 1
}

# stop_berth: stops berthd and its services; their files stay until cleanup.
stop_berth() {
  [[ -n $berthd_pid ]] || return 0
  kill -TERM "$berthd_pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 100; i++)); do kill -0 "$berthd_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$berthd_pid" 2>/dev/null || true
  berthd_pid=
}

# Deleting a pulled image frees ~40k inodes, and without a journal ext4 then makes new inode
# allocations skip the recently deleted ones for minutes (fs/ext4/ialloc.c recently_deleted):
# a pull right after the other's cleanup would pay for it. So nothing is deleted until the end
# (each run gets its own directories) and the order alternates between runs.
cleanup_all() {
  stop_berth
  local d
  for d in "$work"/ctrd-*; do
    [[ -d $d ]] && bash "$src/tests/fixtures/containerd.sh" stop "$d" >/dev/null 2>&1 || true
  done
  # Snapshots are not mounted after a pull, but be safe: unmount anything under our dirs.
  awk '{print $5}' /proc/self/mountinfo | { grep "^$work/" || true; } | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# pull_containerd RUN / pull_berth RUN: one cold pull; prints the seconds it took.
pull_containerd() {
  local sock t0 t1
  sock=$(bash "$src/tests/fixtures/containerd.sh" start "$work/ctrd-$1")
  drop_caches
  t0=$(now)
  ctr --address "$sock" -n bench images pull --plain-http "$ref" >/dev/null
  t1=$(now)
  elapsed "$t0" "$t1"
}

pull_berth() {
  local dir=$work/berth-$1 t0 t1
  start_berth "$dir"
  drop_caches
  t0=$(now)
  "$build/cli/berthctl" --state "$dir/state" image pull --plain-http --quiet \
    --max-concurrent "$concurrency" "$ref"
  t1=$(now)
  "$build/cli/berthctl" --state "$dir/state" image check "$ref" >/dev/null
  stop_berth
  elapsed "$t0" "$t1"
}

build_image
compressed=$(du -cb "$cache"/layout/blobs/sha256/* | tail -n 1 | cut -f1)
reg=$(bash "$src/tests/fixtures/registry.sh" start "$work/registry")
skopeo copy --quiet --insecure-policy --dest-tls-verify=false "oci:$cache/layout:big" \
  "docker://$reg/bench/big:1"
ref=$reg/bench/big:1
echo "image $ref: $layers layers, $((compressed / 1048576)) MiB compressed, ~$target_mb MiB unpacked"

ratios=()
for ((run = 1; run <= runs; run++)); do
  if ((run % 2)); then
    c=$(pull_containerd "$run")
    b=$(pull_berth "$run")
  else
    b=$(pull_berth "$run")
    c=$(pull_containerd "$run")
  fi
  r=$(awk -v b="$b" -v c="$c" 'BEGIN { printf "%.2f", b / c }')
  ratios+=("$r")
  echo "run $run: containerd ${c}s  berth ${b}s  ratio ${r}"
done
printf '%s\n' "${ratios[@]}" | median | awk '{ printf "median ratio berth/containerd: %s (goal <= 0.40)\n", $1 }'
