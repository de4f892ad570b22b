#!/usr/bin/env bash
# Layer apply benchmark: Berth's ApplyLayer against GNU `tar -xzf` on the same gzip layer.
#
# The layer is made here from files on this machine: /usr/include, /usr/lib/go-*, /usr/lib/gcc,
# /usr/share/doc, /usr/bin... in a fixed order until ~900 MB (many small files, some large),
# archived with GNU tar (pax) and compressed with gzip -6 (what registries mostly serve), about
# 250 MB. It is cached in $BERTH_BENCH_CACHE (default /var/tmp/berth-bench) between runs.
#
# Each round extracts the blob into an empty directory with `tar -xzf` (GNU tar, which pipes
# through gzip -d) and with berth-apply-bench (Berth's Apply: ISA-L inflate on one thread,
# libarchive parsing and fd-relative writes on the other), alternating, with `sync` before each
# timed run so neither pays for the other's writeback. Page cache stays warm for both (the blob
# is read once before the first round). Reports medians, Berth/tar ratio (goal <= 0.6) and MB/s
# of uncompressed output. Never fails on timing.
#
# Usage: bench/snapshot/run.sh BUILD_DIR [ROUNDS]
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR [ROUNDS]}
rounds=${2:-3}
bench=$build/bench/snapshot/berth-apply-bench
[[ -x $bench ]] || { echo "missing $bench: ninja -C $build berth-apply-bench" >&2; exit 2; }
cache=${BERTH_BENCH_CACHE:-/var/tmp/berth-bench}
layer=$cache/layer-900m.tar.gz
target_bytes=$((900 * 1000 * 1000))
mkdir -p "$cache"

if [[ ! -s $layer ]]; then
  echo "making the layer (once; cached in $cache)..." >&2
  list=$cache/files.txt
  # Regular files, symlinks and dirs from the candidate trees, in a stable order, until the
  # regular files add up to the target size.
  find /usr/include /usr/lib/go-* /usr/lib/gcc /usr/share/doc /usr/share/locale /usr/bin \
       /usr/lib/x86_64-linux-gnu -xdev \( -type f -o -type l -o -type d \) -printf '%s %p\n' 2>/dev/null |
    sort -k2 | awk -v max="$target_bytes" 'sum < max { sum += $1; print substr($0, index($0, " ") + 1) }' \
    >"$list"
  tar --format=posix --no-recursion -cf "$cache/layer.tar" -T "$list" 2>/dev/null
  gzip -6 -c "$cache/layer.tar" >"$layer.tmp"
  mv "$layer.tmp" "$layer"
  rm -f "$cache/layer.tar" "$list"
fi
blob_mb=$(( $(stat -c %s "$layer") / 1000000 ))
cat "$layer" >/dev/null  # warm the page cache for both contenders

work=$(mktemp -d /tmp/b-bench-apply-XXXXXX)
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
tar_times=() berth_times=() berth_json=""
for ((i = 1; i <= rounds; i++)); do
  mkdir "$work/tar" "$work/berth"
  sync
  t0=$(now); tar -xzf "$layer" -C "$work/tar"; t1=$(now)
  tar_times+=("$(echo "$t1 - $t0" | bc -l)")
  sync
  berth_json=$("$bench" "$layer" "$work/berth")
  berth_times+=("$(echo "$berth_json" | sed -E 's/.*"seconds": ([0-9.]+).*/\1/')")
  rm -rf "$work/tar" "$work/berth"
  echo "round $i: tar ${tar_times[-1]} s, berth ${berth_times[-1]} s" >&2
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
tar_median=$(median "${tar_times[@]}")
berth_median=$(median "${berth_times[@]}")
bytes=$(echo "$berth_json" | sed -E 's/.*"bytes": ([0-9]+).*/\1/')
entries=$(echo "$berth_json" | sed -E 's/.*"entries": ([0-9]+).*/\1/')
rss=$(echo "$berth_json" | sed -E 's/.*"max_rss_kb": ([0-9]+).*/\1/')
printf 'layer: %s MB gzip, %s MB uncompressed, %s entries\n' "$blob_mb" "$((bytes / 1000000))" "$entries"
printf 'GNU tar -xzf: %.3f s (%.0f MB/s)\n' "$tar_median" "$(echo "$bytes / $tar_median / 1000000" | bc -l)"
printf 'Berth apply:  %.3f s (%.0f MB/s), peak RSS %s KiB\n' "$berth_median" \
  "$(echo "$bytes / $berth_median / 1000000" | bc -l)" "$rss"
printf 'ratio Berth/tar: %.2f (goal <= 0.60)\n' "$(echo "$berth_median / $tar_median" | bc -l)"
