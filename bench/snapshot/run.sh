#!/usr/bin/env bash
# Layer apply benchmark: Berth's ApplyLayer against GNU `tar -xzf` on the same gzip layer.
#
# The layer is made here from files on this machine, in a fixed order until ~900 MB: headers
# (/usr/include), compilers (/usr/lib/gcc: a few 30+ MB binaries), docs, Go sources, icons,
# locales and man pages: ~67k entries, many small files and some large ones. It is archived with
# GNU tar (pax) and compressed with gzip -6 (what registries mostly serve), about 300 MB, and
# cached in $BERTH_BENCH_CACHE (default /var/tmp/berth-bench) between runs.
#
# Every timed run extracts the blob into an empty directory on a FRESH ext4 filesystem (a loop
# image made with mkfs.ext4 just before): both contenders start from the same on-disk state, and
# neither pays for inodes the other (or the previous round) just deleted, which ext4 scans past
# for 30 s after a deletion. The page cache holds the blob for both (it is read once first).
# Rounds alternate which contender goes first. GNU tar pipes through `gzip -d` (two processes);
# berth-apply-bench is Berth's Apply (ISA-L inflate and sha256 on one thread, libarchive parsing
# and fd-relative writes on the other). Neither syncs at the end.
#
# Reports medians, the Berth/tar ratio (goal <= 0.6) with the per-round ratios, and MB/s of
# uncompressed output. Never fails on timing. Runs in a private mount namespace (re-executes
# itself under `unshare -m`), so no mount outlives it. Needs root.
#
# Usage: bench/snapshot/run.sh BUILD_DIR [ROUNDS]
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR [ROUNDS]}
rounds=${2:-3}
bench=$(cd "$build" && pwd)/bench/snapshot/berth-apply-bench
[[ -x $bench ]] || { echo "missing $bench: ninja -C $build berth-apply-bench" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "run.sh needs root (loop-mounted scratch filesystems)" >&2; exit 2; }
if [[ -z ${BERTH_BENCH_PRIVATE_NS:-} ]]; then
  exec env BERTH_BENCH_PRIVATE_NS=1 unshare -m --propagation private -- "$0" "$@"
fi
cache=${BERTH_BENCH_CACHE:-/var/tmp/berth-bench}
layer=$cache/layer-mix-900m.tar.gz
target_bytes=$((900 * 1000 * 1000))
mkdir -p "$cache"

if [[ ! -s $layer ]]; then
  echo "making the layer (once; cached in $cache)..." >&2
  list=$cache/files.txt
  # Regular files, symlinks and dirs from the candidate trees, in a stable order, until the
  # entries add up to the target size.
  find /usr/include /usr/lib/gcc /usr/share/doc /usr/share/go-* /usr/share/icons \
       /usr/share/locale /usr/share/man -xdev \( -type f -o -type l -o -type d \) \
       -printf '%s %p\n' 2>/dev/null |
    sort -k2 | awk -v max="$target_bytes" 'sum < max { sum += $1; print substr($0, index($0, " ") + 1) }' \
    >"$list"
  tar --format=posix --no-recursion -cf "$cache/layer.tar" -T "$list" 2>/dev/null
  gzip -6 -c "$cache/layer.tar" >"$layer.tmp"
  mv "$layer.tmp" "$layer"
  rm -f "$cache/layer.tar" "$list"
fi
blob_mb=$(( $(stat -c %s "$layer") / 1000000 ))
cat "$layer" >/dev/null  # warm the page cache for both contenders

work=$(mktemp -d /var/tmp/b-bench-apply-XXXXXX)
mnt=$work/mnt
mkdir "$mnt"
cleanup() {
  mountpoint -q "$mnt" && umount "$mnt"
  rm -rf "$work"
}
trap cleanup EXIT

# A fresh ext4 filesystem at $mnt with an empty directory "out"; inode tables initialised now,
# so no background initialisation runs during the timed extraction.
fresh_fs() {
  mountpoint -q "$mnt" && umount "$mnt"
  rm -f "$work/fs.img"
  truncate -s 4G "$work/fs.img"
  mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$work/fs.img"
  mount -o loop "$work/fs.img" "$mnt"
  mkdir "$mnt/out"
  sync
}

now() { date +%s.%N; }
run_tar() {
  fresh_fs
  local t0 t1
  t0=$(now); tar -xzf "$layer" -C "$mnt/out"; t1=$(now)
  tar_times+=("$(echo "$t1 - $t0" | bc -l)")
}
run_berth() {
  fresh_fs
  berth_json=$("$bench" "$layer" "$mnt/out")
  berth_times+=("$(echo "$berth_json" | sed -E 's/.*"seconds": ([0-9.]+).*/\1/')")
}

tar_times=() berth_times=() ratios=() berth_json=""
for ((i = 1; i <= rounds; i++)); do
  if ((i % 2)); then run_tar; run_berth; else run_berth; run_tar; fi
  ratios+=("$(echo "${berth_times[-1]} / ${tar_times[-1]}" | bc -l)")
  printf 'round %d: tar %.3f s, berth %.3f s, ratio %.2f\n' "$i" "${tar_times[-1]}" \
    "${berth_times[-1]}" "${ratios[-1]}" >&2
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
tar_median=$(median "${tar_times[@]}")
berth_median=$(median "${berth_times[@]}")
field() { echo "$berth_json" | sed -E "s/.*\"$1\": ([0-9.]+).*/\\1/"; }
bytes=$(field bytes)
printf 'layer: %s MB gzip, %s MB uncompressed, %s entries\n' "$blob_mb" "$((bytes / 1000000))" \
  "$(field entries)"
printf 'GNU tar -xzf: %.3f s (%.0f MB/s)\n' "$tar_median" "$(echo "$bytes / $tar_median / 1000000" | bc -l)"
printf 'Berth apply:  %.3f s (%.0f MB/s), peak RSS %s KiB, last run CPU %s s user %s s sys\n' \
  "$berth_median" "$(echo "$bytes / $berth_median / 1000000" | bc -l)" "$(field max_rss_kb)" \
  "$(field cpu_user)" "$(field cpu_sys)"
printf 'ratio Berth/tar: %.2f of the medians, %.2f median per round (goal <= 0.60)\n' \
  "$(echo "$berth_median / $tar_median" | bc -l)" "$(median "${ratios[@]}")"
