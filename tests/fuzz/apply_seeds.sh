#!/usr/bin/env bash
# Writes seed layers for apply_fuzz into DIR: small archives made by GNU tar (ustar, gnu and pax
# formats) with directories, files, symlinks, hardlinks, a fifo, whiteouts, pax xattrs, plus
# gzip and zstd variants, and a directory-to-symlink swap. Each seed starts with apply_fuzz's mode byte (see apply_fuzz.cc).
# Usage: tests/fuzz/apply_seeds.sh DIR
set -euo pipefail
out=${1:?usage: apply_seeds.sh DIR}
mkdir -p "$out"
work=$(mktemp -d /tmp/b-seeds-XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/src
mkdir -p "$src/dir/sub" "$src/opaque"
echo hello >"$src/dir/file"
ln "$src/dir/file" "$src/dir/hard"
ln -s ../dir/file "$src/dir/sub/rel"
ln -s /etc/passwd "$src/abs"
mkfifo "$src/fifo"
touch "$src/.wh.gone" "$src/opaque/.wh..wh..opq" "$src/dir/.wh.hard"
setfattr -n user.seed -v 1 "$src/dir/file" 2>/dev/null || true
n=0
seed() {  # seed MODEBYTE FILE
  { printf "\\x$(printf '%02x' "$1")"; cat "$2"; } >"$out/seed-$n"
  n=$((n + 1))
}
for format in ustar gnu posix; do
  tar --format=$format --xattrs -cf "$work/$format.tar" -C "$src" .
  seed 2 "$work/$format.tar"
  seed 3 "$work/$format.tar"
  gzip -c "$work/$format.tar" >"$work/$format.tar.gz"
  seed 4 "$work/$format.tar.gz"
  if command -v zstd >/dev/null; then
    zstd -q -c "$work/$format.tar" >"$work/$format.tar.zst"
    seed 6 "$work/$format.tar.zst"
  fi
done
# A directory swapped for a symlink that points out of the root, then a file written "into" the
# directory (the CVE-2025-47290 shape, ../shared/reference/security.md): the fuzzer mutates
# from a layer that already holds the attack.
mkdir -p "$work/swap1/d" "$work/swap2" "$work/swap3/d"
ln -s ../../../.. "$work/swap2/d"
echo escaped >"$work/swap3/d/x"
tar -cf "$work/swap.tar" -C "$work/swap1" d
tar -rf "$work/swap.tar" -C "$work/swap2" d
tar -rf "$work/swap.tar" -C "$work/swap3" d/x
seed 2 "$work/swap.tar"
gzip -c "$work/swap.tar" >"$work/swap.tar.gz"
seed 4 "$work/swap.tar.gz"
echo "wrote $n seeds to $out"
