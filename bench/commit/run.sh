#!/usr/bin/env bash
# `berthctl commit` of a container that changed ~200 MB in 10 000 files, against `tar -czf` of
# the same changed files (the container's upper directory) in the same run: wall time and layer
# size, each run, medians and the ratios Berth/tar.
#
# The files are 10 000 chunks of 20 KiB cut from this machine's /usr files (binaries, libraries,
# text: real-world compressibility), copied into the container by the container itself (cp from
# a read-only bind mount), so the commit reads them from the container's snapshot. The commit
# is gzip (default) and is timed whole: Compare (tree walk + tar + gzip into the content
# store), the image's config and manifest, and the unpack of the new layer into a snapshot so
# the image is ready to run. The peer only writes the .tar.gz. A zstd commit is reported too.
# The page cache is warm for both (the files were just written). Never fails on timing.
#
# Usage: bench/commit/run.sh   (as root; BERTH_BUILD_DIR defaults to ./build; RUNS=3)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${BERTH_BUILD_DIR:-$src/build}
RUNS=${RUNS:-3}
FILES=${FILES:-10000}
CHUNK=${CHUNK:-20480}
image=docker.io/berth/busybox:latest
for bin in supervisor/berthd cli/berthctl services/content/berth-content \
  services/snapshot/berth-snapshot services/metadata/berth-metadata services/runtime/berth-runtime; do
  [[ -x $build/$bin ]] || { echo "missing $build/$bin (build it first)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/b-commitbench-XXXXXX)
state=$work/s
cgroup=/$(basename "$work")
berthd_pid=

berthctl() { "$build/cli/berthctl" --state "$state" "$@"; }

cleanup() {
  set +e
  if [[ -n $berthd_pid ]]; then
    for id in $(berthctl --format json container ls 2>/dev/null | grep -o '"id":"[^"]*"' | cut -d'"' -f4); do
      berthctl rm -f "$id" >/dev/null 2>&1
    done
    kill -TERM "$berthd_pid" 2>/dev/null
    wait "$berthd_pid" 2>/dev/null
  fi
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
  for d in /sys/fs/cgroup$cgroup /sys/fs/cgroup/*$cgroup; do
    [[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
json_field() { grep -o "\"$1\":[^,}]*" | head -n1 | cut -d: -f2- | tr -d '"'; }

echo "== setup: berthd, busybox image, $FILES files of $CHUNK bytes from /usr"
mkdir -p "$state" "$work/root" "$work/files"
"$src/tests/fixtures/images.sh" oci-archive "$work/busybox.tar" >/dev/null
# (head stops the pipeline early on purpose: no pipefail there.)
(set +o pipefail; find /usr -xdev -type f -size +0 -readable -print0 2>/dev/null | sort -z |
  xargs -0 cat 2>/dev/null | head -c $((FILES * CHUNK))) |
  (cd "$work/files" && split -b "$CHUNK" -a 5 -d - f)
echo "source: $(find "$work/files" -type f | wc -l) files, $(du -sm "$work/files" | cut -f1) MB"
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

berth_t=() berth_s=() tar_t=() tar_s=() zstd_t=() zstd_s=()
for i in $(seq "$RUNS"); do
  berthctl run --cgroup-parent "$cgroup" \
    --mount "type=bind,src=$work/files,dst=/src,options=rbind:ro" "$image" "c$i" \
    sh -c 'mkdir /data && cp -a /src/. /data/' >/dev/null
  upper=$(berthctl snapshot mounts "$work/m" "c$i" | grep -o 'upperdir=[^,]*' | cut -d= -f2)
  [[ -d $upper/data ]] || { echo "no upper dir for c$i" >&2; exit 1; }
  sync

  t0=$(now)
  out=$(berthctl --format json commit "c$i" "bench/commit:gzip$i")
  t1=$(now)
  tar -czf "$work/peer.tar.gz" -C "$upper" data
  t2=$(now)
  zout=$(berthctl --format json commit --compression zstd "c$i" "bench/commit:zstd$i")
  t3=$(now)

  bs=$(json_field layer_size <<<"$out") zs=$(json_field layer_size <<<"$zout")
  ps=$(stat -c %s "$work/peer.tar.gz")
  berth_t+=("$(elapsed "$t0" "$t1")") tar_t+=("$(elapsed "$t1" "$t2")") zstd_t+=("$(elapsed "$t2" "$t3")")
  berth_s+=("$bs") tar_s+=("$ps") zstd_s+=("$zs")
  printf 'run %d: commit gzip %ss %d B | tar -czf %ss %d B | commit zstd %ss %d B\n' "$i" \
    "${berth_t[-1]}" "$bs" "${tar_t[-1]}" "$ps" "${zstd_t[-1]}" "$zs"
  berthctl rm "c$i" >/dev/null
  rm -f "$work/peer.tar.gz"
done

bt=$(printf '%s\n' "${berth_t[@]}" | median) tt=$(printf '%s\n' "${tar_t[@]}" | median)
zt=$(printf '%s\n' "${zstd_t[@]}" | median)
bs=$(printf '%s\n' "${berth_s[@]}" | median) ts=$(printf '%s\n' "${tar_s[@]}" | median)
zs=$(printf '%s\n' "${zstd_s[@]}" | median)
echo "== medians of $RUNS runs"
echo "berthctl commit (gzip): ${bt}s, layer $bs bytes"
echo "berthctl commit (zstd): ${zt}s, layer $zs bytes"
echo "tar -czf:               ${tt}s, archive $ts bytes"
awk -v bt="$bt" -v tt="$tt" -v zt="$zt" -v bs="$bs" -v ts="$ts" -v zs="$zs" 'BEGIN {
  printf "ratio time  commit-gzip/tar: %.3f  commit-zstd/tar: %.3f\n", bt / tt, zt / tt
  printf "ratio size  commit-gzip/tar: %.3f  commit-zstd/tar: %.3f\n", bs / ts, zs / ts }'
